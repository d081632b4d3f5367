/*
 * token.h - the per-run secret that proves a connection comes from the
 * orchestrator that started a node. It travels as 64 hex digits in the
 * node's environment (ENV_TOKEN), never on a command line.
 */
#ifndef FANOUT_TOKEN_H
#define FANOUT_TOKEN_H

#include <stdbool.h>
#include <stdint.h>

#include "proto.h"

#define TOKEN_HEX_LEN (2 * PROTO_TOKEN_LEN)

/* Fill t with random bytes from getrandom(2). Return 0 or -1 (errno). */
int token_generate(uint8_t t[PROTO_TOKEN_LEN]);

/* Write t as TOKEN_HEX_LEN lowercase hex digits and a NUL into hex. */
void token_to_hex(const uint8_t t[PROTO_TOKEN_LEN],
                  char hex[TOKEN_HEX_LEN + 1]);

/* Parse exactly TOKEN_HEX_LEN hex digits. Return 0, or -1 if s is
   anything else. */
int token_from_hex(const char *s, uint8_t t[PROTO_TOKEN_LEN]);

/* Compare in constant time, so timing tells a guesser nothing. */
bool token_equal(const uint8_t a[PROTO_TOKEN_LEN],
                 const uint8_t b[PROTO_TOKEN_LEN]);

#endif
