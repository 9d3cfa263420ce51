/* report.c - `essim report`: reads what `essim run/simulate/train/sweep` wrote into a
 * directory and turns it into one self-contained HTML page. The page is built in memory
 * with a placeholder for every plot; the plots are described in one gnuplot script (data
 * files beside it in a private temporary folder), drawn by one gnuplot child process, and
 * then substituted into the page as base64 PNG data: URIs. Nothing on the page refers to
 * the network or to another file. */
#include "report_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- text for HTML and gnuplot ------------------------------------------------------- */

/* Text for HTML: the five special characters escaped, control characters (which the page
 * uses internally as plot placeholders) turned into spaces. */
void rep_html(sbuf *b, const char *s)
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
void rep_gpstr(sbuf *b, const char *s)
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

char *rep_path(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", a, b);
    return p;
}

int rep_file_exists(const char *dir, const char *name)
{
    char *p = rep_path(dir, name);
    struct stat st;
    int ok = p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
    free(p);
    return ok;
}

/* ---- number formatting ------------------------------------------------------------------ */

void rep_fmt_g(char *buf, size_t n, double v)
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
void rep_td_num(sbuf *h, double v, const char *unit)
{
    char b[64];
    rep_fmt_g(b, sizeof b, v);
    sb_printf(h, "<td>%s", b);
    if (unit && *unit && isfinite(v)) {
        sb_puts(h, " ");
        rep_html(h, unit);
    }
    sb_puts(h, "</td>");
}

void rep_td_pct(sbuf *h, double frac)
{
    if (isfinite(frac))
        sb_printf(h, "<td>%.2f %%</td>", 100 * frac);
    else
        sb_puts(h, "<td>&ndash;</td>");
}

void rep_note(sbuf *h, const char *text)
{
    sb_puts(h, "<p class=\"note\">");
    rep_html(h, text);
    sb_puts(h, "</p>\n");
}

/* ---- sections ------------------------------------------------------------------------------ */

void rep_section_open(rep_ctx *c, const char *id, const char *title)
{
    sb_printf(&c->html, "<section id=\"%s\">\n<h2>", id);
    rep_html(&c->html, title);
    sb_puts(&c->html, "</h2>\n");
}

void rep_section_close(rep_ctx *c)
{
    sb_puts(&c->html, "</section>\n");
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
    ".rep_note{color:#555;font-size:13px;margin:4px 0 8px}\n"
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
    rep_html(h, title);
    sb_puts(h, "</title>\n<style>\n");
    sb_puts(h, page_css);
    sb_puts(h, "</style>\n</head>\n<body data-images-ok=\"pending\">\n<header><h1>");
    rep_html(h, title);
    sb_puts(h, "</h1><p>");
    rep_html(h, subtitle);
    sb_puts(h, "</p></header>\n<nav>");
    for (size_t i = 0; i < nsec; i++) {
        sb_printf(h, "<a href=\"#%s\">", ids[i]);
        rep_html(h, names[i]);
        sb_puts(h, "</a>");
    }
    sb_puts(h, "</nav>\n<main>\n");
}

static void page_tail(rep_ctx *c, const rep_options *opt)
{
    sbuf *h = &c->html;
    sb_puts(h, "</main>\n<footer>Made by ");
    rep_html(h, opt && opt->generator ? opt->generator : "essim");
    sb_puts(h, " report from <code>");
    rep_html(h, c->dir);
    sb_puts(h, "</code>; plots drawn with gnuplot.</footer>\n");
    sb_puts(h, page_js);
    sb_puts(h, "</body>\n</html>\n");
}

int rep_detect(const char *dir, rep_kind *kind, es_err *err)
{
    struct stat st;
    if (stat(dir, &st) != 0) return es_fail(err, ES_EIO, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return es_fail(err, ES_EIO, "%s: not a directory", dir);
    if (rep_file_exists(dir, "results.csv"))
        *kind = REP_SWEEP;
    else if (rep_file_exists(dir, "stats.csv"))
        *kind = REP_RUN;
    else if (rep_file_exists(dir, "repeat.csv") || rep_file_exists(dir, "run-1/stats.csv"))
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
    rep_run *runs = NULL;
    size_t nr = 0;
    csv_doc rep = {0};
    int has_rep = 0, rc = ES_OK;
    if (kind == REP_RUN) {
        runs = calloc(1, sizeof *runs);
        if (!runs) return es_fail(err, ES_ENOMEM, "out of memory");
        rc = rep_run_load(dir, 0, &runs[0], err);
        nr = 1;
    } else {
        if (rep_file_exists(dir, "repeat.csv")) {
            char *p = rep_path(dir, "repeat.csv");
            rc = p ? csv_load(p, 0, &rep, err) : es_fail(err, ES_ENOMEM, "out of memory");
            if (rc == ES_OK && (rep.n == 0 || csv_col(&rep, "run") < 0))
                rc = es_fail(err, ES_EFORMAT, "%s: no 'run' column in the header", p);
            free(p);
            has_rep = rc == ES_OK;
        }
        for (int k = 1; rc == ES_OK; k++) {
            char sub[64];
            snprintf(sub, sizeof sub, "run-%d/stats.csv", k);
            if (!rep_file_exists(dir, sub)) break;
            rep_run *t = realloc(runs, (nr + 1) * sizeof *t);
            if (!t) {
                rc = es_fail(err, ES_ENOMEM, "out of memory");
                break;
            }
            runs = t;
            snprintf(sub, sizeof sub, "run-%d", k);
            char *p = rep_path(dir, sub);
            if (!p) {
                rc = es_fail(err, ES_ENOMEM, "out of memory");
                break;
            }
            rc = rep_run_load(p, k, &runs[nr++], err);
            free(p);
        }
        if (rc == ES_OK && !nr)
            rc = es_fail(err, ES_EFORMAT, "%s: repeat.csv but no run-1/stats.csv", dir);
    }
    if (rc == ES_OK) {
        const rep_run *last = &runs[nr - 1];
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
        rep_sec_summary(c, runs, nr);
        rep_sec_energy(c, last);
        rep_sec_time(c, last);
        rep_sec_writes(c, last);
        rep_sec_heatmaps(c, last);
        rep_sec_lifetime(c, last);
        rep_sec_training(c, runs, nr);
        rep_sec_config(c, last);
        if (has_rep) rep_sec_repeat(c, &rep);
        page_tail(c, opt);
    }
    for (size_t i = 0; i < nr; i++)
        rep_run_free(&runs[i]);
    free(runs);
    if (has_rep || rep.rows) csv_free(&rep);
    return rc;
}

static int report_sweep(rep_ctx *c, const char *dir, const rep_options *opt, es_err *err)
{
    rep_sweep s;
    ES_TRY(rep_sweep_load(dir, &s, err));
    char title[512], sub[1024], bn[256];
    if (opt && opt->title)
        snprintf(title, sizeof title, "%s", opt->title);
    else
        snprintf(title, sizeof title, "ESSIM sweep report: %s", base_name(dir, bn, sizeof bn));
    snprintf(sub, sizeof sub, "Sweep directory %s: %zu design points", dir, s.res.n - 1);
    static const char *const ids[] = {"summary", "results", "pareto", "axes"};
    static const char *const names[] = {"Summary", "Results", "Pareto front", "Metrics by axis"};
    page_head(c, title, sub, ids, names, 4);
    rep_sweep_summary(c, &s);
    rep_sweep_table(c, &s);
    rep_sweep_pareto(c, &s);
    rep_sweep_axes(c, &s);
    page_tail(c, opt);
    rep_sweep_free(&s);
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
    int rc = gplot_open(&c.gp, err);
    if (rc == ES_OK)
        rc = kind == REP_SWEEP ? report_sweep(&c, dir, opt, err)
                               : report_runs(&c, dir, kind, opt, err);
    if (rc == ES_OK && (c.html.oom || c.gp.script.oom))
        rc = es_fail(err, ES_ENOMEM, "out of memory building the report");
    if (rc == ES_OK) rc = gplot_run(&c.gp, gnuplot, err);
    if (rc == ES_OK) {
        es_atomic_file af;
        rc = es_atomic_open(&af, out, err);
        if (rc == ES_OK) {
            rc = gplot_embed(&c.gp, &c.html, af.fp, err);
            if (rc == ES_OK)
                rc = es_atomic_commit(&af, err);
            else
                es_atomic_abort(&af);
        }
    }
    gplot_close(&c.gp);
    free(c.html.s);
    free(gnuplot);
    return rc;
}
