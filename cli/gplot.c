/* gplot.c - the gnuplot driver of `essim report`: plots are described in one script (data files
 * beside it in a private temporary folder), drawn by one gnuplot child process, and then
 * substituted into the page as base64 PNG data: URIs. */
#include "report_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* ---- gnuplot ----------------------------------------------------------------------------- */

int gplot_open(gplot *g, es_err *err)
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

void gplot_close(gplot *g)
{
    if (g->tmp) {
        DIR *d = opendir(g->tmp);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char *p = rep_path(g->tmp, e->d_name);
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
FILE *gplot_data(gplot *g, char *path, size_t cap)
{
    snprintf(path, cap, "%s/d%03d.dat", g->tmp, g->ndata++);
    return fopen(path, "w");
}

const char gplot_palette[] =
    "set palette defined (0 '#440154', 1 '#3b528b', 2 '#21918c', 3 '#5ec962', 4 '#fde725')\n";

/* Start plot number N in the script (size w x h pixels) and put its <figure> in the page:
 * the image is a placeholder "\1N\2" replaced by the PNG when the page is written. */
int gplot_plot(gplot *g, sbuf *html, int w, int h, const char *alt, const char *caption)
{
    int id = g->nplots++;
    sbuf *s = &g->script;
    sb_printf(s, "\nreset\nset terminal pngcairo noenhanced size %d,%d font 'DejaVu Sans,10'\n", w,
              h);
    char out[64];
    snprintf(out, sizeof out, "p%03d.png", id);
    sb_puts(s, "set output ");
    char *p = rep_path(g->tmp, out);
    rep_gpstr(s, p ? p : out);
    free(p);
    sb_puts(s, "\nset border lc rgb '#555555'\nset grid lc rgb '#e0e0e0'\n"
               "set style fill solid 0.85 noborder\nset key noautotitle\n");
    sb_printf(html, "<figure><img src=\"\1%d\2\" width=\"%d\" height=\"%d\" alt=\"", id, w, h);
    rep_html(html, alt);
    sb_puts(html, "\">");
    if (caption && *caption) {
        sb_puts(html, "<figcaption>");
        rep_html(html, caption);
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
                char *p = rep_path(dir, prog);
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
int gplot_run(gplot *g, const char *gnuplot, es_err *err)
{
    if (g->script.oom) return es_fail(err, ES_ENOMEM, "out of memory");
    if (!g->nplots) return ES_OK;
    char *script = rep_path(g->tmp, "report.gp"), *log = rep_path(g->tmp, "gnuplot.log");
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
int gplot_embed(const gplot *g, const sbuf *html, FILE *out, es_err *err)
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
        char *path = rep_path(g->tmp, name);
        if (!path) return es_fail(err, ES_ENOMEM, "out of memory");
        fputs("data:image/png;base64,", out);
        int rc = b64_file(out, path, err);
        free(path);
        if (rc < 0) return rc;
        p = close + 1;
    }
    return ferror(out) ? es_fail(err, ES_EIO, "write error") : ES_OK;
}
