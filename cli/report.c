/* report.c - `essim report`: reads what `essim run/simulate/train/sweep` wrote into a
 * directory and turns it into one self-contained HTML page. The page is built in memory
 * with a placeholder for every plot; the plots are described in one gnuplot script (data
 * files beside it in a private temporary folder), drawn by one gnuplot child process, and
 * then substituted into the page as base64 PNG data: URIs. Nothing on the page refers to
 * the network or to another file. */
#include "report.h"

#include "csv.h"
#include "lifetime.h"
#include "sbuf.h"
#include "statcsv.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- text for HTML and gnuplot ------------------------------------------------------- */

/* Text for HTML: the five special characters escaped, control characters (which the page
 * uses internally as plot placeholders) turned into spaces. */
static void sb_html(sbuf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': sb_puts(b, "&amp;"); break;
        case '<': sb_puts(b, "&lt;"); break;
        case '>': sb_puts(b, "&gt;"); break;
        case '"': sb_puts(b, "&quot;"); break;
        case '\'': sb_puts(b, "&#39;"); break;
        default:
            if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
                sb_putn(b, " ", 1);
            else
                sb_putn(b, s, 1);
        }
    }
}

/* A string for a gnuplot script: single-quoted, quotes doubled, no line breaks. */
static void sb_gpstr(sbuf *b, const char *s)
{
    sb_putn(b, "'", 1);
    for (; s && *s; s++) {
        if (*s == '\'')
            sb_puts(b, "''");
        else if ((unsigned char)*s < 0x20)
            sb_putn(b, " ", 1);
        else
            sb_putn(b, s, 1);
    }
    sb_putn(b, "'", 1);
}

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", a, b);
    return p;
}

static int file_exists(const char *dir, const char *name)
{
    char *p = path_join(dir, name);
    struct stat st;
    int ok = p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
    free(p);
    return ok;
}

/* ---- gnuplot ----------------------------------------------------------------------------- */

typedef struct gplot {
    char *tmp;   /* private temporary folder */
    sbuf script; /* one script drawing every plot */
    int nplots, ndata;
} gplot;

static int gp_open(gplot *g, es_err *err)
{
    memset(g, 0, sizeof *g);
    const char *t = getenv("TMPDIR");
    if (!t || !*t) t = "/tmp";
    size_t n = strlen(t) + 32;
    g->tmp = malloc(n);
    if (!g->tmp) return es_fail(err, ES_ENOMEM, "out of memory");
    snprintf(g->tmp, n, "%s/essim-report-XXXXXX", t);
    if (!mkdtemp(g->tmp)) {
        int e = errno;
        free(g->tmp);
        g->tmp = NULL;
        return es_fail(err, ES_EIO, "cannot create a temporary folder in %s: %s", t, strerror(e));
    }
    return ES_OK;
}

static void gp_close(gplot *g)
{
    if (g->tmp) {
        DIR *d = opendir(g->tmp);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char *p = path_join(g->tmp, e->d_name);
            if (p) unlink(p);
            free(p);
        }
        if (d) closedir(d);
        rmdir(g->tmp);
    }
    free(g->tmp);
    free(g->script.s);
    memset(g, 0, sizeof *g);
}

/* A new data file in the temporary folder: its path goes to path (cap bytes). */
static FILE *gp_data(gplot *g, char *path, size_t cap)
{
    snprintf(path, cap, "%s/d%03d.dat", g->tmp, g->ndata++);
    return fopen(path, "w");
}

static const char gp_palette[] =
    "set palette defined (0 '#440154', 1 '#3b528b', 2 '#21918c', 3 '#5ec962', 4 '#fde725')\n";

/* Start plot number N in the script (size w x h pixels) and put its <figure> in the page:
 * the image is a placeholder "\1N\2" replaced by the PNG when the page is written. */
static int gp_plot(gplot *g, sbuf *html, int w, int h, const char *alt, const char *caption)
{
    int id = g->nplots++;
    sbuf *s = &g->script;
    sb_printf(s, "\nreset\nset terminal pngcairo noenhanced size %d,%d font 'DejaVu Sans,10'\n", w,
              h);
    char out[64];
    snprintf(out, sizeof out, "p%03d.png", id);
    sb_puts(s, "set output ");
    char *p = path_join(g->tmp, out);
    sb_gpstr(s, p ? p : out);
    free(p);
    sb_puts(s, "\nset border lc rgb '#555555'\nset grid lc rgb '#e0e0e0'\n"
               "set style fill solid 0.85 noborder\nset key noautotitle\n");
    sb_printf(html, "<figure><img src=\"\1%d\2\" width=\"%d\" height=\"%d\" alt=\"", id, w, h);
    sb_html(html, alt);
    sb_puts(html, "\">");
    if (caption && *caption) {
        sb_puts(html, "<figcaption>");
        sb_html(html, caption);
        sb_puts(html, "</figcaption>");
    }
    sb_puts(html, "</figure>\n");
    return id;
}

int rep_find_gnuplot(const char *prog, char **path_out, es_err *err)
{
    *path_out = NULL;
    if (!prog || !*prog) prog = "gnuplot";
    if (strchr(prog, '/')) {
        if (access(prog, X_OK) == 0) {
            *path_out = es_strdup(prog);
            return *path_out ? ES_OK : es_fail(err, ES_ENOMEM, "out of memory");
        }
    } else {
        const char *path = getenv("PATH");
        if (!path) path = "/usr/bin:/bin";
        while (*path) {
            size_t n = strcspn(path, ":");
            char dir[4096];
            if (n && n < sizeof dir - 1) {
                memcpy(dir, path, n);
                dir[n] = 0;
                char *p = path_join(dir, prog);
                struct stat st;
                if (p && stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0) {
                    *path_out = p;
                    return ES_OK;
                }
                free(p);
            }
            path += n;
            if (*path == ':') path++;
        }
    }
    return es_fail(err, ES_EIO,
                   "%s not found: essim report draws its plots with gnuplot; install it "
                   "(Debian/Ubuntu: apt-get install gnuplot-nox)",
                   prog);
}

/* Run the script with gnuplot; on failure the message carries gnuplot's first error. */
static int gp_run(gplot *g, const char *gnuplot, es_err *err)
{
    if (g->script.oom) return es_fail(err, ES_ENOMEM, "out of memory");
    if (!g->nplots) return ES_OK;
    char *script = path_join(g->tmp, "report.gp"), *log = path_join(g->tmp, "gnuplot.log");
    int rc = ES_OK;
    if (!script || !log) {
        rc = es_fail(err, ES_ENOMEM, "out of memory");
        goto done;
    }
    FILE *f = fopen(script, "w");
    if (!f || fwrite(g->script.s, 1, g->script.n, f) != g->script.n) {
        if (f) fclose(f);
        rc = es_fail(err, ES_EIO, "cannot write %s", script);
        goto done;
    }
    if (fclose(f) != 0) {
        rc = es_fail(err, ES_EIO, "cannot write %s", script);
        goto done;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        rc = es_fail(err, ES_EIO, "cannot start gnuplot: %s", strerror(errno));
        goto done;
    }
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int nul = open("/dev/null", O_RDONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (nul >= 0) dup2(nul, 0);
        execl(gnuplot, "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) {
            rc = es_fail(err, ES_EIO, "waiting for gnuplot: %s", strerror(errno));
            goto done;
        }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        /* gnuplot prints the offending script line, a caret line and the message; keep
         * the message lines (those not starting with spaces or a quote). */
        char *text = NULL;
        size_t len = 0;
        char msg[600] = "";
        es_err ignore;
        if (es_read_file(log, &text, &len, &ignore) == ES_OK) {
            for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                if (!strncmp(line, "Warning", 7) || line[0] == ' ' || line[0] == '\t' ||
                    line[0] == '"' || line[0] == '^')
                    continue;
                snprintf(msg + strlen(msg), sizeof msg - strlen(msg), "%s%s", msg[0] ? "; " : "",
                         line);
            }
            free(text);
        }
        if (WIFEXITED(st) && WEXITSTATUS(st) == 127 && !msg[0])
            rc = es_fail(err, ES_EIO, "cannot run %s", gnuplot);
        else
            rc = es_fail(
                err, ES_EIO, "gnuplot failed (%s %d): %s", WIFEXITED(st) ? "exit status" : "signal",
                WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), msg[0] ? msg : "no message");
    }
done:
    free(script);
    free(log);
    return rc;
}

static int b64_file(FILE *out, const char *path, es_err *err)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *data;
    size_t n;
    ES_TRY(es_read_file(path, &data, &n, err));
    if (n < 8 || memcmp(data, "\x89PNG\r\n\x1a\n", 8)) {
        free(data);
        return es_fail(err, ES_EIO, "gnuplot did not produce a PNG image (%s)", path);
    }
    const unsigned char *d = (const unsigned char *)data;
    char quad[4];
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)d[i] << 16;
        if (i + 1 < n) v |= (unsigned)d[i + 1] << 8;
        if (i + 2 < n) v |= d[i + 2];
        quad[0] = tab[(v >> 18) & 63];
        quad[1] = tab[(v >> 12) & 63];
        quad[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        quad[3] = i + 2 < n ? tab[v & 63] : '=';
        fwrite(quad, 1, 4, out);
    }
    free(data);
    return ES_OK;
}

/* Write the page with every placeholder replaced by its image as a data: URI. */
static int gp_embed(const gplot *g, const sbuf *html, FILE *out, es_err *err)
{
    const char *p = html->s, *end = html->s + html->n;
    while (p < end) {
        const char *q = memchr(p, '\1', (size_t)(end - p));
        if (!q) {
            fwrite(p, 1, (size_t)(end - p), out);
            break;
        }
        fwrite(p, 1, (size_t)(q - p), out);
        int id = atoi(q + 1);
        const char *close = memchr(q, '\2', (size_t)(end - q));
        if (!close) return es_fail(err, ES_EINVAL, "report: broken plot placeholder");
        char name[64];
        snprintf(name, sizeof name, "p%03d.png", id);
        char *path = path_join(g->tmp, name);
        if (!path) return es_fail(err, ES_ENOMEM, "out of memory");
        fputs("data:image/png;base64,", out);
        int rc = b64_file(out, path, err);
        free(path);
        if (rc < 0) return rc;
        p = close + 1;
    }
    return ferror(out) ? es_fail(err, ES_EIO, "write error") : ES_OK;
}

/* ---- number formatting ------------------------------------------------------------------ */

static void fmt_g(char *buf, size_t n, double v)
{
    if (isnan(v))
        snprintf(buf, n, "&ndash;");
    else if (isinf(v))
        snprintf(buf, n, v > 0 ? "&infin;" : "&minus;&infin;");
    else if (v != 0 && (fabs(v) >= 1e7 || fabs(v) < 1e-3))
        snprintf(buf, n, "%.4g", v);
    else if (v == floor(v) && fabs(v) < 1e7)
        snprintf(buf, n, "%.0f", v);
    else
        snprintf(buf, n, "%.4g", v);
}

/* A table cell: number (already HTML) then unit. */
static void td_num(sbuf *h, double v, const char *unit)
{
    char b[64];
    fmt_g(b, sizeof b, v);
    sb_printf(h, "<td>%s", b);
    if (unit && *unit && isfinite(v)) {
        sb_puts(h, " ");
        sb_html(h, unit);
    }
    sb_puts(h, "</td>");
}

static void td_pct(sbuf *h, double frac)
{
    if (isfinite(frac))
        sb_printf(h, "<td>%.2f %%</td>", 100 * frac);
    else
        sb_puts(h, "<td>&ndash;</td>");
}

static void note(sbuf *h, const char *text)
{
    sb_puts(h, "<p class=\"note\">");
    sb_html(h, text);
    sb_puts(h, "</p>\n");
}

/* ---- a run directory ------------------------------------------------------------------- */

typedef struct hmap {
    char *name;
    size_t rows, cols;
    double *v; /* rows x cols, row-major: write counts (cumulative over the chip's runs) */
} hmap;

typedef struct run_data {
    char *dir;
    int k; /* run number in a repeated run, 0 for a single run */
    statcsv st;
    csv_doc ep;
    int has_ep;
    csv_doc it; /* iterations.csv: the written fraction per iteration */
    int has_it;
    size_t nh;
    hmap *h;
} run_data;

static void run_free(run_data *r)
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

static int hmap_load(const char *path, hmap *m, es_err *err)
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

static int run_load(const char *dir, int k, run_data *r, es_err *err)
{
    memset(r, 0, sizeof *r);
    r->k = k;
    r->dir = es_strdup(dir);
    if (!r->dir) return es_fail(err, ES_ENOMEM, "out of memory");
    char *p = path_join(dir, "stats.csv");
    if (!p) return es_fail(err, ES_ENOMEM, "out of memory");
    int rc = statcsv_load(p, &r->st, err);
    free(p);
    if (rc < 0) return rc;
    if (file_exists(dir, "epochs.csv")) {
        p = path_join(dir, "epochs.csv");
        rc = p ? csv_load(p, 0, &r->ep, err) : es_fail(err, ES_ENOMEM, "out of memory");
        if (rc == ES_OK && (r->ep.n == 0 || csv_col(&r->ep, "epoch") < 0))
            rc = es_fail(err, ES_EFORMAT, "%s: no 'epoch' column in the header", p);
        free(p);
        if (rc < 0) {
            csv_free(&r->ep);
            return rc;
        }
        r->has_ep = 1;
    }
    if (file_exists(dir, "iterations.csv")) {
        p = path_join(dir, "iterations.csv");
        rc = p ? csv_load(p, 0, &r->it, err) : es_fail(err, ES_ENOMEM, "out of memory");
        if (rc == ES_OK && (r->it.n == 0 || csv_col(&r->it, "iteration") < 0 ||
                            csv_col(&r->it, "written_fraction") < 0))
            rc = es_fail(err, ES_EFORMAT, "%s: no 'iteration' and 'written_fraction' columns", p);
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
        hmap *m = &r->h[r->nh++];
        size_t len = strlen(names[i]);
        m->name = malloc(len);
        p = path_join(dir, names[i]);
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
static life_bin *wear_bins(const run_data *r, size_t l, size_t *nbins)
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
        const hmap *m = &r->h[i];
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

typedef struct rep_ctx {
    sbuf html;
    gplot gp;
    const char *dir;
} rep_ctx;

static void section_open(rep_ctx *c, const char *id, const char *title)
{
    sb_printf(&c->html, "<section id=\"%s\">\n<h2>", id);
    sb_html(&c->html, title);
    sb_puts(&c->html, "</h2>\n");
}

static void section_close(rep_ctx *c)
{
    sb_puts(&c->html, "</section>\n");
}

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

static void sec_summary(rep_ctx *c, const run_data *runs, size_t nr)
{
    sbuf *h = &c->html;
    section_open(c, "summary", "Summary");
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
            sb_html(h, sr->label);
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
        sb_html(h, sr->label);
        sb_puts(h, "</td>");
        for (size_t i = 0; i < nr; i++) {
            const statcsv_row *r = statcsv_get(&runs[i].st, sr->stat, NULL);
            if (!r) {
                sb_puts(h, "<td>&ndash;</td>");
            } else if (sr->fmt == F_STR || r->is_str) {
                sb_puts(h, "<td>");
                sb_html(h, r->val);
                sb_puts(h, "</td>");
            } else if (sr->fmt == F_PCT) {
                td_pct(h, r->num);
            } else if (sr->fmt == F_X) {
                char b[64];
                fmt_g(b, sizeof b, r->num);
                sb_printf(h, "<td>%s&times;</td>", b);
            } else {
                td_num(h, r->num, sr->unit);
            }
        }
        sb_puts(h, "</tr>\n");
    }
    if (open) sb_puts(h, "</table>\n");
    sb_puts(h, "</div>\n");
    if (!statcsv_get(&runs[nr - 1].st, "hw.time_s", NULL))
        note(h, "No hardware statistics (hw.*) in this directory: it was written by a command "
                "without the hardware model (essim train). Time, energy and stall sections are "
                "empty.");
    section_close(c);
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
    FILE *f = gp_data(&c->gp, path, sizeof path);
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
    gp_plot(&c->gp, &c->html, 560, hgt < 200 ? 200 : hgt, title, caption);
    sbuf *s = &c->gp.script;
    sb_puts(s, "set title ");
    sb_gpstr(s, title);
    sb_puts(s, "\nset xlabel ");
    sb_gpstr(s, xlabel);
    sb_printf(s,
              "\nset grid noytics\nset ytics scale 0\nset offsets 0, 0, 0.5, 0.5\n"
              "set xrange [0:%.17g]\nset yrange [-0.5:%zu-0.5]\nset rmargin 14\n",
              mx > 0 ? mx * 1.45 : 1.0, n);
    sb_puts(s, "plot ");
    sb_gpstr(s, path);
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
    sb_html(h, head);
    sb_puts(h, "</th><th>value</th><th>share</th></tr>\n");
    for (size_t i = 0; i < n; i++) {
        sb_puts(h, "<tr><td>");
        sb_html(h, labels[i]);
        sb_puts(h, "</td>");
        td_num(h, vals[i], unit);
        td_pct(h, tot > 0 ? vals[i] / tot : NAN);
        sb_puts(h, "</tr>\n");
    }
    sb_puts(h, "<tr class=\"total\"><td>total</td>");
    td_num(h, tot, unit);
    sb_puts(h, "<td></td></tr>\n</table>\n");
}

static void sec_energy(rep_ctx *c, const run_data *r)
{
    section_open(c, "energy", "Energy by component and by phase");
    const char *lab[64];
    double val[64];
    size_t n = children(&r->st, "hw.energy_j_by_component.", lab, val, 64);
    if (!n) {
        note(&c->html, "No energy statistics (hw.energy_j_by_component.*) in this run.");
        section_close(c);
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
    section_close(c);
}

static void sec_time(rep_ctx *c, const run_data *r)
{
    section_open(c, "time", "Time by phase and stalls by cause");
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
        note(&c->html, "No timing statistics (hw.time_s_by_phase.*) in this run.");
        section_close(c);
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
    section_close(c);
}

static void sec_writes(rep_ctx *c, const run_data *r)
{
    sbuf *h = &c->html;
    section_open(c, "writes", "Writes per weight");
    size_t first = 0, n = statcsv_elems(&r->st, "writes.histogram", &first);
    char path[4200];
    int buckets = 0;
    double wmax = 0;
    if (n) {
        FILE *f = gp_data(&c->gp, path, sizeof path);
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
        gp_plot(&c->gp, h, 560, 360, "Write-count histogram",
                "How many weights received each number of writes in this run (all mapped "
                "layers).");
        sbuf *s = &c->gp.script;
        sb_puts(s, "set title 'Write-count histogram'\nset xlabel 'writes per weight'\n"
                   "set ylabel 'weights'\nset yrange [0:*]\nset style fill solid 0.85 border "
                   "lc rgb '#ffffff'\n");
        if (wmax > 0) sb_printf(s, "set xrange [0:%.17g]\n", wmax);
        sb_puts(s, "plot ");
        sb_gpstr(s, path);
        sb_puts(s, " using 1:3:2 with boxes lc rgb '#3b6ea5'\n");
        /* fraction of the weights written: per iteration when iterations.csv is there, else
         * the per-epoch means of stats */
        size_t f2 = 0, ne = statcsv_elems(&r->st, "writes.fraction_by_epoch", &f2);
        if (r->has_it && r->it.n > 1) {
            FILE *f = gp_data(&c->gp, path, sizeof path);
            if (f) {
                int ci = csv_col(&r->it, "iteration"), cf = csv_col(&r->it, "written_fraction");
                for (size_t k = 1; k < r->it.n; k++)
                    fprintf(f, "%.17g %.17g\n", csv_num(&r->it, k, ci), csv_num(&r->it, k, cf));
                fclose(f);
                gp_plot(&c->gp, h, 460, 360, "Fraction of weights written per iteration",
                        "Fraction of the mapped weights the write policy reprogrammed in each "
                        "iteration (iterations.csv).");
                sb_puts(s, "set title 'Weights written per iteration'\nset xlabel 'iteration'\n"
                           "set ylabel 'fraction of mapped weights'\nset yrange [0:*]\n"
                           "plot ");
                sb_gpstr(s, path);
                sb_puts(s, " using 1:2 with lines lw 1 lc rgb '#c0504d' notitle\n");
            }
        } else if (ne) {
            FILE *f = gp_data(&c->gp, path, sizeof path);
            if (f) {
                for (size_t i = 0; i < ne; i++)
                    fprintf(f, "%zu %.17g\n", i + 1, r->st.r[f2 + i].num);
                fclose(f);
                gp_plot(&c->gp, h, 460, 360, "Fraction of weights written per epoch",
                        "Mean fraction of the mapped weights the write policy reprogrammed per "
                        "iteration, by epoch.");
                sb_puts(s, "set title 'Weights written per iteration'\nset xlabel 'epoch'\n"
                           "set ylabel 'fraction of mapped weights'\nset yrange [0:*]\n"
                           "set xtics 1\nplot ");
                sb_gpstr(s, path);
                sb_puts(s, " using 1:2 with linespoints pt 7 lw 2 lc rgb '#c0504d'\n");
            }
        }
        sb_puts(h, "</div>\n");
    } else {
        note(h, "No write-count histogram (writes.histogram) in this run.");
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
            sb_html(h, cols[k].head);
            sb_puts(h, "</th>");
        }
        sb_puts(h, "</tr>\n");
        for (size_t i = 0; i < nl; i++) {
            const char *layer = r->st.r[fl + i].elem;
            sb_puts(h, "<tr><td>");
            sb_html(h, layer);
            sb_puts(h, "</td>");
            for (size_t k = 0; k < ES_ARRAY_LEN(cols); k++)
                td_num(h, statcsv_el(&r->st, cols[k].stat, layer), NULL);
            sb_puts(h, "</tr>\n");
        }
        sb_puts(h, "</table>\n");
    }
    section_close(c);
}

static void sec_heatmaps(rep_ctx *c, const run_data *r)
{
    sbuf *h = &c->html;
    section_open(c, "heatmaps", "Per-layer write heat maps");
    if (!r->nh) {
        note(h, "No heat maps (heatmap-LAYER.csv) in this run: they are written by essim run "
                "and essim simulate.");
        section_close(c);
        return;
    }
    double runs = statcsv_num(&r->st, "lifetime.runs_recorded");
    char cap[400];
    snprintf(cap, sizeof cap,
             "Writes of each crossbar row segment: x is the weight row of the layer's matrix, y "
             "the column tile; colour is the most writes any cell of the segment took%s.",
             runs > 1 ? ", counted over all runs on this chip so far" : "");
    note(h, cap);
    sb_puts(h, "<div class=\"figs\">\n");
    for (size_t l = 0; l < r->nh; l++) {
        const hmap *m = &r->h[l];
        if (!m->rows || !m->cols) continue;
        char path[4200];
        FILE *f = gp_data(&c->gp, path, sizeof path);
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
        gp_plot(&c->gp, h, 560, hgt, alt, NULL);
        sbuf *s = &c->gp.script;
        sb_puts(s, gp_palette);
        sb_puts(s, "set title ");
        sb_gpstr(s, title);
        sb_printf(s,
                  "\nset xlabel 'weight row'\nset ylabel 'column tile'\nset grid noxtics "
                  "noytics\nset xrange [-0.5:%zu-0.5]\nset yrange [-0.5:%zu-0.5]\n"
                  "set cbrange [0:%.17g]\nset cblabel 'writes'\nset tics out\n",
                  m->rows, m->cols, mx > 0 ? mx : 1);
        if (m->cols <= 8) sb_puts(s, "set ytics 1\n");
        sb_puts(s, "plot ");
        sb_gpstr(s, path);
        if (m->rows >= 2 && m->cols >= 2)
            sb_puts(s, " using 1:2:3 with image\n");
        else
            sb_puts(s, " using 1:2:(0.5):(0.5):3 with boxxyerror fs solid 1.0 noborder lc "
                       "palette\n");
    }
    sb_puts(h, "</div>\n");
    section_close(c);
}

static void sec_lifetime(rep_ctx *c, const run_data *r)
{
    sbuf *h = &c->html;
    section_open(c, "lifetime", "Lifetime: cells failed against training runs");
    double mean = statcsv_num(&r->st, "lifetime.endurance_mean");
    double sigma = statcsv_num(&r->st, "lifetime.endurance_sigma_log10");
    if (!(mean > 0) || !(sigma >= 0)) {
        note(h, "No endurance statistics (lifetime.endurance_mean, "
                "lifetime.endurance_sigma_log10) in this run.");
        section_close(c);
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
        note(h, bins[0] ? "No cell is written in this run: no cell ever fails."
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
        FILE *f = gp_data(&c->gp, path, sizeof path);
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
            FILE *g = gp_data(&c->gp, sim, sizeof sim);
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
            gp_plot(&c->gp, h, 900, 480, "Lifetime curve", cap);
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
            sb_gpstr(sc, path);
            sb_puts(sc, " using 1:2 with lines lw 3 lc rgb '#000000' title 'whole chip'");
            static const char *const colors[] = {"#3b6ea5", "#c0504d", "#9bbb59", "#8064a2",
                                                 "#f79646", "#4bacc6", "#7f6000", "#e377c2"};
            for (size_t l = 0; l < nl; l++) {
                sb_printf(sc, ", '' using 1:%zu with lines lw 1.5 lc rgb '%s' dt %d title ", l + 3,
                          colors[l % 8], l < 8 ? 1 : 2);
                sb_gpstr(sc, r->h[l].name);
            }
            if (nsim) {
                sb_puts(sc, ", ");
                sb_gpstr(sc, sim);
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
            td_num(h, d, NULL);
            td_num(h, sv, NULL);
            sb_puts(h, "</tr>\n");
        }
        sb_puts(h, "</table>\n");
    }
    for (size_t k = 0; k < ncurves; k++)
        free(bins[k]);
    free(bins);
    free(nb);
    section_close(c);
}

static void sec_training(rep_ctx *c, const run_data *runs, size_t nr)
{
    sbuf *h = &c->html;
    section_open(c, "training", "Accuracy and loss per epoch");
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
        const run_data *r = &runs[i];
        FILE *f = gp_data(&c->gp, paths[i], sizeof paths[i]);
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
        note(h, "No per-epoch results (epochs.csv, train.test_accuracy_by_epoch) in this "
                "directory.");
    } else {
        static const char *const colors[] = {"#3b6ea5", "#c0504d", "#9bbb59",
                                             "#8064a2", "#f79646", "#4bacc6"};
        sb_puts(h, "<div class=\"figs\">\n");
        for (int which = 0; which < 2; which++) {
            sbuf *s = &c->gp.script;
            gp_plot(&c->gp, h, 560, 380, which ? "Loss per epoch" : "Accuracy per epoch",
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
                sb_gpstr(s, paths[i]);
                sb_printf(s, " using 1:%d with linespoints pt 7 lw 2 lc rgb '%s' title '%s%s'", c1,
                          col, lab, which ? "training loss" : "test");
                if (which && !has_test_loss) continue;
                if (!runs[i].has_ep) continue;
                sb_puts(s, ", ");
                sb_gpstr(s, paths[i]);
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
                sb_html(h, ep->rows[0].f[k]);
                sb_puts(h, "</th>");
            }
            sb_puts(h, "</tr>\n");
            for (size_t r = 1; r < ep->n; r++) {
                sb_puts(h, "<tr>");
                for (size_t k = 0; k < ep->rows[r].n; k++) {
                    double v;
                    if (csv_parse_num(ep->rows[r].f[k], &v)) {
                        td_num(h, v, NULL);
                    } else {
                        sb_puts(h, "<td>");
                        sb_html(h, ep->rows[r].f[k]);
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
    section_close(c);
}

/* The effective configuration the run used (config.yaml beside its statistics), folded. */
static void sec_config(rep_ctx *c, const run_data *r)
{
    sbuf *h = &c->html;
    char path[4200];
    snprintf(path, sizeof path, "%s/config.yaml", r->dir);
    FILE *f = fopen(path, "r");
    section_open(c, "config", "Configuration");
    if (!f) {
        note(h, "No config.yaml in this run's folder (written by essim run, train and simulate "
                "since they record the effective configuration).");
        section_close(c);
        return;
    }
    note(h, "The effective configuration of the run, every key with its value: a valid input "
            "file (essim run config.yaml reproduces the run).");
    sb_puts(h, "<details><summary>config.yaml</summary><pre>");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf - 1, f)) > 0) {
        buf[n] = 0;
        sb_html(h, buf);
    }
    fclose(f);
    sb_puts(h, "</pre></details>\n");
    section_close(c);
}

static void sec_repeat(rep_ctx *c, const csv_doc *rep)
{
    sbuf *h = &c->html;
    section_open(c, "repeat", "Repeated runs on the same chip");
    note(h, "Each run trains the network again on the same chip; wear carries over, so cells "
            "that failed in earlier runs hold their levels from the start.");
    int crun = csv_col(rep, "run"), cacc = csv_col(rep, "test_accuracy"),
        cff = csv_col(rep, "failed_fraction");
    sb_puts(h, "<table><tr>");
    for (size_t k = 0; rep->n && k < rep->rows[0].n; k++) {
        sb_puts(h, "<th>");
        sb_html(h, rep->rows[0].f[k]);
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
                sb_html(h, rep->rows[r].f[k]);
                sb_puts(h, "</td>");
            } else if (!strcmp(name, "test_accuracy") || !strcmp(name, "failed_fraction")) {
                td_pct(h, v);
            } else if (!strcmp(name, "accuracy_change")) {
                sb_printf(h, "<td>%+.2f points</td>", 100 * v);
            } else {
                td_num(h, v, NULL);
            }
        }
        sb_puts(h, "</tr>\n");
    }
    sb_puts(h, "</table>\n");
    if (crun >= 0 && cacc >= 0) {
        char path[4200];
        FILE *f = gp_data(&c->gp, path, sizeof path);
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
            gp_plot(&c->gp, h, 560, 360, "Accuracy and failed cells per run",
                    "Final test accuracy of each run (bars) and the percentage of cells "
                    "failed at its end (line, right axis).");
            sbuf *s = &c->gp.script;
            sb_puts(s, "set title 'Accuracy and failed cells per run'\nset xlabel 'run'\n"
                       "set ylabel 'test accuracy (%)'\nset y2label 'cells failed (%)'\n"
                       "set yrange [0:100]\nset y2range [0:*]\nset ytics nomirror\n"
                       "set y2tics\nset xtics 1\nset boxwidth 0.6\n"
                       "set key tmargin center horizontal\n");
            sb_printf(s, "set xrange [0.4:%d.6]\nplot ", n);
            sb_gpstr(s, path);
            sb_puts(s, " using 1:2 with boxes lc rgb '#3b6ea5' title 'test accuracy'");
            if (cff >= 0)
                sb_puts(s, ", '' using 1:3 axes x1y2 with linespoints pt 7 lw 2 lc rgb "
                           "'#c0504d' title 'cells failed'");
            sb_puts(s, "\n");
        }
    }
    section_close(c);
}

/* ---- a sweep directory ------------------------------------------------------------------- */

typedef struct sweep_data {
    csv_doc res; /* results.csv, row 0 the header */
    int c_index, c_status, c_pareto, c_error;
    size_t naxes, nmet;
    int *axes, *mets; /* column numbers */
    char *command;
} sweep_data;

static void sweep_free(sweep_data *s)
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

static int sweep_load(const char *dir, sweep_data *s, es_err *err)
{
    memset(s, 0, sizeof *s);
    char *p = path_join(dir, "results.csv");
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
        sweep_free(s);
        return rc;
    }
    const size_t nc = s->res.rows[0].n;
    s->axes = calloc(nc, sizeof *s->axes);
    s->mets = calloc(nc, sizeof *s->mets);
    if (!s->axes || !s->mets) {
        sweep_free(s);
        return es_fail(err, ES_ENOMEM, "out of memory");
    }
    /* results.json names the swept columns and the metrics; without it, guess by name. */
    char **cols = NULL, **mets = NULL;
    int ncols = -1, nmets = -1;
    char *text = NULL;
    size_t len;
    es_err ignore;
    p = path_join(dir, "results.json");
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

static int row_ok(const sweep_data *s, size_t r)
{
    return !strcmp(csv_get(&s->res, r, s->c_status), "ok");
}

static int row_pareto(const sweep_data *s, size_t r)
{
    return s->c_pareto >= 0 && !strcmp(csv_get(&s->res, r, s->c_pareto), "1");
}

static int col_named(const sweep_data *s, const char *name)
{
    for (size_t i = 0; i < s->nmet; i++)
        if (!strcmp(s->res.rows[0].f[s->mets[i]], name)) return s->mets[i];
    return -1;
}

/* Whether column c has a finite number on every successful row (and at least one row). */
static int col_numeric(const sweep_data *s, int c, int *allpos, double *lo, double *hi)
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

static void sweep_summary(rep_ctx *c, const sweep_data *s)
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
    section_open(c, "summary", "Summary");
    sb_puts(h, "<table class=\"summary\">\n");
    if (s->command) {
        sb_puts(h, "<tr><td>command of each point</td><td>essim ");
        sb_html(h, s->command);
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
        sb_html(h, s->res.rows[0].f[col]);
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
            sb_html(h, v);
        }
        sb_puts(h, "</td></tr>\n");
    }
    sb_puts(h, "</table>\n");
    section_close(c);
}

static void sweep_table(rep_ctx *c, const sweep_data *s)
{
    sbuf *h = &c->html;
    section_open(c, "results", "Results");
    note(h, "One row per design point. Highlighted rows (\xe2\x98\x85) are on the Pareto front "
            "over the sweep's objectives; failed points show their error.");
    sb_puts(h, "<div class=\"scroll\"><table class=\"results\">\n<tr>");
    const csv_row *hd = &s->res.rows[0];
    for (size_t k = 0; k < hd->n; k++) {
        sb_puts(h, (int)k == s->c_error ? "<th class=\"l\">" : "<th>");
        sb_html(h, hd->f[k]);
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
                sb_html(h, v);
                sb_puts(h, "</td>");
            } else if (csv_parse_num(v, &x) && (int)k != s->c_index && strlen(v) > 8) {
                td_num(h, x, NULL);
            } else {
                sb_puts(h, "<td>");
                sb_html(h, v);
                sb_puts(h, "</td>");
            }
        }
        sb_puts(h, "</tr>\n");
    }
    sb_puts(h, "</table></div>\n");
    section_close(c);
}

static void sweep_pareto(rep_ctx *c, const sweep_data *s)
{
    sbuf *h = &c->html;
    section_open(c, "pareto", "Pareto front");
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
        note(h, "Fewer than two numeric metrics on the finished points: nothing to plot.");
        section_close(c);
        return;
    }
    char path[4200];
    FILE *f = gp_data(&c->gp, path, sizeof path);
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
    gp_plot(&c->gp, h, 900, 560, "Pareto scatter", cap);
    sbuf *sc = &c->gp.script;
    sb_puts(sc, gp_palette);
    sb_puts(sc, "set title ");
    char title[300];
    snprintf(title, sizeof title, "%s against %s", metric_label(ny), metric_label(nx));
    sb_gpstr(sc, title);
    sb_puts(sc, "\nset xlabel ");
    sb_gpstr(sc, metric_label(nx));
    sb_puts(sc, "\nset ylabel ");
    sb_gpstr(sc, metric_label(ny));
    sb_puts(sc, "\nset key tmargin center horizontal\nset offsets graph 0.05, graph 0.05, graph "
                "0.05, graph 0.05\n");
    if (lx) sb_puts(sc, "set logscale x\n");
    if (ly) sb_puts(sc, "set logscale y\n");
    if (nc) {
        sb_puts(sc, "set cblabel ");
        sb_gpstr(sc, metric_label(nc));
        sb_puts(sc, "\n");
    }
    sb_puts(sc, "plot ");
    sb_gpstr(sc, path);
    if (nc)
        sb_puts(sc, " using 1:2:3 with points pt 7 ps 2 lc palette title 'design point'");
    else
        sb_puts(sc, " using 1:2 with points pt 7 ps 2 lc rgb '#3b6ea5' title 'design point'");
    sb_puts(sc, ", '' using 1:($4 > 0 ? $2 : 1/0) with points pt 6 ps 3.2 lw 2 lc rgb '#d62728' "
                "title 'Pareto front', '' using 1:2:(stringcolumn(5)) with labels offset 1.4,0.9 "
                "font ',8' tc rgb '#444444'\n");
    section_close(c);
}

/* Whether axis column b is the same dimension as a (zipped): a one-to-one map of values. */
static int same_dimension(const sweep_data *s, int a, int b)
{
    for (size_t r = 1; r < s->res.n; r++)
        for (size_t q = 1; q < r; q++) {
            int ea = !strcmp(csv_get(&s->res, r, a), csv_get(&s->res, q, a));
            int eb = !strcmp(csv_get(&s->res, r, b), csv_get(&s->res, q, b));
            if (ea != eb) return 0;
        }
    return 1;
}

static void sweep_axes(rep_ctx *c, const sweep_data *s)
{
    sbuf *h = &c->html;
    section_open(c, "axes", "Each metric against each swept axis");
    if (!s->naxes || !s->nmet) {
        note(h, "No swept axes or no metrics in the results.");
        section_close(c);
        return;
    }
    note(h, "Every finished point, with the other axes at all their values; red rings mark "
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
        sb_html(h, axname);
        sb_puts(h, "</code></h3>\n<div class=\"figs\">\n");
        for (size_t m = 0; m < s->nmet; m++) {
            int cm = s->mets[m];
            char path[4200];
            FILE *f = gp_data(&c->gp, path, sizeof path);
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
            gp_plot(&c->gp, h, 400, 290, alt, NULL);
            sbuf *sc = &c->gp.script;
            sb_puts(sc, "set title ");
            sb_gpstr(sc, metric_label(mname));
            sb_puts(sc, " font ',10'\nset xlabel ");
            sb_gpstr(sc, s->res.rows[0].f[ca]);
            sb_puts(sc, "\nset offsets graph 0.08, graph 0.08, graph 0.1, graph 0.1\n");
            if (lg) sb_puts(sc, "set logscale x\n");
            if (!numeric) {
                sb_printf(sc, "set xrange [-0.5:%zu-0.5]\nset xtics (", ncat);
                for (size_t q = 0; q < ncat; q++) {
                    if (q) sb_puts(sc, ", ");
                    sb_gpstr(sc, cats[q]);
                    sb_printf(sc, " %zu", q);
                }
                sb_puts(sc, ")\nset offsets 0, 0, graph 0.1, graph 0.1\n");
            }
            sb_puts(sc, "plot ");
            sb_gpstr(sc, path);
            sb_puts(sc, " using 1:2 with points pt 7 ps 1.3 lc rgb '#3b6ea5', '' using 1:($3 > 0 "
                        "? $2 : 1/0) with points pt 6 ps 2.2 lw 2 lc rgb '#d62728'\n");
        }
        sb_puts(h, "</div>\n");
    }
    section_close(c);
}

/* ---- the page ---------------------------------------------------------------------------- */

static const char page_css[] =
    "body{font:14px/1.45 'DejaVu Sans',Verdana,Arial,sans-serif;margin:0;color:#222;"
    "background:#f4f6f8}\n"
    "header{background:#1f3b57;color:#fff;padding:16px 28px}\n"
    "header h1{margin:0;font-size:22px;font-weight:600}\n"
    "header p{margin:4px 0 0;color:#cfdbe6;font-size:13px}\n"
    "nav{padding:7px 28px;background:#e3e9ef;border-bottom:1px solid #cfd8e1}\n"
    "nav a{margin-right:16px;color:#1f3b57;text-decoration:none;font-size:13px}\n"
    "main{padding:4px 28px 28px}\n"
    "section{background:#fff;border:1px solid #dde2e8;border-radius:6px;padding:10px 20px 16px;"
    "margin:14px 0}\n"
    "h2{font-size:18px;margin:6px 0 10px;color:#1f3b57}\n"
    "h3{font-size:14px;margin:14px 0 6px;color:#333}\n"
    "table{border-collapse:collapse;font-size:13px;margin:8px 24px 8px 0}\n"
    "th,td{padding:3px 10px;border-bottom:1px solid #e6e9ed;text-align:right;"
    "white-space:nowrap}\n"
    "th{background:#f0f3f6;font-weight:600}\n"
    "th:first-child,td:first-child,.l{text-align:left}\n"
    "table.summary td:first-child{color:#444}\n"
    "tr.total td{font-weight:600}\n"
    "tr.pareto td{background:#fff4cc}\n"
    "tr.failed td{color:#a33}\n"
    ".tables{display:flex;flex-wrap:wrap;align-items:flex-start}\n"
    ".figs{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}\n"
    ".scroll{overflow-x:auto}\n"
    "figure{margin:6px 0}\n"
    "figure img{max-width:100%;height:auto;border:1px solid #e8e8e8;display:block}\n"
    "figcaption{font-size:12px;color:#555;max-width:560px;margin-top:4px}\n"
    ".note{color:#555;font-size:13px;margin:4px 0 8px}\n"
    "code{font-family:'DejaVu Sans Mono',monospace;font-size:12px}\n"
    "footer{color:#777;font-size:12px;padding:0 28px 24px}\n";

/* Sets data-images-ok on <body> once every image has decoded, so a headless browser can
 * check the page rendered (tests/cli_report.sh). */
static const char page_js[] =
    "<script>\n"
    "window.addEventListener('load', function () {\n"
    "  var imgs = document.images, ok = 0;\n"
    "  for (var i = 0; i < imgs.length; i++)\n"
    "    if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++;\n"
    "  document.body.setAttribute('data-images', String(imgs.length));\n"
    "  document.body.setAttribute('data-images-decoded', String(ok));\n"
    "  document.body.setAttribute('data-images-ok', ok === imgs.length ? 'yes' : 'no');\n"
    "});\n"
    "</script>\n";

static void page_head(rep_ctx *c, const char *title, const char *subtitle, const char *const *ids,
                      const char *const *names, size_t nsec)
{
    sbuf *h = &c->html;
    sb_puts(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
               "<title>");
    sb_html(h, title);
    sb_puts(h, "</title>\n<style>\n");
    sb_puts(h, page_css);
    sb_puts(h, "</style>\n</head>\n<body data-images-ok=\"pending\">\n<header><h1>");
    sb_html(h, title);
    sb_puts(h, "</h1><p>");
    sb_html(h, subtitle);
    sb_puts(h, "</p></header>\n<nav>");
    for (size_t i = 0; i < nsec; i++) {
        sb_printf(h, "<a href=\"#%s\">", ids[i]);
        sb_html(h, names[i]);
        sb_puts(h, "</a>");
    }
    sb_puts(h, "</nav>\n<main>\n");
}

static void page_tail(rep_ctx *c, const rep_options *opt)
{
    sbuf *h = &c->html;
    sb_puts(h, "</main>\n<footer>Made by ");
    sb_html(h, opt && opt->generator ? opt->generator : "essim");
    sb_puts(h, " report from <code>");
    sb_html(h, c->dir);
    sb_puts(h, "</code>; plots drawn with gnuplot.</footer>\n");
    sb_puts(h, page_js);
    sb_puts(h, "</body>\n</html>\n");
}

int rep_detect(const char *dir, rep_kind *kind, es_err *err)
{
    struct stat st;
    if (stat(dir, &st) != 0) return es_fail(err, ES_EIO, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return es_fail(err, ES_EIO, "%s: not a directory", dir);
    if (file_exists(dir, "results.csv"))
        *kind = REP_SWEEP;
    else if (file_exists(dir, "stats.csv"))
        *kind = REP_RUN;
    else if (file_exists(dir, "repeat.csv") || file_exists(dir, "run-1/stats.csv"))
        *kind = REP_REPEAT;
    else
        return es_fail(err, ES_EFORMAT,
                       "%s: no stats.csv, run-1/stats.csv or results.csv: not an output "
                       "directory of essim run, simulate, train or sweep",
                       dir);
    return ES_OK;
}

static const char *base_name(const char *dir, char *buf, size_t n)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    size_t s = len;
    while (s > 0 && dir[s - 1] != '/')
        s--;
    snprintf(buf, n, "%.*s", (int)(len - s), dir + s);
    return buf;
}

static int report_runs(rep_ctx *c, const char *dir, rep_kind kind, const rep_options *opt,
                       es_err *err)
{
    run_data *runs = NULL;
    size_t nr = 0;
    csv_doc rep = {0};
    int has_rep = 0, rc = ES_OK;
    if (kind == REP_RUN) {
        runs = calloc(1, sizeof *runs);
        if (!runs) return es_fail(err, ES_ENOMEM, "out of memory");
        rc = run_load(dir, 0, &runs[0], err);
        nr = 1;
    } else {
        if (file_exists(dir, "repeat.csv")) {
            char *p = path_join(dir, "repeat.csv");
            rc = p ? csv_load(p, 0, &rep, err) : es_fail(err, ES_ENOMEM, "out of memory");
            if (rc == ES_OK && (rep.n == 0 || csv_col(&rep, "run") < 0))
                rc = es_fail(err, ES_EFORMAT, "%s: no 'run' column in the header", p);
            free(p);
            has_rep = rc == ES_OK;
        }
        for (int k = 1; rc == ES_OK; k++) {
            char sub[64];
            snprintf(sub, sizeof sub, "run-%d/stats.csv", k);
            if (!file_exists(dir, sub)) break;
            run_data *t = realloc(runs, (nr + 1) * sizeof *t);
            if (!t) {
                rc = es_fail(err, ES_ENOMEM, "out of memory");
                break;
            }
            runs = t;
            snprintf(sub, sizeof sub, "run-%d", k);
            char *p = path_join(dir, sub);
            if (!p) {
                rc = es_fail(err, ES_ENOMEM, "out of memory");
                break;
            }
            rc = run_load(p, k, &runs[nr++], err);
            free(p);
        }
        if (rc == ES_OK && !nr)
            rc = es_fail(err, ES_EFORMAT, "%s: repeat.csv but no run-1/stats.csv", dir);
    }
    if (rc == ES_OK) {
        const run_data *last = &runs[nr - 1];
        const statcsv *st = &last->st;
        char title[512], sub[1024], bn[256];
        const char *net = statcsv_str(st, "train.network"), *ds = statcsv_str(st, "train.dataset"),
                   *pol = statcsv_str(st, "writes.policy");
        if (opt && opt->title)
            snprintf(title, sizeof title, "%s", opt->title);
        else if (net)
            snprintf(title, sizeof title, "ESSIM report: %s%s%s%s%s", net, ds ? " on " : "",
                     ds ? ds : "", pol ? ", " : "", pol ? pol : "");
        else
            snprintf(title, sizeof title, "ESSIM report: %s", base_name(dir, bn, sizeof bn));
        if (kind == REP_RUN)
            snprintf(sub, sizeof sub, "Run directory %s", dir);
        else
            snprintf(sub, sizeof sub,
                     "%zu runs on the same chip in %s; the sections after the summary show run "
                     "%d, the last one",
                     nr, dir, last->k);
        static const char *const ids[] = {"summary",  "energy",   "time",   "writes", "heatmaps",
                                          "lifetime", "training", "config", "repeat"};
        static const char *const names[] = {"Summary",  "Energy",        "Time",
                                            "Writes",   "Heat maps",     "Lifetime",
                                            "Training", "Configuration", "Runs"};
        page_head(c, title, sub, ids, names, has_rep ? 9 : 8);
        sec_summary(c, runs, nr);
        sec_energy(c, last);
        sec_time(c, last);
        sec_writes(c, last);
        sec_heatmaps(c, last);
        sec_lifetime(c, last);
        sec_training(c, runs, nr);
        sec_config(c, last);
        if (has_rep) sec_repeat(c, &rep);
        page_tail(c, opt);
    }
    for (size_t i = 0; i < nr; i++)
        run_free(&runs[i]);
    free(runs);
    if (has_rep || rep.rows) csv_free(&rep);
    return rc;
}

static int report_sweep(rep_ctx *c, const char *dir, const rep_options *opt, es_err *err)
{
    sweep_data s;
    ES_TRY(sweep_load(dir, &s, err));
    char title[512], sub[1024], bn[256];
    if (opt && opt->title)
        snprintf(title, sizeof title, "%s", opt->title);
    else
        snprintf(title, sizeof title, "ESSIM sweep report: %s", base_name(dir, bn, sizeof bn));
    snprintf(sub, sizeof sub, "Sweep directory %s: %zu design points", dir, s.res.n - 1);
    static const char *const ids[] = {"summary", "results", "pareto", "axes"};
    static const char *const names[] = {"Summary", "Results", "Pareto front", "Metrics by axis"};
    page_head(c, title, sub, ids, names, 4);
    sweep_summary(c, &s);
    sweep_table(c, &s);
    sweep_pareto(c, &s);
    sweep_axes(c, &s);
    page_tail(c, opt);
    sweep_free(&s);
    return ES_OK;
}

int rep_write_html(const char *dir, const char *out, const rep_options *opt, rep_kind *kind_out,
                   es_err *err)
{
    if (!dir || !out) return es_fail(err, ES_EINVAL, "rep_write_html: NULL argument");
    rep_kind kind;
    ES_TRY(rep_detect(dir, &kind, err));
    if (kind_out) *kind_out = kind;
    char *gnuplot = NULL;
    ES_TRY(rep_find_gnuplot(opt ? opt->gnuplot : NULL, &gnuplot, err));
    rep_ctx c;
    memset(&c, 0, sizeof c);
    c.dir = dir;
    int rc = gp_open(&c.gp, err);
    if (rc == ES_OK)
        rc = kind == REP_SWEEP ? report_sweep(&c, dir, opt, err)
                               : report_runs(&c, dir, kind, opt, err);
    if (rc == ES_OK && (c.html.oom || c.gp.script.oom))
        rc = es_fail(err, ES_ENOMEM, "out of memory building the report");
    if (rc == ES_OK) rc = gp_run(&c.gp, gnuplot, err);
    if (rc == ES_OK) {
        es_atomic_file af;
        rc = es_atomic_open(&af, out, err);
        if (rc == ES_OK) {
            rc = gp_embed(&c.gp, &c.html, af.fp, err);
            if (rc == ES_OK)
                rc = es_atomic_commit(&af, err);
            else
                es_atomic_abort(&af);
        }
    }
    gp_close(&c.gp);
    free(c.html.s);
    free(gnuplot);
    return rc;
}
