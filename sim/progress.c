/* progress.c - see progress.h. Output goes to stderr only, so stdout stays clean for results. */
#include "progress.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "es_common.h"

struct prog {
    char label[64];
    char unit[16];
    uint64_t total;
    FILE *out;
    int tty, active;
    double interval, t0, last;
    double (*clock)(void);
    int printed;
    uint64_t done;
};

void prog_format_duration(double s, char *buf, size_t len)
{
    if (s < 0 || s != s) s = 0;
    if (s >= 3600)
        snprintf(buf, len, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    else if (s >= 60)
        snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else
        snprintf(buf, len, "%.1fs", s);
}

prog *prog_start(const char *label, uint64_t total, const char *unit, const prog_options *opts)
{
    prog *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    prog_options o = {CFG_PROGRESS_AUTO, NULL, -1, 10.0, NULL};
    if (opts) o = *opts;
    p->out = o.out ? o.out : stderr;
    p->clock = o.clock ? o.clock : es_host_seconds;
    p->tty = o.is_tty >= 0 ? o.is_tty : isatty(fileno(p->out));
    p->interval = p->tty ? 0.2 : (o.interval > 0 ? o.interval : 10.0);
    p->active = o.mode == CFG_PROGRESS_ALWAYS || (o.mode == CFG_PROGRESS_AUTO && p->tty);
    p->total = total;
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    snprintf(p->unit, sizeof p->unit, "%s", unit ? unit : "it");
    p->t0 = p->last = p->clock();
    return p;
}

static void emit(prog *p, uint64_t done, const char *status, int final)
{
    double now = p->clock(), el = now - p->t0;
    double rate = el > 0 ? (double)done / el : 0.0;
    char line[512], eta[32], elapsed[32];
    int n;
    prog_format_duration(el, elapsed, sizeof elapsed);
    if (p->total) {
        double left = rate > 0 ? (double)(p->total - ES_MIN(done, p->total)) / rate : 0;
        prog_format_duration(left, eta, sizeof eta);
        n = snprintf(line, sizeof line, "%s %llu/%llu %s (%.1f%%) %.4g %s/s %s %s", p->label,
                     (unsigned long long)done, (unsigned long long)p->total, p->unit,
                     100.0 * (double)done / (double)p->total, rate, p->unit,
                     final ? "in" : "ETA", final ? elapsed : eta);
    } else {
        n = snprintf(line, sizeof line, "%s %llu %s %.4g %s/s elapsed %s", p->label,
                     (unsigned long long)done, p->unit, rate, p->unit, elapsed);
    }
    if (status && *status && n > 0 && (size_t)n < sizeof line)
        snprintf(line + n, sizeof line - (size_t)n, " | %s", status);
    if (p->tty)
        fprintf(p->out, "\r\033[K%s%s", line, final ? "\n" : "");
    else
        fprintf(p->out, "%s\n", line);
    fflush(p->out);
    p->printed = 1;
    p->last = now;
}

void prog_update(prog *p, uint64_t done, const char *status)
{
    if (!p || !p->active) return;
    p->done = done;
    if (p->clock() - p->last < p->interval) return;
    emit(p, done, status, 0);
}

void prog_finish(prog *p, const char *status)
{
    if (!p) return;
    if (p->active && (p->tty || p->printed || status)) emit(p, p->total ? p->total : p->done, status, 1);
    free(p);
}
