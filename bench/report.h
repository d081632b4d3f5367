/*
 * report.h - what the bench prints: for each section a table on standard
 * output, row by row as each fleet size is done, or one JSON object at
 * the end (--json); with --verbose, each repetition's figures on
 * standard error. Figures that were not measured (a tool skipped) show
 * as "-" in a table and null in JSON.
 */
#ifndef FANOUT_BENCH_REPORT_H
#define FANOUT_BENCH_REPORT_H

#include "bench.h"

/* The fanout section: fanout next to the floor (enum fig). */

/* Print the header of the table. */
void report_header(const struct bench *b);

/* Print the row of fleet size n from its medians m. */
void report_row(unsigned n, const double *m);

/* Print every size's medians med[] as one JSON object. */
void report_json(const struct bench *b, double med[][NFIG]);

/* Print repetition r's figures v of fleet size n on standard error. */
void report_rep(unsigned n, unsigned r, const double *v);

/* The handlers section (enum hfig), likewise; the header names the tools
   skipped. */
void report_hheader(const struct bench *b);
void report_hrow(unsigned n, const double *m);
void report_hjson(const struct bench *b, double med[][NHFIG]);
void report_hrep(unsigned n, unsigned r, const double *v);

/* Print how the figures at N=100, if measured, compare with the goals of
   issue 12: pdsh/exec >= 4, pdsh/shell >= 40, pipe >= 200,000 replies/s. */
void report_goals(const struct bench *b, double med[][NHFIG]);

/* The detached section (enum dfig), likewise. */
void report_dheader(const struct bench *b);
void report_drow(unsigned n, const double *m);
void report_djson(const struct bench *b, double med[][NDFIG]);
void report_drep(unsigned n, unsigned r, const double *v);

/* Print how the figures at N=100, if measured, compare with the goal of
   issue 13: plain/send >= 10. */
void report_dgoals(const struct bench *b, double med[][NDFIG]);

#endif
