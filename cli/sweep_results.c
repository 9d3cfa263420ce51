/* sweep_results.c - the results of a sweep: every point's metrics from its stats.csv into
 * results.csv and results.json, the Pareto front over the objectives, and sweep.json. */
#include "config.h"

#include "sweep_internal.h"

#include "statcsv.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- results ------------------------------------------------------------------------------------
 */

void sw_pareto(size_t n, size_t m, const double *vals, const int *goal, int *front)
{
    for (size_t p = 0; p < n; p++) {
        front[p] = 1;
        for (size_t q = 0; q < n && front[p]; q++) {
            if (q == p) continue;
            int no_worse = 1, better = 0;
            for (size_t k = 0; k < m && no_worse; k++) {
                /* signed so that larger is better for every objective */
                double a = goal[k] == SW_GOAL_MIN ? -vals[p * m + k] : vals[p * m + k];
                double b = goal[k] == SW_GOAL_MIN ? -vals[q * m + k] : vals[q * m + k];
                if (b < a)
                    no_worse = 0;
                else if (b > a)
                    better = 1;
            }
            if (no_worse && better) front[p] = 0;
        }
    }
}

/* stats.csv rows: name, element, value (RFC 4180 fields). */
static void csv_cell(sbuf *b, const char *s)
{
    if (!s) return;
    int q = !*s ? 0
                : (strpbrk(s, ",\"\n\r") != NULL || isspace((unsigned char)s[0]) ||
                   isspace((unsigned char)s[strlen(s) - 1]));
    if (!q) {
        sb_puts(b, s);
        return;
    }
    sb_puts(b, "\"");
    for (const char *c = s; *c; c++) {
        if (*c == '"') sb_puts(b, "\"");
        sb_putn(b, c, 1);
    }
    sb_puts(b, "\"");
}

/* A JSON number as strtod would write it (no nan/inf, no leading '+', '0x' or '.'). */
static int is_json_number(const char *s)
{
    const char *p = s;
    if (*p == '-') p++;
    if (!isdigit((unsigned char)*p)) return 0;
    if (*p == '0' && isdigit((unsigned char)p[1])) return 0;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) return 0;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!isdigit((unsigned char)*p)) return 0;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return *p == '\0';
}

static void json_value(sbuf *b, const char *s)
{
    if (!s)
        sb_puts(b, "null");
    else if (is_json_number(s))
        sb_puts(b, s);
    else if (!strcmp(s, "nan") || !strcmp(s, "inf") || !strcmp(s, "-inf"))
        sb_puts(b, "null");
    else
        sb_json_str(b, s);
}

typedef struct point_row {
    int state; /* 0 ok, 1 failed, 2 missing */
    int exit_code;
    char *error;
    statcsv stats;
} point_row;

static int write_atomic(const char *path, const char *text, es_err *err)
{
    es_atomic_file af;
    ES_TRY(es_atomic_open(&af, path, err));
    if (fputs(text, af.fp) == EOF) {
        es_atomic_abort(&af);
        return es_fail(err, ES_EIO, "%s: write error", path);
    }
    return es_atomic_commit(&af, err);
}

int sw_write_results(const sw_sweep *sw, const char *dir, size_t *nfailed, es_err *err)
{
    size_t n = sw->npoints, nok = 0, failed = 0;
    point_row *rows = calloc(n ? n : 1, sizeof *rows);
    if (!rows) return es_fail(err, ES_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char name[32], path[PATH_MAX];
        sw_point_name(i, name, sizeof name);
        sw_fmt(path, sizeof path, "%s/points/%s/point.json", dir, name);
        char *json = sw_slurp(path, NULL);
        point_row *r = &rows[i];
        if (!json) {
            r->state = 2;
            r->exit_code = -1;
            r->error = es_strdup("not run");
            failed++;
            continue;
        }
        char *status = sw_json_string(json, "status");
        r->state = status && !strcmp(status, "ok") ? 0 : 1;
        r->exit_code = (int)sw_json_int(json, "exit", -1);
        r->error = sw_json_string(json, "error");
        free(status);
        free(json);
        if (r->state == 0) {
            sw_fmt(path, sizeof path, "%s/points/%s/stats.csv", dir, name);
            es_err ignore = {0}; /* unreadable statistics show as missing metrics */
            (void)statcsv_load(path, &r->stats, &ignore);
            nok++;
        } else {
            failed++;
        }
    }
    /* Metric columns: the explicit list, or each default present in some successful point;
     * plus explicit objectives' metrics. */
    size_t ncand = 0, nmet = 0;
    const char *cand[64 + ES_ARRAY_LEN(default_metrics)];
    if (sw->metrics) {
        for (size_t k = 0; k < sw->nmetrics && ncand < 64; k++)
            cand[ncand++] = sw->metrics[k];
    } else {
        for (size_t k = 0; k < ES_ARRAY_LEN(default_metrics); k++)
            cand[ncand++] = default_metrics[k];
    }
    for (size_t k = 0; k < sw->nobj && ncand < ES_ARRAY_LEN(cand); k++) {
        size_t j;
        for (j = 0; j < ncand; j++)
            if (!strcmp(cand[j], sw->obj_metric[k])) break;
        if (j == ncand) cand[ncand++] = sw->obj_metric[k];
    }
    const char *met[ES_ARRAY_LEN(cand)];
    for (size_t k = 0; k < ncand; k++) {
        int present = sw->metrics != NULL && k < sw->nmetrics;
        for (size_t i = 0; i < n && !present; i++)
            if (rows[i].state == 0 && statcsv_metric(&rows[i].stats, cand[k])) present = 1;
        if (present) met[nmet++] = cand[k];
    }
    /* Objectives: those measured (as finite numbers) on every successful point. */
    size_t nobj = 0;
    size_t obj_col[64];
    int goal[64];
    for (size_t k = 0; k < sw->nobj && nobj < 64; k++) {
        size_t c;
        for (c = 0; c < nmet; c++)
            if (!strcmp(met[c], sw->obj_metric[k])) break;
        if (c == nmet || nok == 0) continue;
        int all = 1;
        for (size_t i = 0; i < n && all; i++) {
            if (rows[i].state) continue;
            const char *v = statcsv_metric(&rows[i].stats, met[c]);
            char *end;
            double x = v ? strtod(v, &end) : NAN;
            if (!v || *end || !isfinite(x)) all = 0;
        }
        if (all) {
            obj_col[nobj] = c;
            goal[nobj++] = sw->obj_goal[k];
        }
    }
    double *vals = calloc(nok * (nobj ? nobj : 1) + 1, sizeof *vals);
    int *front = calloc(nok + 1, sizeof *front);
    int rc = vals && front ? ES_OK : es_fail(err, ES_ENOMEM, "out of memory");
    if (rc == ES_OK) {
        size_t p = 0;
        for (size_t i = 0; i < n; i++) {
            if (rows[i].state) continue;
            for (size_t k = 0; k < nobj; k++)
                vals[p * nobj + k] = strtod(statcsv_metric(&rows[i].stats, met[obj_col[k]]), NULL);
            p++;
        }
        sw_pareto(nok, nobj, vals, goal, front);
    }
    /* results.csv */
    sbuf csv = {0}, js = {0};
    int modes = !strcmp(sw->command, "simulate");
    sb_puts(&csv, modes ? "index,status,exit,mode" : "index,status,exit");
    for (size_t k = 0; k < sw->ncols; k++) {
        sb_puts(&csv, ",");
        csv_cell(&csv, sw->cols[k].key);
    }
    if (!sw->seed_swept) sb_puts(&csv, ",seed");
    for (size_t k = 0; k < nmet; k++) {
        sb_puts(&csv, ",");
        csv_cell(&csv, met[k]);
    }
    sb_puts(&csv, ",pareto,error\n");
    /* results.json */
    sb_printf(
        &js,
        "{\n  \"command\": \"%s\",\n  \"seed\": %llu,\n  \"points\": %zu,\n  \"failed\": %zu,\n",
        sw->command, (unsigned long long)sw->seed, n, failed);
    if (modes)
        sb_printf(&js, "  \"replayed\": %zu,\n  \"trained_again\": %zu,\n", n - sw->ntrain,
                  sw->ntrain);
    sb_puts(&js, "  \"columns\": [");
    for (size_t k = 0; k < sw->ncols; k++) {
        sb_puts(&js, k ? ", " : "");
        sb_json_str(&js, sw->cols[k].key);
    }
    sb_puts(&js, "],\n  \"metrics\": [");
    for (size_t k = 0; k < nmet; k++) {
        sb_puts(&js, k ? ", " : "");
        sb_json_str(&js, met[k]);
    }
    sb_puts(&js, "],\n  \"objectives\": [");
    for (size_t k = 0; k < nobj; k++) {
        sb_puts(&js, k ? ", " : "");
        sb_puts(&js, "{\"metric\": ");
        sb_json_str(&js, met[obj_col[k]]);
        sb_printf(&js, ", \"goal\": \"%s\"}", goal[k] == SW_GOAL_MIN ? "min" : "max");
    }
    sb_puts(&js, "],\n  \"rows\": [");
    size_t p = 0;
    for (size_t i = 0; i < n && rc == ES_OK; i++) {
        point_row *r = &rows[i];
        static const char *const state[] = {"ok", "failed", "missing"};
        int on_front = r->state == 0 && front[p];
        if (r->state == 0) p++;
        char num[32];
        sb_printf(&csv, "%zu,%s,", i, state[r->state]);
        if (r->exit_code >= 0) sb_printf(&csv, "%d", r->exit_code);
        sb_printf(&js, "%s\n    {\"index\": %zu, \"status\": \"%s\", \"exit\": ", i ? "," : "", i,
                  state[r->state]);
        if (r->exit_code >= 0)
            sb_printf(&js, "%d", r->exit_code);
        else
            sb_puts(&js, "null");
        if (modes) {
            /* decided by sw_validate, so a point that never ran has its mode too */
            const char *why = sw_point_mode_reason(sw, i);
            sb_printf(&csv, ",%s", sw_point_mode(sw, i));
            sb_printf(&js, ", \"mode\": \"%s\", \"mode_reason\": ", sw_point_mode(sw, i));
            if (why)
                sb_json_str(&js, why);
            else
                sb_puts(&js, "null");
        }
        sb_puts(&js, ", \"params\": {");
        for (size_t k = 0; k < sw->ncols; k++) {
            sb_puts(&csv, ",");
            csv_cell(&csv, sw_point_value(sw, i, k));
            sb_puts(&js, k ? ", " : "");
            sb_json_str(&js, sw->cols[k].key);
            sb_puts(&js, ": ");
            json_value(&js, sw_point_value(sw, i, k));
        }
        sw_fmt(num, sizeof num, "%llu", (unsigned long long)sw_point_seed(sw, i));
        if (!sw->seed_swept) sb_printf(&csv, ",%s", num);
        sb_printf(&js, "}, \"seed\": %s, \"metrics\": {", num);
        for (size_t k = 0; k < nmet; k++) {
            const char *v = r->state == 0 ? statcsv_metric(&r->stats, met[k]) : NULL;
            sb_puts(&csv, ",");
            csv_cell(&csv, v);
            sb_puts(&js, k ? ", " : "");
            sb_json_str(&js, met[k]);
            sb_puts(&js, ": ");
            json_value(&js, v);
        }
        sb_printf(&csv, ",%s,", r->state ? "" : on_front ? "1" : "0");
        csv_cell(&csv, r->state ? r->error : NULL);
        sb_puts(&csv, "\n");
        sb_printf(&js, "}, \"pareto\": %s, \"error\": ",
                  r->state   ? "null"
                  : on_front ? "true"
                             : "false");
        if (r->state && r->error)
            sb_json_str(&js, r->error);
        else
            sb_puts(&js, "null");
        sb_puts(&js, "}");
    }
    sb_puts(&js, "\n  ]\n}\n");
    char *csv_text = sb_take(&csv), *js_text = sb_take(&js);
    if (rc == ES_OK && (!csv_text || !js_text)) rc = es_fail(err, ES_ENOMEM, "out of memory");
    char path[PATH_MAX];
    if (rc == ES_OK) {
        sw_fmt(path, sizeof path, "%s/results.csv", dir);
        rc = write_atomic(path, csv_text, err);
    }
    if (rc == ES_OK) {
        sw_fmt(path, sizeof path, "%s/results.json", dir);
        rc = write_atomic(path, js_text, err);
    }
    free(csv_text);
    free(js_text);
    free(vals);
    free(front);
    for (size_t i = 0; i < n; i++) {
        free(rows[i].error);
        statcsv_free(&rows[i].stats);
    }
    free(rows);
    if (nfailed) *nfailed = failed;
    return rc;
}

int sw_write_meta(const sw_sweep *sw, const char *dir, const char *mode, const sw_run_summary *s,
                  const char *command_line, es_err *err)
{
    sbuf b = {0};
    double overhead = s->ran && s->workers == 1 && !strcmp(mode, "local")
                          ? (s->host_seconds - s->cmd_seconds) / (double)s->ran
                          : (s->ran ? (s->point_seconds - s->cmd_seconds) / (double)s->ran : 0);
    sb_puts(&b, "{\n  \"version\": \"" PACKAGE_VERSION "\",\n  \"command_line\": ");
    sb_json_str(&b, command_line ? command_line : "");
    sb_puts(&b, ",\n  \"sweep\": ");
    sb_json_str(&b, sw->path);
    sb_printf(&b,
              ",\n  \"mode\": \"%s\",\n  \"workers\": %d,\n  \"points\": %zu,\n  \"ran\": %zu,\n"
              "  \"skipped\": %zu,\n  \"failed\": %zu,\n  \"host_seconds\": %.6f,\n"
              "  \"point_seconds\": %.6f,\n  \"command_seconds\": %.6f,\n"
              "  \"overhead_ms_per_point\": %.3f,\n  \"points_per_second\": %.4f,\n"
              "  \"coordinator_messages\": %llu,\n  \"coordinator_us_per_request\": %.2f\n}\n",
              mode, s->workers, s->total, s->ran, s->skipped, s->failed, s->host_seconds,
              s->point_seconds, s->cmd_seconds, 1000 * overhead,
              s->host_seconds > 0 ? (double)s->ran / s->host_seconds : 0.0,
              (unsigned long long)s->messages,
              s->messages ? 2e6 * s->coord_seconds / (double)s->messages : 0.0);
    char *text = sb_take(&b);
    if (!text) return es_fail(err, ES_ENOMEM, "out of memory");
    char path[PATH_MAX];
    sw_fmt(path, sizeof path, "%s/sweep.json", dir);
    int rc = write_atomic(path, text, err);
    free(text);
    return rc;
}
