/* report_run.c - the run part of `essim report`: loading what `essim run/simulate/train`
 * wrote (stats.csv, epochs.csv, iterations.csv, heat maps, repeat.csv) and the sections of its
 * page (summary, energy, time, writes, heat maps, lifetime, training, configuration). */
#include "report_internal.h"

#include "lifetime.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- a run directory ------------------------------------------------------------------- */

void rep_run_free(rep_run *r)
{
    free(r->dir);
    statcsv_free(&r->st);
    if (r->has_ep) csv_free(&r->ep);
    if (r->has_it) csv_free(&r->it);
    for (size_t i = 0; i < r->nh; i++) {
        free(r->h[i].name);
        free(r->h[i].v);
    }
    free(r->h);
    memset(r, 0, sizeof *r);
}

static int hmap_load(const char *path, rep_hmap *m, es_err *err)
{
    csv_doc d;
    ES_TRY(csv_load(path, 1, &d, err));
    int rc = ES_OK;
    m->rows = d.n;
    m->cols = d.n ? d.rows[0].n : 0;
    const size_t ne = m->rows * m->cols;
    m->v = malloc((ne ? ne : 1) * sizeof *m->v);
    if (!m->v) rc = es_fail(err, ES_ENOMEM, "out of memory");
    for (size_t r = 0; rc == ES_OK && r < d.n; r++) {
        if (d.rows[r].n != m->cols) {
            rc = es_fail(err, ES_EFORMAT, "%s:%d: %zu columns, the first row has %zu", path,
                         d.rows[r].line, d.rows[r].n, m->cols);
            break;
        }
        for (size_t c = 0; c < m->cols; c++) {
            double v;
            if (!csv_parse_num(d.rows[r].f[c], &v) || !(v >= 0) || !isfinite(v)) {
                rc = es_fail(err, ES_EFORMAT, "%s:%d: '%.40s' is not a write count", path,
                             d.rows[r].line, d.rows[r].f[c]);
                break;
            }
            m->v[r * m->cols + c] = v;
        }
    }
    csv_free(&d);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Network order of layer names: the elements of a per-layer vector; position or a large
 * number for a name not there. */
static size_t layer_pos(const statcsv *s, const char *layer)
{
    static const char *const vecs[] = {"lifetime.by_layer.cells", "writes.layer.mean"};
    for (size_t v = 0; v < ES_ARRAY_LEN(vecs); v++) {
        size_t first = 0, n = statcsv_elems(s, vecs[v], &first);
        for (size_t i = 0; i < n; i++)
            if (!strcmp(s->r[first + i].elem, layer)) return i;
    }
    return (size_t)-1;
}


/* The columns of a run's CSV file that the report plots must be there and hold numbers in
 * every row: a damaged file is named with its line here, not found by gnuplot later in a
 * temporary file. */
static int check_numeric(const csv_doc *d, const char *path, const char *const *cols, es_err *err)
{
    for (size_t r = 1; r < d->n; r++)
        if (d->rows[r].n != d->rows[0].n)
            return es_fail(err, ES_EFORMAT, "%s:%d: %zu fields, the header has %zu", path,
                           d->rows[r].line, d->rows[r].n, d->rows[0].n);
    for (size_t k = 0; cols[k]; k++) {
        int c = csv_col(d, cols[k]);
        if (c < 0) return es_fail(err, ES_EFORMAT, "%s: no '%s' column in the header", path, cols[k]);
        for (size_t r = 1; r < d->n; r++) {
            double v;
            if (!csv_parse_num(csv_get(d, r, c), &v))
                return es_fail(err, ES_EFORMAT, "%s:%d: column '%s' holds '%.60s', not a number",
                               path, d->rows[r].line, cols[k], csv_get(d, r, c));
        }
    }
    return ES_OK;
}

int rep_run_load(const char *dir, int k, rep_run *r, es_err *err)
{
    memset(r, 0, sizeof *r);
    r->k = k;
    r->dir = es_strdup(dir);
    if (!r->dir) return es_fail(err, ES_ENOMEM, "out of memory");
    char *p = rep_path(dir, "stats.csv");
    if (!p) return es_fail(err, ES_ENOMEM, "out of memory");
    int rc = statcsv_load(p, &r->st, err);
    free(p);
    if (rc < 0) return rc;
    if (rep_file_exists(dir, "epochs.csv")) {
        p = rep_path(dir, "epochs.csv");
        rc = p ? csv_load(p, 0, &r->ep, err) : es_fail(err, ES_ENOMEM, "out of memory");
        if (rc == ES_OK && (r->ep.n == 0 || csv_col(&r->ep, "epoch") < 0))
            rc = es_fail(err, ES_EFORMAT, "%s: no 'epoch' column in the header", p);
        static const char *const ep_cols[] = {"epoch", "train_loss", "train_accuracy",
                                              "test_loss", "test_accuracy", NULL};
        if (rc == ES_OK) rc = check_numeric(&r->ep, p, ep_cols, err);
        free(p);
        if (rc < 0) {
            csv_free(&r->ep);
            return rc;
        }
        r->has_ep = 1;
    }
    if (rep_file_exists(dir, "iterations.csv")) {
        p = rep_path(dir, "iterations.csv");
        rc = p ? csv_load(p, 0, &r->it, err) : es_fail(err, ES_ENOMEM, "out of memory");
        if (rc == ES_OK && (r->it.n == 0 || csv_col(&r->it, "iteration") < 0 ||
                            csv_col(&r->it, "written_fraction") < 0))
            rc = es_fail(err, ES_EFORMAT, "%s: no 'iteration' and 'written_fraction' columns", p);
        static const char *const it_cols[] = {"iteration", "written_fraction", NULL};
        if (rc == ES_OK) rc = check_numeric(&r->it, p, it_cols, err);
        free(p);
        if (rc < 0) {
            csv_free(&r->it);
            return rc;
        }
        r->has_it = 1;
    }
    /* heatmap-LAYER.csv files, in network order. */
    DIR *d = opendir(dir);
    if (!d) return es_fail(err, ES_EIO, "cannot read %s: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= 12 || strncmp(e->d_name, "heatmap-", 8) || strcmp(e->d_name + len - 4, ".csv"))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **t = realloc(names, cap * sizeof *t);
            if (!t) break;
            names = t;
        }
        names[n] = es_strdup(e->d_name);
        if (names[n]) n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    /* stable insertion sort by network position */
    for (size_t i = 1; i < n; i++) {
        char *x = names[i];
        char lx[256];
        snprintf(lx, sizeof lx, "%.*s", (int)(strlen(x) - 12), x + 8);
        size_t px = layer_pos(&r->st, lx), j = i;
        while (j > 0) {
            char ly[256];
            snprintf(ly, sizeof ly, "%.*s", (int)(strlen(names[j - 1]) - 12), names[j - 1] + 8);
            if (layer_pos(&r->st, ly) <= px) break;
            names[j] = names[j - 1];
            j--;
        }
        names[j] = x;
    }
    r->h = calloc(n ? n : 1, sizeof *r->h);
    if (!r->h) rc = es_fail(err, ES_ENOMEM, "out of memory");
    for (size_t i = 0; rc == ES_OK && i < n; i++) {
        rep_hmap *m = &r->h[r->nh++];
        size_t len = strlen(names[i]);
        m->name = malloc(len);
        p = rep_path(dir, names[i]);
        if (!m->name || !p) {
            free(p);
            rc = es_fail(err, ES_ENOMEM, "out of memory");
            break;
        }
        snprintf(m->name, len, "%.*s", (int)(len - 12), names[i] + 8);
        rc = hmap_load(p, m, err);
        free(p);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* Wear-rate bins of one layer (l < nh) or of all layers (l == nh): each heat-map entry is a
 * row segment whose cells all take its count; the layer's cells (lifetime.by_layer.cells)
 * are shared evenly among its entries. Counts are cumulative over the runs recorded, so
 * they are divided by lifetime.runs_recorded. */
static life_bin *wear_bins(const rep_run *r, size_t l, size_t *nbins)
{
    double runs = statcsv_num(&r->st, "lifetime.runs_recorded");
    if (!(runs > 0)) runs = 1;
    size_t n = 0;
    for (size_t i = 0; i < r->nh; i++)
        if (l == r->nh || l == i) n += r->h[i].rows * r->h[i].cols;
    life_bin *b = malloc((n ? n : 1) * sizeof *b);
    if (!b) return NULL;
    n = 0;
    for (size_t i = 0; i < r->nh; i++) {
        if (l != r->nh && l != i) continue;
        const rep_hmap *m = &r->h[i];
        size_t ne = m->rows * m->cols;
        double cells = statcsv_el(&r->st, "lifetime.by_layer.cells", m->name);
        double per = cells > 0 && ne ? cells / (double)ne : 1;
        for (size_t j = 0; j < ne; j++)
            b[n++] = (life_bin){m->v[j] / runs, per};
    }
    *nbins = n;
    return b;
}

/* Wear-rate bins from the writes.histogram (per-weight write counts of this run), for runs
 * without heat maps (essim train). */
static life_bin *hist_bins(const statcsv *s, size_t *nbins)
{
    size_t first = 0, n = statcsv_elems(s, "writes.histogram", &first), k = 0;
    double weights = statcsv_num(s, "writes.weights"), cells = statcsv_num(s, "lifetime.cells");
    double per = weights > 0 && cells > 0 ? cells / weights : 1;
    life_bin *b = malloc((n ? n : 1) * sizeof *b);
    if (!b) return NULL;
    for (size_t i = 0; i < n; i++) {
        const statcsv_row *r = &s->r[first + i];
        char *e;
        double lo = strtod(r->elem, &e);
        if (e == r->elem || *e != '-' || !isfinite(r->num)) continue;
        double hi = strtod(e + 1, NULL);
        double w = hi - lo <= 1 ? lo : 0.5 * (lo + hi);
        b[k++] = (life_bin){w, r->num * per};
    }
    *nbins = k;
    return b;
}

/* ---- sections of a run report ------------------------------------------------------------ */

enum { F_NUM, F_PCT, F_STR, F_X };

typedef struct sum_row {
    const char *label, *stat;
    int fmt;
    const char *unit;
} sum_row;

/* Rows without a statistic start a new table with that title. */
static const sum_row summary_rows[] = {
    {"Training", NULL, 0, NULL},
    {"network", "train.network", F_STR, NULL},
    {"dataset", "train.dataset", F_STR, NULL},
    {"write policy", "writes.policy", F_STR, NULL},
    {"test accuracy (final)", "train.test_accuracy_final", F_PCT, NULL},
    {"test accuracy (best)", "train.test_accuracy_best", F_PCT, NULL},
    {"training loss (final)", "train.train_loss_final", F_NUM, NULL},
    {"epochs", "train.epochs", F_NUM, NULL},
    {"iterations", "hw.iterations", F_NUM, NULL},
    {"Writes", NULL, 0, NULL},
    {"writes per weight, mean", "writes.mean", F_NUM, NULL},
    {"writes per weight, p99", "writes.p99", F_NUM, NULL},
    {"writes per weight, max", "writes.max", F_NUM, NULL},
    {"fewer writes than SGD (mean)", "writes.savings_mean_vs_sgd", F_X, NULL},
    {"fewer writes than SGD (max)", "writes.savings_max_vs_sgd", F_X, NULL},
    {"Hardware", NULL, 0, NULL},
    {"simulated time", "hw.time_s", F_NUM, "s"},
    {"time per iteration", "hw.time_s_per_iteration", F_NUM, "s"},
    {"energy", "hw.energy_j", F_NUM, "J"},
    {"energy per iteration", "hw.energy_j_per_iteration", F_NUM, "J"},
    {"average power", "hw.power_w_avg", F_NUM, "W"},
    {"chip area", "hw.area_mm2", F_NUM, "mm\xc2\xb2"},
    {"peak throughput", "hw.peak_tops", F_NUM, "Tops/s"},
    {"Lifetime", NULL, 0, NULL},
    {"cell endurance (mean)", "lifetime.endurance_mean", F_NUM, "writes"},
    {"endurance spread (sigma, decades)", "lifetime.endurance_sigma_log10", F_NUM, NULL},
    {"cells failed so far", "lifetime.cells_failed", F_NUM, NULL},
    {"cells failed so far (fraction)", "lifetime.failed_fraction", F_PCT, NULL},
    {"runs to first cell failure", "lifetime.runs_to_first_failure", F_NUM, "runs"},
    {"runs to 1% of cells failed", "lifetime.runs_to_1pct_failed", F_NUM, "runs"},
    {"runs to 10% of cells failed", "lifetime.runs_to_10pct_failed", F_NUM, "runs"},
};

void rep_sec_summary(rep_ctx *c, const rep_run *runs, size_t nr)
{
    sbuf *h = &c->html;
    rep_section_open(c, "summary", "Summary");
    sb_puts(h, "<div class=\"tables\">\n");
    int open = 0;
    for (size_t k = 0; k < ES_ARRAY_LEN(summary_rows); k++) {
        const sum_row *sr = &summary_rows[k];
        if (!sr->stat) { /* a new table, if any of its statistics is there */
            int any = 0;
            for (size_t j = k + 1; j < ES_ARRAY_LEN(summary_rows) && summary_rows[j].stat; j++)
                for (size_t i = 0; i < nr; i++)
                    if (statcsv_get(&runs[i].st, summary_rows[j].stat, NULL)) any = 1;
            if (open) sb_puts(h, "</table>\n");
            open = 0;
            if (!any) continue;
            sb_puts(h, "<table class=\"summary\">\n<tr><th>");
            rep_html(h, sr->label);
            sb_puts(h, "</th>");
            for (size_t i = 0; i < nr; i++) {
                if (runs[i].k)
                    sb_printf(h, "<th>run %d</th>", runs[i].k);
                else
                    sb_puts(h, "<th></th>");
            }
            sb_puts(h, "</tr>\n");
            open = 1;
            continue;
        }
        int any = 0;
        for (size_t i = 0; i < nr; i++)
            if (statcsv_get(&runs[i].st, sr->stat, NULL)) any = 1;
        if (!any) continue;
        sb_puts(h, "<tr><td>");
        rep_html(h, sr->label);
        sb_puts(h, "</td>");
        for (size_t i = 0; i < nr; i++) {
            const statcsv_row *r = statcsv_get(&runs[i].st, sr->stat, NULL);
            if (!r) {
                sb_puts(h, "<td>&ndash;</td>");
            } else if (sr->fmt == F_STR || r->is_str) {
                sb_puts(h, "<td>");
                rep_html(h, r->val);
                sb_puts(h, "</td>");
            } else if (sr->fmt == F_PCT) {
                rep_td_pct(h, r->num);
            } else if (sr->fmt == F_X) {
                char b[64];
                rep_fmt_g(b, sizeof b, r->num);
                sb_printf(h, "<td>%s&times;</td>", b);
            } else {
                rep_td_num(h, r->num, sr->unit);
            }
        }
        sb_puts(h, "</tr>\n");
    }
    if (open) sb_puts(h, "</table>\n");
    sb_puts(h, "</div>\n");
    if (!statcsv_get(&runs[nr - 1].st, "hw.time_s", NULL))
        rep_note(h, "No hardware statistics (hw.*) in this directory: it was written by a command "
                    "without the hardware model (essim train). Time, energy and stall sections are "
                    "empty.");
    rep_section_close(c);
}

/* Horizontal bars: n labelled values, largest first when sorted; value and share printed
 * beside each bar. */
static void plot_hbars(rep_ctx *c, const char *title, const char *xlabel, const char *unit,
                       size_t n, const char *const *labels, const double *vals, int sorted,
                       const char *caption)
{
    double tot = 0, mx = 0;
    size_t *ord = malloc((n ? n : 1) * sizeof *ord);
    if (!ord) {
        c->html.oom = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        ord[i] = i;
        tot += isfinite(vals[i]) ? vals[i] : 0;
        mx = fmax(mx, isfinite(vals[i]) ? vals[i] : 0);
    }
    if (sorted) /* insertion sort, descending, ties in given order */
        for (size_t i = 1; i < n; i++) {
            size_t x = ord[i], j = i;
            while (j > 0 && vals[ord[j - 1]] < vals[x]) {
                ord[j] = ord[j - 1];
                j--;
            }
            ord[j] = x;
        }
    char path[4200];
    FILE *f = gplot_data(&c->gp, path, sizeof path);
    if (!f) {
        free(ord);
        c->html.oom = 1;
        return;
    }
    /* drawn bottom-up, so the first bar is written last */
    for (size_t k = n; k-- > 0;) {
        size_t i = ord[k];
        double v = isfinite(vals[i]) ? vals[i] : 0;
        fprintf(f, "\"%s\" %.17g %.6g\n", labels[i], v, tot > 0 ? 100 * v / tot : 0);
    }
    fclose(f);
    free(ord);
    int hgt = 90 + 24 * (int)n;
    gplot_plot(&c->gp, &c->html, 560, hgt < 200 ? 200 : hgt, title, caption);
    sbuf *s = &c->gp.script;
    sb_puts(s, "set title ");
    rep_gpstr(s, title);
    sb_puts(s, "\nset xlabel ");
    rep_gpstr(s, xlabel);
    sb_printf(s,
              "\nset grid noytics\nset ytics scale 0\nset offsets 0, 0, 0.5, 0.5\n"
              "set xrange [0:%.17g]\nset yrange [-0.5:%zu-0.5]\nset rmargin 14\n",
              mx > 0 ? mx * 1.45 : 1.0, n);
    sb_puts(s, "plot ");
    rep_gpstr(s, path);
    sb_printf(s,
              " using ($2/2):0:($2/2):(0.35):ytic(1) with boxxyerror lc rgb '#3b6ea5', '' "
              "using 2:0:(sprintf(' %%.3g %s  (%%.1f%%%%)', $2, $3)) with labels left "
              "font ',9'\n",
              unit);
}

static const char *const phase_names[] = {"forward", "backward", "gradient", "update"};

/* Values of every scalar NAME.* (components, causes) in file order. */
static size_t children(const statcsv *s, const char *prefix, const char **labels, double *vals,
                       size_t cap)
{
    size_t n = 0, pl = strlen(prefix);
    for (size_t i = 0; i < s->n && n < cap; i++) {
        const statcsv_row *r = &s->r[i];
        if (strncmp(r->name, prefix, pl) || r->elem[0] || r->is_str || strchr(r->name + pl, '.'))
            continue;
        labels[n] = r->name + pl;
        vals[n++] = r->num;
    }
    return n;
}

static void value_table(sbuf *h, const char *head, const char *unit, size_t n,
                        const char *const *labels, const double *vals)
{
    double tot = 0;
    for (size_t i = 0; i < n; i++)
        tot += isfinite(vals[i]) ? vals[i] : 0;
    sb_puts(h, "<table><tr><th class=\"l\">");
    rep_html(h, head);
    sb_puts(h, "</th><th>value</th><th>share</th></tr>\n");
    for (size_t i = 0; i < n; i++) {
        sb_puts(h, "<tr><td>");
        rep_html(h, labels[i]);
        sb_puts(h, "</td>");
        rep_td_num(h, vals[i], unit);
        rep_td_pct(h, tot > 0 ? vals[i] / tot : NAN);
        sb_puts(h, "</tr>\n");
    }
    sb_puts(h, "<tr class=\"total\"><td>total</td>");
    rep_td_num(h, tot, unit);
    sb_puts(h, "<td></td></tr>\n</table>\n");
}

void rep_sec_energy(rep_ctx *c, const rep_run *r)
{
    rep_section_open(c, "energy", "Energy by component and by phase");
    const char *lab[64];
    double val[64];
    size_t n = children(&r->st, "hw.energy_j_by_component.", lab, val, 64);
    if (!n) {
        rep_note(&c->html, "No energy statistics (hw.energy_j_by_component.*) in this run.");
        rep_section_close(c);
        return;
    }
    sb_puts(&c->html, "<div class=\"figs\">\n");
    plot_hbars(c, "Energy by component", "energy (J)", "J", n, lab, val, 1,
               "Leakage is charged over the whole simulated time; write is the energy of "
               "programming the cells.");
    const char *pl[4];
    double pv[4];
    for (int p = 0; p < 4; p++) {
        char name[64];
        snprintf(name, sizeof name, "hw.energy_j_by_phase.%s", phase_names[p]);
        pl[p] = phase_names[p];
        pv[p] = statcsv_num(&r->st, name);
    }
    plot_hbars(c, "Energy by training phase", "energy (J)", "J", 4, pl, pv, 0,
               "Forward and backward passes, weight-gradient computation, and the update "
               "(crossbar writes); leakage is shared by each phase's time.");
    sb_puts(&c->html, "</div>\n<div class=\"tables\">\n");
    value_table(&c->html, "component", "J", n, lab, val);
    value_table(&c->html, "phase", "J", 4, pl, pv);
    sb_puts(&c->html, "</div>\n");
    rep_section_close(c);
}

void rep_sec_time(rep_ctx *c, const rep_run *r)
{
    rep_section_open(c, "time", "Time by phase and stalls by cause");
    const char *pl[4];
    double pv[4];
    int any = 0;
    for (int p = 0; p < 4; p++) {
        char name[64];
        snprintf(name, sizeof name, "hw.time_s_by_phase.%s", phase_names[p]);
        pl[p] = phase_names[p];
        pv[p] = statcsv_num(&r->st, name);
        if (isfinite(pv[p])) any = 1;
    }
    if (!any) {
        rep_note(&c->html, "No timing statistics (hw.time_s_by_phase.*) in this run.");
        rep_section_close(c);
        return;
    }
    const char *sl[64];
    double sv[64];
    size_t ns = children(&r->st, "hw.stall_s_by_cause.", sl, sv, 64);
    sb_puts(&c->html, "<div class=\"figs\">\n");
    plot_hbars(c, "Simulated time by training phase", "time (s)", "s", 4, pl, pv, 0,
               "Critical-path time of each phase, summed over all iterations.");
    if (ns)
        plot_hbars(c, "Stalls by cause", "stall (job-seconds)", "s", ns, sl, sv, 1,
                   "Time jobs spent waiting for a busy resource, summed over jobs (job-seconds: "
                   "concurrent waits add up, so the total may exceed the simulated time).");
    sb_puts(&c->html, "</div>\n<div class=\"tables\">\n");
    value_table(&c->html, "phase", "s", 4, pl, pv);
    if (ns) value_table(&c->html, "stall cause", "s", ns, sl, sv);
    sb_puts(&c->html, "</div>\n");
    rep_section_close(c);
}

void rep_sec_writes(rep_ctx *c, const rep_run *r)
{
    sbuf *h = &c->html;
    rep_section_open(c, "writes", "Writes per weight");
    size_t first = 0, n = statcsv_elems(&r->st, "writes.histogram", &first);
    char path[4200];
    int buckets = 0;
    double wmax = 0;
    if (n) {
        FILE *f = gplot_data(&c->gp, path, sizeof path);
        if (!f) {
            h->oom = 1;
            return;
        }
        for (size_t i = 0; i < n; i++) {
            const statcsv_row *row = &r->st.r[first + i];
            char *e;
            double lo = strtod(row->elem, &e);
            if (e == row->elem || *e != '-' || !isfinite(row->num)) continue;
            double hi = strtod(e + 1, NULL);
            fprintf(f, "%.17g %.17g %.17g\n", 0.5 * (lo + hi), hi - lo, row->num);
            buckets++;
            if (row->num > 0) wmax = fmax(wmax, hi);
        }
        fclose(f);
    }
    if (buckets) {
        sb_puts(h, "<div class=\"figs\">\n");
        gplot_plot(&c->gp, h, 560, 360, "Write-count histogram",
                   "How many weights received each number of writes in this run (all mapped "
                   "layers).");
        sbuf *s = &c->gp.script;
        sb_puts(s, "set title 'Write-count histogram'\nset xlabel 'writes per weight'\n"
                   "set ylabel 'weights'\nset yrange [0:*]\nset style fill solid 0.85 border "
                   "lc rgb '#ffffff'\n");
        if (wmax > 0) sb_printf(s, "set xrange [0:%.17g]\n", wmax);
        sb_puts(s, "plot ");
        rep_gpstr(s, path);
        sb_puts(s, " using 1:3:2 with boxes lc rgb '#3b6ea5'\n");
        /* fraction of the weights written: per iteration when iterations.csv is there, else
         * the per-epoch means of stats */
        size_t f2 = 0, ne = statcsv_elems(&r->st, "writes.fraction_by_epoch", &f2);
        if (r->has_it && r->it.n > 1) {
            FILE *f = gplot_data(&c->gp, path, sizeof path);
            if (f) {
                int ci = csv_col(&r->it, "iteration"), cf = csv_col(&r->it, "written_fraction");
                for (size_t k = 1; k < r->it.n; k++)
                    fprintf(f, "%.17g %.17g\n", csv_num(&r->it, k, ci), csv_num(&r->it, k, cf));
                fclose(f);
                gplot_plot(&c->gp, h, 460, 360, "Fraction of weights written per iteration",
                           "Fraction of the mapped weights the write policy reprogrammed in each "
                           "iteration (iterations.csv).");
                sb_puts(s, "set title 'Weights written per iteration'\nset xlabel 'iteration'\n"
                           "set ylabel 'fraction of mapped weights'\nset yrange [0:*]\n"
                           "plot ");
                rep_gpstr(s, path);
                sb_puts(s, " using 1:2 with lines lw 1 lc rgb '#c0504d' notitle\n");
            }
        } else if (ne) {
            FILE *f = gplot_data(&c->gp, path, sizeof path);
            if (f) {
                for (size_t i = 0; i < ne; i++)
                    fprintf(f, "%zu %.17g\n", i + 1, r->st.r[f2 + i].num);
                fclose(f);
                gplot_plot(&c->gp, h, 460, 360, "Fraction of weights written per epoch",
                           "Mean fraction of the mapped weights the write policy reprogrammed per "
                           "iteration, by epoch.");
                sb_puts(s, "set title 'Weights written per iteration'\nset xlabel 'epoch'\n"
                           "set ylabel 'fraction of mapped weights'\nset yrange [0:*]\n"
                           "set xtics 1\nplot ");
                rep_gpstr(s, path);
                sb_puts(s, " using 1:2 with linespoints pt 7 lw 2 lc rgb '#c0504d'\n");
            }
        }
        sb_puts(h, "</div>\n");
    } else {
        rep_note(h, "No write-count histogram (writes.histogram) in this run.");
    }
    /* per-layer table */
    size_t fl = 0, nl = statcsv_elems(&r->st, "writes.layer.mean", &fl);
    if (nl) {
        static const struct {
            const char *head, *stat;
        } cols[] = {{"row blocks", "writes.layer.blocks"},
                    {"mean writes", "writes.layer.mean"},
                    {"std", "writes.layer.std"},
                    {"p99", "writes.layer.p99"},
                    {"max", "writes.layer.max"},
                    {"fewer than SGD", "writes.layer.savings_mean_vs_sgd"},
                    {"cells", "lifetime.by_layer.cells"},
                    {"cells failed", "lifetime.by_layer.cells_failed"},
                    {"runs to first failure", "lifetime.by_layer.runs_to_first_failure"}};
        sb_puts(h, "<table><tr><th class=\"l\">layer</th>");
        for (size_t k = 0; k < ES_ARRAY_LEN(cols); k++) {
            sb_puts(h, "<th>");
            rep_html(h, cols[k].head);
            sb_puts(h, "</th>");
        }
        sb_puts(h, "</tr>\n");
        for (size_t i = 0; i < nl; i++) {
            const char *layer = r->st.r[fl + i].elem;
            sb_puts(h, "<tr><td>");
            rep_html(h, layer);
            sb_puts(h, "</td>");
            for (size_t k = 0; k < ES_ARRAY_LEN(cols); k++)
                rep_td_num(h, statcsv_el(&r->st, cols[k].stat, layer), NULL);
            sb_puts(h, "</tr>\n");
        }
        sb_puts(h, "</table>\n");
    }
    rep_section_close(c);
}

void rep_sec_heatmaps(rep_ctx *c, const rep_run *r)
{
    sbuf *h = &c->html;
    rep_section_open(c, "heatmaps", "Per-layer write heat maps");
    if (!r->nh) {
        rep_note(h, "No heat maps (heatmap-LAYER.csv) in this run: they are written by essim run "
                    "and essim simulate.");
        rep_section_close(c);
        return;
    }
    double runs = statcsv_num(&r->st, "lifetime.runs_recorded");
    char cap[400];
    snprintf(cap, sizeof cap,
             "Writes of each crossbar row segment: x is the weight row of the layer's matrix, y "
             "the column tile; colour is the most writes any cell of the segment took%s.",
             runs > 1 ? ", counted over all runs on this chip so far" : "");
    rep_note(h, cap);
    sb_puts(h, "<div class=\"figs\">\n");
    for (size_t l = 0; l < r->nh; l++) {
        const rep_hmap *m = &r->h[l];
        if (!m->rows || !m->cols) continue;
        char path[4200];
        FILE *f = gplot_data(&c->gp, path, sizeof path);
        if (!f) {
            h->oom = 1;
            return;
        }
        double mx = 0;
        for (size_t j = 0; j < m->cols; j++) {
            for (size_t i = 0; i < m->rows; i++) {
                double v = m->v[i * m->cols + j];
                mx = fmax(mx, v);
                fprintf(f, "%zu %zu %.17g\n", i, j, v);
            }
            fputc('\n', f);
        }
        fclose(f);
        char title[300], alt[300];
        snprintf(title, sizeof title, "%s: %zu rows x %zu column tile%s, max %.0f writes", m->name,
                 m->rows, m->cols, m->cols == 1 ? "" : "s", mx);
        snprintf(alt, sizeof alt, "heat map of layer %s", m->name);
        int hgt = m->cols <= 2 ? 200 : m->cols <= 8 ? 260 : 340;
        gplot_plot(&c->gp, h, 560, hgt, alt, NULL);
        sbuf *s = &c->gp.script;
        sb_puts(s, gplot_palette);
        sb_puts(s, "set title ");
        rep_gpstr(s, title);
        sb_printf(s,
                  "\nset xlabel 'weight row'\nset ylabel 'column tile'\nset grid noxtics "
                  "noytics\nset xrange [-0.5:%zu-0.5]\nset yrange [-0.5:%zu-0.5]\n"
                  "set cbrange [0:%.17g]\nset cblabel 'writes'\nset tics out\n",
                  m->rows, m->cols, mx > 0 ? mx : 1);
        if (m->cols <= 8) sb_puts(s, "set ytics 1\n");
        sb_puts(s, "plot ");
        rep_gpstr(s, path);
        if (m->rows >= 2 && m->cols >= 2)
            sb_puts(s, " using 1:2:3 with image\n");
        else
            sb_puts(s, " using 1:2:(0.5):(0.5):3 with boxxyerror fs solid 1.0 noborder lc "
                       "palette\n");
    }
    sb_puts(h, "</div>\n");
    rep_section_close(c);
}

void rep_sec_lifetime(rep_ctx *c, const rep_run *r)
{
    sbuf *h = &c->html;
    rep_section_open(c, "lifetime", "Lifetime: cells failed against training runs");
    double mean = statcsv_num(&r->st, "lifetime.endurance_mean");
    double sigma = statcsv_num(&r->st, "lifetime.endurance_sigma_log10");
    if (!(mean > 0) || !(sigma >= 0)) {
        rep_note(h, "No endurance statistics (lifetime.endurance_mean, "
                    "lifetime.endurance_sigma_log10) in this run.");
        rep_section_close(c);
        return;
    }
    size_t nl = r->nh, ncurves = nl ? nl + 1 : 1;
    life_bin **bins = calloc(ncurves, sizeof *bins);
    size_t *nb = calloc(ncurves, sizeof *nb);
    if (!bins || !nb) {
        free(bins);
        free(nb);
        h->oom = 1;
        return;
    }
    /* curve 0: the whole chip; then one per layer */
    if (nl) {
        bins[0] = wear_bins(r, nl, &nb[0]);
        for (size_t l = 0; l < nl; l++)
            bins[l + 1] = wear_bins(r, l, &nb[l + 1]);
    } else {
        bins[0] = hist_bins(&r->st, &nb[0]);
    }
    double wmin = INFINITY, wmax = 0;
    for (size_t i = 0; bins[0] && i < nb[0]; i++)
        if (bins[0][i].writes > 0 && bins[0][i].cells > 0) {
            wmin = fmin(wmin, bins[0][i].writes);
            wmax = fmax(wmax, bins[0][i].writes);
        }
    if (!bins[0] || !(wmax > 0)) {
        rep_note(h, bins[0]
                        ? "No cell is written in this run: no cell ever fails."
                        : "No per-cell write counts (heat maps or writes.histogram) in this run.");
    } else {
        const double s = sigma;
        const double mu = log10(mean) - s * s * log(10.0) / 2;
        double lo = mu - 4.5 * s - log10(wmax) - 0.3, hi = mu + 4.5 * s - log10(wmin) + 0.3;
        /* right end: where the curve has (nearly) reached the written cells' share */
        double w = 0, tot = 0;
        for (size_t i = 0; i < nb[0]; i++) {
            tot += bins[0][i].cells;
            if (bins[0][i].writes > 0) w += bins[0][i].cells;
        }
        double top = tot > 0 ? life_runs_to_fraction(mean, sigma, bins[0], nb[0], 0.999 * w / tot)
                             : INFINITY;
        if (isfinite(top) && log10(top) + 0.3 < hi) hi = log10(top) + 0.3;
        if (hi - lo > 12) hi = lo + 12;
        const int npts = 241;
        char path[4200];
        FILE *f = gplot_data(&c->gp, path, sizeof path);
        if (!f) {
            h->oom = 1;
        } else {
            for (int i = 0; i < npts; i++) {
                double R = pow(10, lo + (hi - lo) * i / (npts - 1));
                fprintf(f, "%.9g", R);
                for (size_t k = 0; k < ncurves; k++) {
                    double F = life_failed_fraction(mean, sigma, bins[k], nb[k], R);
                    if (F >= 1e-7)
                        fprintf(f, " %.9g", 100 * F);
                    else
                        fputs(" NaN", f);
                }
                fputc('\n', f);
            }
            fclose(f);
            char sim[4200];
            FILE *g = gplot_data(&c->gp, sim, sizeof sim);
            int nsim = 0;
            if (g) {
                static const struct {
                    const char *stat;
                    double pct;
                } pts[] = {{"lifetime.runs_to_1pct_failed", 1},
                           {"lifetime.runs_to_10pct_failed", 10}};
                for (size_t k = 0; k < ES_ARRAY_LEN(pts); k++) {
                    double v = statcsv_num(&r->st, pts[k].stat);
                    if (isfinite(v) && v > 0) {
                        fprintf(g, "%.9g %g\n", v, pts[k].pct);
                        nsim++;
                    }
                }
                fclose(g);
            }
            char cap[600];
            snprintf(cap, sizeof cap,
                     "Expected percentage of cells written past their endurance after R training "
                     "runs like this one, computed from the write counts per run (%s) and the "
                     "lognormal endurance (mean %g writes, sigma %g decades). Dots: the "
                     "simulator's own estimate from its per-cell endurance draws.",
                     nl ? "heat maps" : "write-count histogram", mean, sigma);
            gplot_plot(&c->gp, h, 900, 480, "Lifetime curve", cap);
            sbuf *sc = &c->gp.script;
            sb_puts(sc, "set title 'Cells failed against training runs'\n"
                        "set xlabel 'training runs on the same chip'\n"
                        "set ylabel 'cells failed (%)'\nset logscale xy\n"
                        "set yrange [1e-5:100]\nset format y '%g'\n"
                        "set key bottom right box opaque\nset grid mxtics mytics\n");
            sb_printf(sc, "set xrange [%.9g:%.9g]\n", pow(10, lo), pow(10, hi));
            sb_puts(sc, "set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc "
                        "rgb '#888888'\nset arrow from graph 0, first 10 to graph 1, first 10 "
                        "nohead dt 2 lc rgb '#888888'\nplot ");
            rep_gpstr(sc, path);
            sb_puts(sc, " using 1:2 with lines lw 3 lc rgb '#000000' title 'whole chip'");
            static const char *const colors[] = {"#3b6ea5", "#c0504d", "#9bbb59", "#8064a2",
                                                 "#f79646", "#4bacc6", "#7f6000", "#e377c2"};
            for (size_t l = 0; l < nl; l++) {
                sb_printf(sc, ", '' using 1:%zu with lines lw 1.5 lc rgb '%s' dt %d title ", l + 3,
                          colors[l % 8], l < 8 ? 1 : 2);
                rep_gpstr(sc, r->h[l].name);
            }
            if (nsim) {
                sb_puts(sc, ", ");
                rep_gpstr(sc, sim);
                sb_puts(sc, " using 1:2 with points pt 7 ps 1.6 lc rgb '#d62728' title "
                            "'simulator (runs to 1%, 10%)'");
            }
            sb_puts(sc, "\n");
        }
        /* derived against simulated */
        sb_puts(h, "<table><tr><th class=\"l\">cells failed</th><th>runs (from the curve)</th>"
                   "<th>runs (simulator)</th></tr>\n");
        static const struct {
            const char *label, *id, *stat;
            double frac;
        } rows[] = {{"1 %", "lifetime-1pct", "lifetime.runs_to_1pct_failed", 0.01},
                    {"10 %", "lifetime-10pct", "lifetime.runs_to_10pct_failed", 0.10},
                    {"50 %", "lifetime-50pct", NULL, 0.5}};
        for (size_t k = 0; k < ES_ARRAY_LEN(rows); k++) {
            double d = life_runs_to_fraction(mean, sigma, bins[0], nb[0], rows[k].frac);
            double sv = rows[k].stat ? statcsv_num(&r->st, rows[k].stat) : NAN;
            sb_printf(h, "<tr id=\"%s\" data-curve=\"%.9g\" data-simulated=\"%.9g\"><td>%s</td>",
                      rows[k].id, d, sv, rows[k].label);
            rep_td_num(h, d, NULL);
            rep_td_num(h, sv, NULL);
            sb_puts(h, "</tr>\n");
        }
        sb_puts(h, "</table>\n");
    }
    for (size_t k = 0; k < ncurves; k++)
        free(bins[k]);
    free(bins);
    free(nb);
    rep_section_close(c);
}

void rep_sec_training(rep_ctx *c, const rep_run *runs, size_t nr)
{
    sbuf *h = &c->html;
    rep_section_open(c, "training", "Accuracy and loss per epoch");
    /* One data file per run: epoch, train acc, test acc, train loss, test loss (percent). */
    char(*paths)[4200] = calloc(nr, sizeof *paths);
    int *ok = calloc(nr, sizeof *ok);
    int any = 0, has_test_loss = 0;
    if (!paths || !ok) {
        free(paths);
        free(ok);
        h->oom = 1;
        return;
    }
    for (size_t i = 0; i < nr; i++) {
        const rep_run *r = &runs[i];
        FILE *f = gplot_data(&c->gp, paths[i], sizeof paths[i]);
        if (!f) continue;
        int rows = 0;
        if (r->has_ep) {
            int ce = csv_col(&r->ep, "epoch"), ctra = csv_col(&r->ep, "train_accuracy"),
                ctea = csv_col(&r->ep, "test_accuracy"), ctrl = csv_col(&r->ep, "train_loss"),
                ctel = csv_col(&r->ep, "test_loss");
            if (ctel >= 0) has_test_loss = 1;
            for (size_t k = 1; k < r->ep.n; k++) {
                double e = csv_num(&r->ep, k, ce);
                if (!isfinite(e)) continue;
                fprintf(f, "%g %.9g %.9g %.9g %.9g\n", e, 100 * csv_num(&r->ep, k, ctra),
                        100 * csv_num(&r->ep, k, ctea), csv_num(&r->ep, k, ctrl),
                        csv_num(&r->ep, k, ctel));
                rows++;
            }
        } else {
            size_t fa = 0, fl = 0, na = statcsv_elems(&r->st, "train.test_accuracy_by_epoch", &fa),
                   nl = statcsv_elems(&r->st, "train.train_loss_by_epoch", &fl);
            for (size_t k = 0; k < na || k < nl; k++) {
                fprintf(f, "%zu NaN %.9g %.9g NaN\n", k + 1,
                        k < na ? 100 * r->st.r[fa + k].num : NAN,
                        k < nl ? r->st.r[fl + k].num : NAN);
                rows++;
            }
        }
        fclose(f);
        ok[i] = rows > 0;
        any |= ok[i];
    }
    if (!any) {
        rep_note(h, "No per-epoch results (epochs.csv, train.test_accuracy_by_epoch) in this "
                    "directory.");
    } else {
        static const char *const colors[] = {"#3b6ea5", "#c0504d", "#9bbb59",
                                             "#8064a2", "#f79646", "#4bacc6"};
        sb_puts(h, "<div class=\"figs\">\n");
        for (int which = 0; which < 2; which++) {
            sbuf *s = &c->gp.script;
            gplot_plot(&c->gp, h, 560, 380, which ? "Loss per epoch" : "Accuracy per epoch",
                       which ? "Training loss (solid) and test loss (dashed) at the end of each "
                               "epoch."
                             : "Test accuracy (solid) and training accuracy (dashed) after each "
                               "epoch.");
            sb_printf(s,
                      "set title '%s per epoch'\nset xlabel 'epoch'\nset ylabel '%s'\n"
                      "set key tmargin center horizontal\nset xtics 1\n",
                      which ? "Loss" : "Accuracy", which ? "loss" : "accuracy (%)");
            if (!which) sb_puts(s, "set yrange [0:100]\n");
            sb_puts(s, "plot ");
            int first = 1;
            for (size_t i = 0; i < nr; i++) {
                if (!ok[i]) continue;
                char lab[64];
                if (runs[i].k)
                    snprintf(lab, sizeof lab, "run %d ", runs[i].k);
                else
                    lab[0] = 0;
                const char *col = colors[i % ES_ARRAY_LEN(colors)];
                int c1 = which ? 4 : 3, c2 = which ? 5 : 2;
                if (!first) sb_puts(s, ", ");
                first = 0;
                rep_gpstr(s, paths[i]);
                sb_printf(s, " using 1:%d with linespoints pt 7 lw 2 lc rgb '%s' title '%s%s'", c1,
                          col, lab, which ? "training loss" : "test");
                if (which && !has_test_loss) continue;
                if (!runs[i].has_ep) continue;
                sb_puts(s, ", ");
                rep_gpstr(s, paths[i]);
                sb_printf(s,
                          " using 1:%d with linespoints pt 6 lw 1.5 dt 2 lc rgb '%s' "
                          "title '%s%s'",
                          c2, col, lab, which ? "test loss" : "training");
            }
            sb_puts(s, "\n");
        }
        sb_puts(h, "</div>\n");
        /* epoch table of the single run */
        if (nr == 1 && runs[0].has_ep) {
            const csv_doc *ep = &runs[0].ep;
            sb_puts(h, "<table><tr>");
            for (size_t k = 0; k < ep->rows[0].n; k++) {
                sb_puts(h, "<th>");
                rep_html(h, ep->rows[0].f[k]);
                sb_puts(h, "</th>");
            }
            sb_puts(h, "</tr>\n");
            for (size_t r = 1; r < ep->n; r++) {
                sb_puts(h, "<tr>");
                for (size_t k = 0; k < ep->rows[r].n; k++) {
                    double v;
                    if (csv_parse_num(ep->rows[r].f[k], &v)) {
                        rep_td_num(h, v, NULL);
                    } else {
                        sb_puts(h, "<td>");
                        rep_html(h, ep->rows[r].f[k]);
                        sb_puts(h, "</td>");
                    }
                }
                sb_puts(h, "</tr>\n");
            }
            sb_puts(h, "</table>\n");
        }
    }
    free(paths);
    free(ok);
    rep_section_close(c);
}

/* The effective configuration the run used (config.yaml beside its statistics), folded. */
void rep_sec_config(rep_ctx *c, const rep_run *r)
{
    sbuf *h = &c->html;
    char path[4200];
    snprintf(path, sizeof path, "%s/config.yaml", r->dir);
    FILE *f = fopen(path, "r");
    rep_section_open(c, "config", "Configuration");
    if (!f) {
        rep_note(h, "No config.yaml in this run's folder (written by essim run, train and simulate "
                    "since they record the effective configuration).");
        rep_section_close(c);
        return;
    }
    rep_note(h, "The effective configuration of the run, every key with its value: a valid input "
                "file (essim run config.yaml reproduces the run).");
    sb_puts(h, "<details><summary>config.yaml</summary><pre>");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf - 1, f)) > 0) {
        buf[n] = 0;
        rep_html(h, buf);
    }
    fclose(f);
    sb_puts(h, "</pre></details>\n");
    rep_section_close(c);
}

void rep_sec_repeat(rep_ctx *c, const csv_doc *rep)
{
    sbuf *h = &c->html;
    rep_section_open(c, "repeat", "Repeated runs on the same chip");
    rep_note(h, "Each run trains the network again on the same chip; wear carries over, so cells "
                "that failed in earlier runs hold their levels from the start.");
    int crun = csv_col(rep, "run"), cacc = csv_col(rep, "test_accuracy"),
        cff = csv_col(rep, "failed_fraction");
    sb_puts(h, "<table><tr>");
    for (size_t k = 0; rep->n && k < rep->rows[0].n; k++) {
        sb_puts(h, "<th>");
        rep_html(h, rep->rows[0].f[k]);
        sb_puts(h, "</th>");
    }
    sb_puts(h, "</tr>\n");
    for (size_t r = 1; r < rep->n; r++) {
        sb_puts(h, "<tr>");
        for (size_t k = 0; k < rep->rows[r].n; k++) {
            double v;
            const char *name = rep->rows[0].n > k ? rep->rows[0].f[k] : "";
            if (!csv_parse_num(rep->rows[r].f[k], &v)) {
                sb_puts(h, "<td>");
                rep_html(h, rep->rows[r].f[k]);
                sb_puts(h, "</td>");
            } else if (!strcmp(name, "test_accuracy") || !strcmp(name, "failed_fraction")) {
                rep_td_pct(h, v);
            } else if (!strcmp(name, "accuracy_change")) {
                sb_printf(h, "<td>%+.2f points</td>", 100 * v);
            } else {
                rep_td_num(h, v, NULL);
            }
        }
        sb_puts(h, "</tr>\n");
    }
    sb_puts(h, "</table>\n");
    if (crun >= 0 && cacc >= 0) {
        char path[4200];
        FILE *f = gplot_data(&c->gp, path, sizeof path);
        int n = 0;
        if (f) {
            for (size_t r = 1; r < rep->n; r++) {
                double k = csv_num(rep, r, crun), a = csv_num(rep, r, cacc);
                if (!isfinite(k) || !isfinite(a)) continue;
                fprintf(f, "%g %.9g %.9g\n", k, 100 * a, 100 * csv_num(rep, r, cff));
                n++;
            }
            fclose(f);
        }
        if (n) {
            gplot_plot(&c->gp, h, 560, 360, "Accuracy and failed cells per run",
                       "Final test accuracy of each run (bars) and the percentage of cells "
                       "failed at its end (line, right axis).");
            sbuf *s = &c->gp.script;
            sb_puts(s, "set title 'Accuracy and failed cells per run'\nset xlabel 'run'\n"
                       "set ylabel 'test accuracy (%)'\nset y2label 'cells failed (%)'\n"
                       "set yrange [0:100]\nset y2range [0:*]\nset ytics nomirror\n"
                       "set y2tics\nset xtics 1\nset boxwidth 0.6\n"
                       "set key tmargin center horizontal\n");
            sb_printf(s, "set xrange [0.4:%d.6]\nplot ", n);
            rep_gpstr(s, path);
            sb_puts(s, " using 1:2 with boxes lc rgb '#3b6ea5' title 'test accuracy'");
            if (cff >= 0)
                sb_puts(s, ", '' using 1:3 axes x1y2 with linespoints pt 7 lw 2 lc rgb "
                           "'#c0504d' title 'cells failed'");
            sb_puts(s, "\n");
        }
    }
    rep_section_close(c);
}
