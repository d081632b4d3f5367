/*
 * parse.h - strict parsing of numbers from text (config values, command
 * lines, the environment).
 */
#ifndef FANOUT_PARSE_H
#define FANOUT_PARSE_H

/* Parse s as a whole decimal number in lo..hi (no sign, no blanks, no
   trailing characters) into *out. Return 0, or -1 leaving *out alone. */
int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out);

#endif
