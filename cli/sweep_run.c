/* sweep_run.c - running one point of a sweep: its output folder, the child process that runs
 * the command on the point's configuration, and reaping it into point.json. */
#include "config.h"

#include "sweep_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <unistd.h>

/* ---- running points -------------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
    return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void sw_point_name(size_t i, char *buf, size_t len)
{
    sw_fmt(buf, len, "%04zu", i);
}

int sw_out_prepare(const char *dir, es_err *err)
{
    char path[PATH_MAX];
    sw_fmt(path, sizeof path, "%s/points", dir);
    ES_TRY(es_mkdir_p(path, err));
    DIR *d = opendir(path);
    if (!d) return es_fail(err, ES_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct dirent *e;
    int rc = ES_OK;
    while ((e = readdir(d))) {
        if (!strstr(e->d_name, ".tmp-")) continue;
        char p[PATH_MAX];
        sw_fmt(p, sizeof p, "%s/%s", path, e->d_name);
        if (rm_rf(p) != 0) rc = es_fail(err, ES_EIO, "%s: cannot remove: %s", p, strerror(errno));
    }
    closedir(d);
    return rc;
}

char *sw_slurp(const char *path, size_t *len)
{
    char *text = NULL;
    es_err ignore = {0};
    return es_read_file(path, &text, len, &ignore) == ES_OK ? text : NULL;
}

/* The string value of "key": "..." in a JSON object we wrote ourselves (escapes limited to
 * \" \\ \n \t \uXXXX below 0x80). NULL when absent or null. */
char *sw_json_string(const char *json, const char *key)
{
    char pat[128];
    sw_fmt(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(json, pat);
    if (!p) return NULL;
    p += strlen(pat);
    if (*p != '"') return NULL;
    sbuf b = {0};
    for (p++; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            char c = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
            if (*p == 'u' && isxdigit((unsigned char)p[1])) {
                c = (char)strtol((char[5]){p[1], p[2], p[3], p[4], 0}, NULL, 16);
                p += 4;
            }
            sb_putn(&b, &c, 1);
        } else {
            sb_putn(&b, p, 1);
        }
    }
    return sb_take(&b);
}

long sw_json_int(const char *json, const char *key, long def)
{
    char pat[128];
    sw_fmt(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(json, pat);
    return p ? strtol(p + strlen(pat), NULL, 10) : def;
}

int sw_point_finished(const sw_sweep *sw, const char *dir, size_t i, int clean)
{
    char name[32], path[PATH_MAX], pj[PATH_MAX];
    sw_point_name(i, name, sizeof name);
    sw_fmt(path, sizeof path, "%s/points/%s", dir, name);
    sw_fmt(pj, sizeof pj, "%s/point.json", path);
    char *json = sw_slurp(pj, NULL);
    int done = 0;
    if (json) {
        char *status = sw_json_string(json, "status");
        char *hash = sw_json_string(json, "config_hash");
        char *cmd = sw_json_string(json, "command");
        char *trace = sw_json_string(json, "trace");
        done = status && !strcmp(status, "ok") && hash && !strcmp(hash, sw_point_hash(sw, i)) &&
               cmd && !strcmp(cmd, sw_point_command(sw, i)) &&
               (sw->trace ? trace && !strcmp(trace, sw->trace) : !trace);
        free(status);
        free(hash);
        free(cmd);
        free(trace);
        free(json);
    }
    if (!done && clean) rm_rf(path);
    return done;
}

/* argv of the command for a point whose folder is `pdir`. */
static int point_argv(const sw_sweep *sw, size_t i, const char *pdir, char *cfgpath, char **argv)
{
    int argc = 0;
    const char *cmd = sw_point_command(sw, i);
    argv[argc++] = (char *)cmd;
    if (!strcmp(cmd, "simulate")) argv[argc++] = "--config";
    argv[argc++] = cfgpath;
    if (!strcmp(cmd, "simulate")) {
        argv[argc++] = "--trace";
        argv[argc++] = sw->trace;
    }
    argv[argc++] = "--out";
    argv[argc++] = (char *)pdir;
    argv[argc] = NULL;
    return argc;
}

/* The child: everything goes to the point's log; returns the exit status. */
static int child_main(const sw_sweep *sw, const char *dir, size_t i, sw_command_fn fn)
{
    char name[32], pdir[PATH_MAX], path[PATH_MAX];
    sw_point_name(i, name, sizeof name);
    sw_fmt(pdir, sizeof pdir, "%s/points/%s.tmp-%ld", dir, name, (long)getpid());
    if (mkdir(pdir, 0777) != 0) {
        fprintf(stderr, "essim: %s: cannot create: %s\n", pdir, strerror(errno));
        return 1;
    }
    sw_fmt(path, sizeof path, "%s/log.txt", pdir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
        fprintf(stderr, "essim: %s: cannot create: %s\n", path, strerror(errno));
        return 1;
    }
    close(fd);
    int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0) {
        dup2(nul, 0);
        close(nul);
    }
    essim_config cfg;
    es_err err;
    es_err_clear(&err);
    if (sw_point_config(sw, i, &cfg, &err) < 0) {
        fprintf(stderr, "essim: %s\n", err.msg);
        return 2;
    }
    char cfgpath[PATH_MAX];
    sw_fmt(cfgpath, sizeof cfgpath, "%s/config.yaml", pdir);
    int bad = cfg_dump_file(&cfg, cfgpath, &err) < 0;
    cfg_free(&cfg);
    if (bad) {
        fprintf(stderr, "essim: %s\n", err.msg);
        return 1;
    }
    char *argv[12];
    int argc = point_argv(sw, i, pdir, cfgpath, argv);
    double t0 = es_host_seconds();
    int rc = fn(argc, argv);
    double t1 = es_host_seconds();
    fflush(stdout);
    fflush(stderr);
    sw_fmt(path, sizeof path, "%s/.command_seconds", pdir);
    FILE *fp = fopen(path, "w");
    if (fp) {
        fprintf(fp, "%.9f\n", t1 - t0);
        fclose(fp);
    }
    return rc;
}

int sw_point_spawn(const sw_sweep *sw, const char *dir, size_t i, sw_command_fn fn, pid_t *pid,
                   es_err *err)
{
    fflush(NULL);
    pid_t parent = getpid();
    pid_t p = fork();
    if (p < 0) return es_fail(err, ES_EIO, "fork: %s", strerror(errno));
    if (p == 0) {
#ifdef __linux__
        /* A point dies with the sweep that started it: killing only the parent would leave
         * workers that never publish but hold the machine. (The parent may already be gone
         * before the request takes effect: then exit at once.) */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
#else
        (void)parent;
#endif
        int rc = child_main(sw, dir, i, fn);
        fflush(NULL);
        _exit(rc & 0xff);
    }
    *pid = p;
    return ES_OK;
}

/* The last line of the log that looks like an error, with the temporary folder name
 * replaced by the final one so that the message does not depend on the pid. */
static void last_error(const char *log, const char *tmpdir, const char *name, char *out, size_t len)
{
    out[0] = '\0';
    char *text = sw_slurp(log, NULL);
    if (!text) return;
    const char *best = NULL, *last = NULL;
    size_t best_len = 0, last_len = 0;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        size_t l = nl ? (size_t)(nl - line) : strlen(line);
        if (l > 0 && line[l - 1] == '\r') l--;
        if (l) {
            last = line;
            last_len = l;
            if (!strncmp(line, "essim", 5)) best = line, best_len = l;
        }
        if (!nl) break;
        line = nl + 1;
    }
    if (!best) best = last, best_len = last_len;
    if (best) {
        sbuf b = {0};
        char *s = strndup(best, best_len);
        const char *p = s ? s : "";
        if (!strncmp(p, "essim: ", 7)) p += 7;
        size_t tl = strlen(tmpdir);
        char rel[64];
        sw_fmt(rel, sizeof rel, "points/%s", name);
        while (*p) {
            const char *hit = tl ? strstr(p, tmpdir) : NULL;
            if (!hit) {
                sb_puts(&b, p);
                break;
            }
            sb_putn(&b, p, (size_t)(hit - p));
            sb_puts(&b, rel);
            p = hit + tl;
        }
        free(s);
        char *r = sb_take(&b);
        if (r) {
            sw_fmt(out, len, "%s", r);
            free(r);
        }
    }
    free(text);
}

int sw_point_reap(const sw_sweep *sw, const char *dir, size_t i, pid_t pid, int wstatus,
                  double seconds, sw_point_result *res, es_err *err)
{
    char name[32], tmp[PATH_MAX], fin[PATH_MAX], path[PATH_MAX];
    sw_point_name(i, name, sizeof name);
    sw_fmt(tmp, sizeof tmp, "%s/points/%s.tmp-%ld", dir, name, (long)pid);
    sw_fmt(fin, sizeof fin, "%s/points/%s", dir, name);
    memset(res, 0, sizeof *res);
    res->seconds = seconds;
    if (WIFEXITED(wstatus)) {
        res->exit_code = WEXITSTATUS(wstatus);
        res->ok = res->exit_code == 0;
    } else if (WIFSIGNALED(wstatus)) {
        res->exit_code = 128 + WTERMSIG(wstatus);
    } else {
        res->exit_code = 255;
    }
    struct stat st;
    if (stat(tmp, &st) != 0 && es_mkdir_p(tmp, err) < 0) return err ? err->code : ES_EIO;
    sw_fmt(path, sizeof path, "%s/log.txt", tmp);
    if (!res->ok) {
        if (WIFSIGNALED(wstatus))
            sw_fmt(res->error, sizeof res->error, "killed by signal %d (%s)", WTERMSIG(wstatus),
                   strsignal(WTERMSIG(wstatus)));
        else
            last_error(path, tmp, name, res->error, sizeof res->error);
        if (!res->error[0]) sw_fmt(res->error, sizeof res->error, "exit status %d", res->exit_code);
    }
    sw_fmt(path, sizeof path, "%s/.command_seconds", tmp);
    char *cs = sw_slurp(path, NULL);
    if (cs) {
        res->cmd_seconds = strtod(cs, NULL);
        free(cs);
        remove(path);
    }
    /* point.json: what ran and how it ended. */
    sbuf b = {0};
    sb_printf(&b, "{\n  \"index\": %zu,\n  \"status\": \"%s\",\n  \"exit\": %d,\n  \"error\": ", i,
              res->ok ? "ok" : "failed", res->exit_code);
    if (res->ok)
        sb_puts(&b, "null");
    else
        sb_json_str(&b, res->error);
    sb_printf(&b, ",\n  \"command\": \"%s\",\n  \"trace\": ", sw_point_command(sw, i));
    if (sw->trace)
        sb_json_str(&b, sw->trace);
    else
        sb_puts(&b, "null");
    if (sw_point_mode(sw, i)) {
        sb_printf(&b, ",\n  \"mode\": \"%s\",\n  \"mode_reason\": ", sw_point_mode(sw, i));
        if (sw_point_mode_reason(sw, i))
            sb_json_str(&b, sw_point_mode_reason(sw, i));
        else
            sb_puts(&b, "null");
    }
    sb_printf(&b, ",\n  \"config_hash\": \"%s\",\n  \"seed\": %llu,\n  \"params\": {",
              sw_point_hash(sw, i), (unsigned long long)sw_point_seed(sw, i));
    for (size_t k = 0; k < sw->ncols; k++) {
        sb_puts(&b, k ? ", " : "");
        sb_json_str(&b, sw->cols[k].key);
        sb_puts(&b, ": ");
        sb_json_str(&b, sw_point_value(sw, i, k));
    }
    sb_printf(&b, "},\n  \"host_seconds\": %.6f,\n  \"command_seconds\": %.6f\n}\n", res->seconds,
              res->cmd_seconds);
    char *json = sb_take(&b);
    if (!json) return es_fail(err, ES_ENOMEM, "out of memory");
    sw_fmt(path, sizeof path, "%s/point.json", tmp);
    es_atomic_file af;
    int rc = es_atomic_open(&af, path, err);
    if (rc == ES_OK) {
        fputs(json, af.fp);
        rc = es_atomic_commit(&af, err);
    }
    free(json);
    if (rc < 0) return rc;
    rm_rf(fin);
    if (rename(tmp, fin) != 0)
        return es_fail(err, ES_EIO, "rename %s -> %s: %s", tmp, fin, strerror(errno));
    return ES_OK;
}

int sw_point_run(const sw_sweep *sw, const char *dir, size_t i, sw_command_fn fn,
                 sw_point_result *res, es_err *err)
{
    double t0 = es_host_seconds();
    pid_t pid;
    ES_TRY(sw_point_spawn(sw, dir, i, fn, &pid, err));
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return es_fail(err, ES_EIO, "waitpid: %s", strerror(errno));
    return sw_point_reap(sw, dir, i, pid, st, es_host_seconds() - t0, res, err);
}
