/* progress.h - progress reports for long runs, on stderr.
 * On a terminal: one line rewritten in place (about 5 times a second) with done/total, rate
 * and ETA. Not on a terminal: nothing, unless forced (CFG_PROGRESS_ALWAYS), then a plain line
 * every `interval` seconds (default 10). Quiet mode (CFG_PROGRESS_NEVER) prints nothing. */
#ifndef ES_PROGRESS_H
#define ES_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef struct prog prog;

typedef struct prog_options {
    int mode;              /* CFG_PROGRESS_AUTO / ALWAYS / NEVER (cfg.h) */
    FILE *out;             /* default stderr (borrowed) */
    int is_tty;            /* -1: ask isatty(out); 0/1: force (tests) */
    double interval;       /* seconds between plain lines; default 10 */
    double (*clock)(void); /* default es_host_seconds (tests inject a fake clock) */
} prog_options;

/* Start reporting `label` with `total` units of work (0 if unknown) counted in `unit`
 * ("it", "img", "events"). opts may be NULL. Never fails: returns NULL when out of memory,
 * and every function accepts NULL. */
prog *prog_start(const char *label, uint64_t total, const char *unit, const prog_options *opts);
/* Report progress; `status` (may be NULL) is appended, e.g. "loss 0.41 acc 87.2%". Cheap
 * when called often: it prints only when the interval has passed. */
void prog_update(prog *p, uint64_t done, const char *status);
/* Final line (on a terminal, ends the rewritten line) and free. */
void prog_finish(prog *p, const char *status);

/* Format seconds as "1h02m", "3m07s" or "12.3s" into buf. */
void prog_format_duration(double s, char *buf, size_t len);

#endif
