/* report_sweep.c - the sweep part of `essim report`: loading a sweep's results.csv and
 * sweep.json and the sections of its page (summary, table, Pareto front, one plot per axis). */
#include "report_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- a sweep directory ------------------------------------------------------------------- */

void rep_sweep_free(rep_sweep *s)
{
    csv_free(&s->res);
    free(s->axes);
    free(s->mets);
    free(s->command);
    memset(s, 0, sizeof *s);
}

/* The strings of a JSON array `"key": [ "a", "b" ]` in text (only what results.json
 * needs: plain strings with \" and \\ escapes). Returns the count, or -1 when absent. */
static int json_strings(const char *text, const char *key, char ***out)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = strstr(text, pat);
    *out = NULL;
    if (!p) return -1;
    p += strlen(pat);
    while (isspace((unsigned char)*p))
        p++;
    if (*p++ != ':') return -1;
    while (isspace((unsigned char)*p))
        p++;
    if (*p++ != '[') return -1;
    char **v = NULL;
    int n = 0;
    for (;;) {
        while (isspace((unsigned char)*p) || *p == ',')
            p++;
        if (*p == ']') break;
        if (*p != '"') goto bad;
        p++;
        sbuf b = {0};
        while (*p && *p != '"') {
            if (*p == '\\' && p[1]) p++;
            sb_putn(&b, p++, 1);
        }
        if (*p != '"' || b.oom) {
            free(b.s);
            goto bad;
        }
        p++;
        char **t = realloc(v, (size_t)(n + 1) * sizeof *v);
        if (!t) {
            free(b.s);
            goto bad;
        }
        v = t;
        v[n++] = b.s ? b.s : es_strdup("");
    }
    *out = v;
    return n;
bad:
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return -1;
}

/* Default classification of a results.csv column when there is no results.json. */
static int looks_like_metric(const char *name)
{
    return !strncmp(name, "hw.", 3) || !strncmp(name, "writes.", 7) ||
           !strncmp(name, "lifetime.", 9) || !strncmp(name, "train.test_", 11) ||
           !strncmp(name, "train.train_", 12) || strstr(name, "::") != NULL;
}

int rep_sweep_load(const char *dir, rep_sweep *s, es_err *err)
{
    memset(s, 0, sizeof *s);
    char *p = rep_path(dir, "results.csv");
    if (!p) return es_fail(err, ES_ENOMEM, "out of memory");
    int rc = csv_load(p, 0, &s->res, err);
    if (rc == ES_OK && s->res.n == 0)
        rc = es_fail(err, ES_EFORMAT, "%s: empty file, not the results of essim sweep", p);
    if (rc == ES_OK) {
        s->c_index = csv_col(&s->res, "index");
        s->c_status = csv_col(&s->res, "status");
        s->c_pareto = csv_col(&s->res, "pareto");
        s->c_error = csv_col(&s->res, "error");
        if (s->c_index < 0 || s->c_status < 0)
            rc = es_fail(err, ES_EFORMAT,
                         "%s:%d: no 'index' and 'status' columns: not the results of essim "
                         "sweep",
                         p, s->res.rows[0].line);
    }
    for (size_t r = 1; rc == ES_OK && r < s->res.n; r++)
        if (s->res.rows[r].n != s->res.rows[0].n)
            rc = es_fail(err, ES_EFORMAT, "%s:%d: %zu fields, the header has %zu", p,
                         s->res.rows[r].line, s->res.rows[r].n, s->res.rows[0].n);
    free(p);
    if (rc < 0) {
        rep_sweep_free(s);
        return rc;
    }
    const size_t nc = s->res.rows[0].n;
    s->axes = calloc(nc, sizeof *s->axes);
    s->mets = calloc(nc, sizeof *s->mets);
    if (!s->axes || !s->mets) {
        rep_sweep_free(s);
        return es_fail(err, ES_ENOMEM, "out of memory");
    }
    /* results.json names the swept columns and the metrics; without it, guess by name. */
    char **cols = NULL, **mets = NULL;
    int ncols = -1, nmets = -1;
    char *text = NULL;
    size_t len;
    es_err ignore;
    p = rep_path(dir, "results.json");
    if (p && es_read_file(p, &text, &len, &ignore) == ES_OK) {
        ncols = json_strings(text, "columns", &cols);
        nmets = json_strings(text, "metrics", &mets);
        const char *q = strstr(text, "\"command\"");
        if (q && (q = strchr(q + 9, '"'))) {
            const char *e = strchr(q + 1, '"');
            if (e) {
                s->command = malloc((size_t)(e - q));
                if (s->command) snprintf(s->command, (size_t)(e - q), "%s", q + 1);
            }
        }
        free(text);
    }
    free(p);
    for (size_t k = 0; k < nc; k++) {
        const char *name = s->res.rows[0].f[k];
        int is_axis = 0, is_met = 0;
        if (ncols >= 0 && nmets >= 0) {
            for (int i = 0; i < ncols; i++)
                if (!strcmp(cols[i], name)) is_axis = 1;
            for (int i = 0; i < nmets; i++)
                if (!strcmp(mets[i], name)) is_met = 1;
        } else {
            static const char *const fixed[] = {"index", "status", "exit",
                                                "seed",  "pareto", "error"};
            int fx = 0;
            for (size_t i = 0; i < ES_ARRAY_LEN(fixed); i++)
                if (!strcmp(fixed[i], name)) fx = 1;
            if (!fx) {
                is_met = looks_like_metric(name);
                is_axis = !is_met;
            }
        }
        if (is_axis) s->axes[s->naxes++] = (int)k;
        if (is_met && !is_axis) s->mets[s->nmet++] = (int)k;
    }
    for (int i = 0; i < ncols; i++)
        free(cols[i]);
    for (int i = 0; i < nmets; i++)
        free(mets[i]);
    free(cols);
    free(mets);
    return ES_OK;
}

static int row_ok(const rep_sweep *s, size_t r)
{
    return !strcmp(csv_get(&s->res, r, s->c_status), "ok");
}

static int row_pareto(const rep_sweep *s, size_t r)
{
    return s->c_pareto >= 0 && !strcmp(csv_get(&s->res, r, s->c_pareto), "1");
}

static int col_named(const rep_sweep *s, const char *name)
{
    for (size_t i = 0; i < s->nmet; i++)
        if (!strcmp(s->res.rows[0].f[s->mets[i]], name)) return s->mets[i];
    return -1;
}

/* Whether column c has a finite number on every successful row (and at least one row). */
static int col_numeric(const rep_sweep *s, int c, int *allpos, double *lo, double *hi)
{
    int n = 0;
    *allpos = 1;
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t r = 1; r < s->res.n; r++) {
        if (!row_ok(s, r)) continue;
        double v;
        if (!csv_parse_num(csv_get(&s->res, r, c), &v) || !isfinite(v)) return 0;
        if (!(v > 0)) *allpos = 0;
        *lo = fmin(*lo, v);
        *hi = fmax(*hi, v);
        n++;
    }
    return n > 0;
}

static const char *metric_label(const char *name)
{
    static const struct {
        const char *name, *label;
    } lab[] = {{"hw.time_s", "simulated time (s)"},
               {"hw.energy_j", "energy (J)"},
               {"hw.area_mm2", "area (mm2)"},
               {"hw.power_w_avg", "average power (W)"},
               {"train.test_accuracy_final", "test accuracy"},
               {"writes.mean", "mean writes per weight"},
               {"writes.max", "max writes per weight"},
               {"lifetime.runs_to_first_failure", "runs to first cell failure"}};
    for (size_t i = 0; i < ES_ARRAY_LEN(lab); i++)
        if (!strcmp(lab[i].name, name)) return lab[i].label;
    return name;
}

void rep_sweep_summary(rep_ctx *c, const rep_sweep *s)
{
    sbuf *h = &c->html;
    size_t ok = 0, failed = 0, front = 0;
    for (size_t r = 1; r < s->res.n; r++) {
        if (row_ok(s, r))
            ok++;
        else
            failed++;
        front += (size_t)row_pareto(s, r);
    }
    rep_section_open(c, "summary", "Summary");
    sb_puts(h, "<table class=\"summary\">\n");
    if (s->command) {
        sb_puts(h, "<tr><td>command of each point</td><td>essim ");
        rep_html(h, s->command);
        sb_puts(h, "</td></tr>\n");
    }
    sb_printf(h,
              "<tr><td>design points</td><td>%zu</td></tr>\n"
              "<tr><td>finished</td><td>%zu</td></tr>\n"
              "<tr><td>failed or missing</td><td>%zu</td></tr>\n"
              "<tr><td>on the Pareto front</td><td>%zu</td></tr>\n",
              s->res.n - 1, ok, failed, front);
    for (size_t a = 0; a < s->naxes; a++) {
        int col = s->axes[a];
        sb_puts(h, "<tr><td>axis <code>");
        rep_html(h, s->res.rows[0].f[col]);
        sb_puts(h, "</code></td><td>");
        /* distinct values in order of first appearance */
        size_t shown = 0;
        for (size_t r = 1; r < s->res.n; r++) {
            const char *v = csv_get(&s->res, r, col);
            int seen = 0;
            for (size_t q = 1; q < r && !seen; q++)
                if (!strcmp(csv_get(&s->res, q, col), v)) seen = 1;
            if (seen) continue;
            if (shown++) sb_puts(h, ", ");
            if (shown > 24) {
                sb_puts(h, "&hellip;");
                break;
            }
            rep_html(h, v);
        }
        sb_puts(h, "</td></tr>\n");
    }
    sb_puts(h, "</table>\n");
    rep_section_close(c);
}

void rep_sweep_table(rep_ctx *c, const rep_sweep *s)
{
    sbuf *h = &c->html;
    rep_section_open(c, "results", "Results");
    rep_note(h, "One row per design point. Highlighted rows (\xe2\x98\x85) are on the Pareto front "
                "over the sweep's objectives; failed points show their error.");
    sb_puts(h, "<div class=\"scroll\"><table class=\"results\">\n<tr>");
    const csv_row *hd = &s->res.rows[0];
    for (size_t k = 0; k < hd->n; k++) {
        sb_puts(h, (int)k == s->c_error ? "<th class=\"l\">" : "<th>");
        rep_html(h, hd->f[k]);
        sb_puts(h, "</th>");
    }
    sb_puts(h, "</tr>\n");
    for (size_t r = 1; r < s->res.n; r++) {
        int pf = row_pareto(s, r), ok = row_ok(s, r);
        sb_printf(h, "<tr class=\"%s\">", pf ? "pareto" : ok ? "" : "failed");
        for (size_t k = 0; k < s->res.rows[r].n; k++) {
            const char *v = s->res.rows[r].f[k];
            double x;
            if ((int)k == s->c_pareto) {
                sb_puts(h, pf ? "<td>\xe2\x98\x85</td>" : "<td></td>");
            } else if ((int)k == s->c_error) {
                sb_puts(h, "<td class=\"l\">");
                rep_html(h, v);
                sb_puts(h, "</td>");
            } else if (csv_parse_num(v, &x) && (int)k != s->c_index && strlen(v) > 8) {
                rep_td_num(h, x, NULL);
            } else {
                sb_puts(h, "<td>");
                rep_html(h, v);
                sb_puts(h, "</td>");
            }
        }
        sb_puts(h, "</tr>\n");
    }
    sb_puts(h, "</table></div>\n");
    rep_section_close(c);
}

void rep_sweep_pareto(rep_ctx *c, const rep_sweep *s)
{
    sbuf *h = &c->html;
    rep_section_open(c, "pareto", "Pareto front");
    /* x, y and colour: energy against time when present, else the first numeric metrics of
     * a preferred list. */
    static const char *const pref[] = {"hw.time_s",
                                       "hw.energy_j",
                                       "lifetime.runs_to_first_failure",
                                       "train.test_accuracy_final",
                                       "writes.mean",
                                       "writes.max",
                                       "hw.area_mm2"};
    static const char *const cpref[] = {"train.test_accuracy_final",
                                        "lifetime.runs_to_first_failure", "writes.mean"};
    int cx = -1, cy = -1, cc = -1, lx = 0, ly = 0, ap;
    double lo, hi;
    for (size_t i = 0; i < ES_ARRAY_LEN(pref) + s->nmet && cy < 0; i++) {
        int col = i < ES_ARRAY_LEN(pref) ? col_named(s, pref[i]) : s->mets[i - ES_ARRAY_LEN(pref)];
        if (col < 0 || col == cx || !col_numeric(s, col, &ap, &lo, &hi)) continue;
        int lg = ap && hi / lo > 50;
        if (cx < 0) {
            cx = col;
            lx = lg;
        } else {
            cy = col;
            ly = lg;
        }
    }
    for (size_t i = 0; i < ES_ARRAY_LEN(cpref) && cc < 0; i++) {
        int col = col_named(s, cpref[i]);
        if (col >= 0 && col != cx && col != cy && col_numeric(s, col, &ap, &lo, &hi)) cc = col;
    }
    if (cx < 0 || cy < 0) {
        rep_note(h, "Fewer than two numeric metrics on the finished points: nothing to plot.");
        rep_section_close(c);
        return;
    }
    char path[4200];
    FILE *f = gplot_data(&c->gp, path, sizeof path);
    if (!f) {
        h->oom = 1;
        return;
    }
    /* Points drawn (nearly) on top of each other share one label listing their indices:
     * each point joins the label of the first point within 1% of the plot from it. */
    const size_t nrow = s->res.n;
    double *px = calloc(nrow, sizeof *px), *py = calloc(nrow, sizeof *py);
    size_t *owner = calloc(nrow, sizeof *owner);
    if (!px || !py || !owner) {
        free(px);
        free(py);
        free(owner);
        fclose(f);
        h->oom = 1;
        return;
    }
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (size_t r = 1; r < nrow; r++) {
        if (!row_ok(s, r)) continue;
        px[r] = csv_num(&s->res, r, cx);
        py[r] = csv_num(&s->res, r, cy);
        if (lx) px[r] = log10(px[r]);
        if (ly) py[r] = log10(py[r]);
        x0 = fmin(x0, px[r]), x1 = fmax(x1, px[r]), y0 = fmin(y0, py[r]), y1 = fmax(y1, py[r]);
    }
    for (size_t r = 1; r < nrow; r++) {
        owner[r] = r;
        for (size_t q = 1; q < r && row_ok(s, r); q++)
            if (row_ok(s, q) && owner[q] == q && fabs(px[q] - px[r]) <= 0.01 * (x1 - x0) &&
                fabs(py[q] - py[r]) <= 0.01 * (y1 - y0)) {
                owner[r] = q;
                break;
            }
    }
    for (size_t r = 1; r < nrow; r++) {
        if (!row_ok(s, r)) continue;
        sbuf lab = {0};
        for (size_t q = r; q < nrow && owner[r] == r; q++) {
            if (!row_ok(s, q) || owner[q] != r) continue;
            if (lab.n) sb_puts(&lab, ",");
            sb_puts(&lab, csv_get(&s->res, q, s->c_index));
        }
        fprintf(f, "%s %s %s %d \"%s\"\n", csv_get(&s->res, r, cx), csv_get(&s->res, r, cy),
                cc >= 0 ? csv_get(&s->res, r, cc) : "0", row_pareto(s, r), lab.s ? lab.s : "");
        free(lab.s);
    }
    free(px);
    free(py);
    free(owner);
    fclose(f);
    const char *nx = s->res.rows[0].f[cx], *ny = s->res.rows[0].f[cy];
    const char *nc = cc >= 0 ? s->res.rows[0].f[cc] : NULL;
    char cap[600];
    snprintf(cap, sizeof cap,
             "Each finished design point (labelled with its index)%s%s%s. Ringed points are on "
             "the Pareto front over all of the sweep's objectives, which may include more than "
             "the two axes drawn here.",
             nc ? ", coloured by " : "", nc ? metric_label(nc) : "", "");
    gplot_plot(&c->gp, h, 900, 560, "Pareto scatter", cap);
    sbuf *sc = &c->gp.script;
    sb_puts(sc, gplot_palette);
    sb_puts(sc, "set title ");
    char title[300];
    snprintf(title, sizeof title, "%s against %s", metric_label(ny), metric_label(nx));
    rep_gpstr(sc, title);
    sb_puts(sc, "\nset xlabel ");
    rep_gpstr(sc, metric_label(nx));
    sb_puts(sc, "\nset ylabel ");
    rep_gpstr(sc, metric_label(ny));
    sb_puts(sc, "\nset key tmargin center horizontal\nset offsets graph 0.05, graph 0.05, graph "
                "0.05, graph 0.05\n");
    if (lx) sb_puts(sc, "set logscale x\n");
    if (ly) sb_puts(sc, "set logscale y\n");
    if (nc) {
        sb_puts(sc, "set cblabel ");
        rep_gpstr(sc, metric_label(nc));
        sb_puts(sc, "\n");
    }
    sb_puts(sc, "plot ");
    rep_gpstr(sc, path);
    if (nc)
        sb_puts(sc, " using 1:2:3 with points pt 7 ps 2 lc palette title 'design point'");
    else
        sb_puts(sc, " using 1:2 with points pt 7 ps 2 lc rgb '#3b6ea5' title 'design point'");
    sb_puts(sc, ", '' using 1:($4 > 0 ? $2 : 1/0) with points pt 6 ps 3.2 lw 2 lc rgb '#d62728' "
                "title 'Pareto front', '' using 1:2:(stringcolumn(5)) with labels offset 1.4,0.9 "
                "font ',8' tc rgb '#444444'\n");
    rep_section_close(c);
}

/* Whether axis column b is the same dimension as a (zipped): a one-to-one map of values. */
static int same_dimension(const rep_sweep *s, int a, int b)
{
    for (size_t r = 1; r < s->res.n; r++)
        for (size_t q = 1; q < r; q++) {
            int ea = !strcmp(csv_get(&s->res, r, a), csv_get(&s->res, q, a));
            int eb = !strcmp(csv_get(&s->res, r, b), csv_get(&s->res, q, b));
            if (ea != eb) return 0;
        }
    return 1;
}

void rep_sweep_axes(rep_ctx *c, const rep_sweep *s)
{
    sbuf *h = &c->html;
    rep_section_open(c, "axes", "Each metric against each swept axis");
    if (!s->naxes || !s->nmet) {
        rep_note(h, "No swept axes or no metrics in the results.");
        rep_section_close(c);
        return;
    }
    rep_note(h, "Every finished point, with the other axes at all their values; red rings mark "
                "points on the Pareto front. Zipped axes (changed together) share one plot.");
    for (size_t a = 0; a < s->naxes; a++) {
        int ca = s->axes[a], dup = 0;
        for (size_t b = 0; b < a && !dup; b++)
            if (same_dimension(s, s->axes[b], ca)) dup = 1;
        if (dup) continue;
        char axname[600];
        snprintf(axname, sizeof axname, "%s", s->res.rows[0].f[ca]);
        for (size_t b = a + 1; b < s->naxes; b++)
            if (same_dimension(s, ca, s->axes[b]))
                snprintf(axname + strlen(axname), sizeof axname - strlen(axname), " = %s",
                         s->res.rows[0].f[s->axes[b]]);
        /* numeric axis, or categories in order of first appearance */
        int ap = 0, numeric;
        double lo, hi;
        numeric = col_numeric(s, ca, &ap, &lo, &hi);
        int lg = numeric && ap && hi / lo >= 100;
        const char *cats[256];
        size_t ncat = 0;
        if (!numeric)
            for (size_t r = 1; r < s->res.n && ncat < 256; r++) {
                const char *v = csv_get(&s->res, r, ca);
                size_t q = 0;
                while (q < ncat && strcmp(cats[q], v))
                    q++;
                if (q == ncat) cats[ncat++] = v;
            }
        sb_puts(h, "<h3><code>");
        rep_html(h, axname);
        sb_puts(h, "</code></h3>\n<div class=\"figs\">\n");
        for (size_t m = 0; m < s->nmet; m++) {
            int cm = s->mets[m];
            char path[4200];
            FILE *f = gplot_data(&c->gp, path, sizeof path);
            if (!f) {
                h->oom = 1;
                return;
            }
            int n = 0;
            for (size_t r = 1; r < s->res.n; r++) {
                double y, x;
                if (!row_ok(s, r) || !csv_parse_num(csv_get(&s->res, r, cm), &y) || !isfinite(y))
                    continue;
                if (numeric) {
                    if (!csv_parse_num(csv_get(&s->res, r, ca), &x)) continue;
                } else {
                    size_t q = 0;
                    while (q < ncat && strcmp(cats[q], csv_get(&s->res, r, ca)))
                        q++;
                    if (q == ncat) continue;
                    x = (double)q;
                }
                fprintf(f, "%.17g %.17g %d\n", x, y, row_pareto(s, r));
                n++;
            }
            fclose(f);
            const char *mname = s->res.rows[0].f[cm];
            if (!n) continue;
            char alt[700];
            snprintf(alt, sizeof alt, "%s against %s", mname, axname);
            gplot_plot(&c->gp, h, 400, 290, alt, NULL);
            sbuf *sc = &c->gp.script;
            sb_puts(sc, "set title ");
            rep_gpstr(sc, metric_label(mname));
            sb_puts(sc, " font ',10'\nset xlabel ");
            rep_gpstr(sc, s->res.rows[0].f[ca]);
            sb_puts(sc, "\nset offsets graph 0.08, graph 0.08, graph 0.1, graph 0.1\n");
            if (lg) sb_puts(sc, "set logscale x\n");
            if (!numeric) {
                sb_printf(sc, "set xrange [-0.5:%zu-0.5]\nset xtics (", ncat);
                for (size_t q = 0; q < ncat; q++) {
                    if (q) sb_puts(sc, ", ");
                    rep_gpstr(sc, cats[q]);
                    sb_printf(sc, " %zu", q);
                }
                sb_puts(sc, ")\nset offsets 0, 0, graph 0.1, graph 0.1\n");
            }
            sb_puts(sc, "plot ");
            rep_gpstr(sc, path);
            sb_puts(sc, " using 1:2 with points pt 7 ps 1.3 lc rgb '#3b6ea5', '' using 1:($3 > 0 "
                        "? $2 : 1/0) with points pt 6 ps 2.2 lw 2 lc rgb '#d62728'\n");
        }
        sb_puts(h, "</div>\n");
    }
    rep_section_close(c);
}
