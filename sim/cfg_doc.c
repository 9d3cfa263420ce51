/* cfg_doc.c - YAML configuration documents: libyaml's document API into a cfg_node tree with
 * file:line:col marks, `include:`/`preset:` resolved by deep merge, `--set` overrides.
 * Duplicate keys and merge keys are rejected here, before any value is interpreted, because
 * libyaml itself accepts both silently. */
#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "cfg.h"

#define CFG_MAX_INCLUDE_DEPTH 16
#define CFG_MAX_DEPTH 256 /* nesting of one document */

/* All nodes and strings of a document live in one arena list so destroy is one walk. */
typedef union cfg_alloc {
    union cfg_alloc *next;
    max_align_t align_; /* payload follows the header, suitably aligned */
} cfg_alloc;

struct cfg_doc {
    cfg_alloc *allocs;
    cfg_node *root;
};

static void *doc_alloc(cfg_doc *doc, size_t size)
{
    cfg_alloc *a = calloc(1, sizeof(cfg_alloc) + size);
    if (!a) return NULL;
    a->next = doc->allocs;
    doc->allocs = a;
    return a + 1;
}

static char *doc_strdup(cfg_doc *doc, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = doc_alloc(doc, n);
    if (p) memcpy(p, s, n);
    return p;
}

static cfg_node *node_new(cfg_doc *doc, cfg_node_kind kind, const char *file, int line, int col)
{
    cfg_node *n = doc_alloc(doc, sizeof *n);
    if (!n) return NULL;
    n->kind = kind;
    n->file = file;
    n->line = line;
    n->col = col;
    return n;
}

/* Grow a node's child arrays to hold `cap` children. */
static int node_reserve(cfg_doc *doc, cfg_node *n, size_t cap)
{
    cfg_node **items = doc_alloc(doc, cap * sizeof *items);
    if (!items) return ES_ENOMEM;
    if (n->n) memcpy(items, n->items, n->n * sizeof *items);
    n->items = items;
    if (n->kind == CFG_MAP) {
        char **keys = doc_alloc(doc, cap * sizeof *keys);
        cfg_node **kn = doc_alloc(doc, cap * sizeof *kn);
        if (!keys || !kn) return ES_ENOMEM;
        if (n->n) {
            memcpy(keys, n->keys, n->n * sizeof *keys);
            memcpy(kn, n->key_nodes, n->n * sizeof *kn);
        }
        n->keys = keys;
        n->key_nodes = kn;
    }
    return ES_OK;
}

void cfg_doc_destroy(cfg_doc *doc)
{
    if (!doc) return;
    for (cfg_alloc *a = doc->allocs; a;) {
        cfg_alloc *next = a->next;
        free(a);
        a = next;
    }
    free(doc);
}

const cfg_node *cfg_doc_root(const cfg_doc *doc) { return doc ? doc->root : NULL; }

const cfg_node *cfg_map_get(const cfg_node *map, const char *key)
{
    if (!map || map->kind != CFG_MAP) return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i], key) == 0) return map->items[i];
    return NULL;
}

/* ---- conversion from libyaml ---------------------------------------------------------- */

typedef struct conv_ctx {
    cfg_doc *doc;
    yaml_document_t *ydoc;
    const char *file;
    es_err *err;
    int depth;
} conv_ctx;

static cfg_node *convert(conv_ctx *c, yaml_node_t *yn)
{
    int line = (int)yn->start_mark.line + 1, col = (int)yn->start_mark.column + 1;
    if (++c->depth > CFG_MAX_DEPTH) {
        es_fail_at(c->err, ES_ECONFIG, c->file, line, col, "nesting too deep");
        return NULL;
    }
    cfg_node *out = NULL;
    switch (yn->type) {
    case YAML_SCALAR_NODE: {
        out = node_new(c->doc, CFG_SCALAR, c->file, line, col);
        if (!out) goto oom;
        out->text = doc_alloc(c->doc, yn->data.scalar.length + 1);
        if (!out->text) goto oom;
        memcpy(out->text, yn->data.scalar.value, yn->data.scalar.length);
        if (memchr(yn->data.scalar.value, '\0', yn->data.scalar.length)) {
            es_fail_at(c->err, ES_ECONFIG, c->file, line, col, "NUL character in a value");
            return NULL;
        }
        out->quoted = yn->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                      yn->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        break;
    }
    case YAML_SEQUENCE_NODE: {
        out = node_new(c->doc, CFG_SEQ, c->file, line, col);
        if (!out) goto oom;
        size_t n = (size_t)(yn->data.sequence.items.top - yn->data.sequence.items.start);
        if (n && node_reserve(c->doc, out, n) < 0) goto oom;
        for (size_t i = 0; i < n; i++) {
            yaml_node_t *child = yaml_document_get_node(c->ydoc, yn->data.sequence.items.start[i]);
            cfg_node *cn = child ? convert(c, child) : NULL;
            if (!cn) return NULL;
            out->items[out->n++] = cn;
        }
        break;
    }
    case YAML_MAPPING_NODE: {
        out = node_new(c->doc, CFG_MAP, c->file, line, col);
        if (!out) goto oom;
        size_t n = (size_t)(yn->data.mapping.pairs.top - yn->data.mapping.pairs.start);
        if (n && node_reserve(c->doc, out, n) < 0) goto oom;
        /* duplicate keys: a linear scan for small maps, a hash of the keys for large ones
           (the built-in defaults are one map of every key) */
        uint32_t *ht = NULL;
        size_t hmask = 0;
        if (n > 16) {
            size_t hs = 64;
            while (hs < 2 * n) hs *= 2;
            ht = calloc(hs, sizeof *ht);
            if (!ht) goto oom;
            hmask = hs - 1;
        }
        for (size_t i = 0; i < n; i++) {
            yaml_node_pair_t *p = &yn->data.mapping.pairs.start[i];
            yaml_node_t *k = yaml_document_get_node(c->ydoc, p->key);
            yaml_node_t *v = yaml_document_get_node(c->ydoc, p->value);
            if (!k || !v) {
                es_fail_at(c->err, ES_ECONFIG, c->file, line, col, "malformed mapping");
                goto map_fail;
            }
            int kl = (int)k->start_mark.line + 1, kc = (int)k->start_mark.column + 1;
            if (k->type != YAML_SCALAR_NODE) {
                es_fail_at(c->err, ES_ECONFIG, c->file, kl, kc, "mapping keys must be plain names");
                goto map_fail;
            }
            const char *key = (const char *)k->data.scalar.value;
            if (strcmp(key, "<<") == 0 && k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
                es_fail_at(c->err, ES_ECONFIG, c->file, kl, kc,
                           "merge keys ('<<') are not supported; use 'include:' with overrides");
                goto map_fail;
            }
            size_t dup = SIZE_MAX, h = 0;
            if (ht) {
                uint32_t f = 2166136261u; /* FNV-1a */
                for (const unsigned char *q = (const unsigned char *)key; *q; q++)
                    f = (f ^ *q) * 16777619u;
                for (h = f & hmask; ht[h]; h = (h + 1) & hmask)
                    if (strcmp(out->keys[ht[h] - 1], key) == 0) {
                        dup = ht[h] - 1;
                        break;
                    }
            } else {
                for (size_t j = 0; j < out->n && dup == SIZE_MAX; j++)
                    if (strcmp(out->keys[j], key) == 0) dup = j;
            }
            if (dup != SIZE_MAX) {
                es_fail_at(c->err, ES_ECONFIG, c->file, kl, kc,
                           "duplicate key '%s' (first defined at line %d)", key,
                           out->key_nodes[dup]->line);
                goto map_fail;
            }
            cfg_node *kn = node_new(c->doc, CFG_SCALAR, c->file, kl, kc);
            char *ks = doc_strdup(c->doc, key);
            if (!kn || !ks) {
                free(ht);
                goto oom;
            }
            kn->text = ks;
            cfg_node *vn = convert(c, v);
            if (!vn) goto map_fail;
            out->keys[out->n] = ks;
            out->key_nodes[out->n] = kn;
            out->items[out->n] = vn;
            if (ht) ht[h] = (uint32_t)out->n + 1;
            out->n++;
        }
        free(ht);
        break;
    map_fail:
        free(ht);
        return NULL;
    }
    default:
        es_fail_at(c->err, ES_ECONFIG, c->file, line, col, "empty YAML node");
        return NULL;
    }
    c->depth--;
    return out;
oom:
    es_fail(c->err, ES_ENOMEM, "out of memory");
    return NULL;
}

/* ---- limits while parsing -------------------------------------------------------------- */

/* libyaml's loader shares an aliased node, but convert() copies it at every use, so a few
 * hundred bytes of nested aliases ("billion laughs") would expand to gigabytes; and the loader
 * builds the whole tree before convert() can check the depth. So one streaming pass over the
 * events first: nesting depth and the expanded node count (an alias counts the nodes of its
 * anchor's subtree) are checked as they grow, with the line:col where the limit is crossed. */
typedef struct anchor_ent {
    char *name;
    uint64_t size;
} anchor_ent;

typedef struct anchor_tab {
    anchor_ent *e;
    size_t cap, n;
} anchor_tab;

static size_t anchor_slot(const anchor_tab *t, const char *name)
{
    size_t h = (size_t)es_fnv1a64(name, strlen(name), ES_FNV1A64_INIT) & (t->cap - 1);
    while (t->e[h].name && strcmp(t->e[h].name, name)) h = (h + 1) & (t->cap - 1);
    return h;
}

static int anchor_set(anchor_tab *t, const char *name, uint64_t size)
{
    if (2 * (t->n + 1) > t->cap) {
        anchor_tab nt = {NULL, t->cap ? 2 * t->cap : 64, 0};
        nt.e = calloc(nt.cap, sizeof *nt.e);
        if (!nt.e) return ES_ENOMEM;
        for (size_t i = 0; i < t->cap; i++)
            if (t->e[i].name) {
                nt.e[anchor_slot(&nt, t->e[i].name)] = t->e[i];
                nt.n++;
            }
        free(t->e);
        *t = nt;
    }
    size_t h = anchor_slot(t, name);
    if (!t->e[h].name) {
        if (!(t->e[h].name = es_strdup(name))) return ES_ENOMEM;
        t->n++;
    }
    t->e[h].size = size; /* a redefined anchor replaces the old one, as in YAML */
    return ES_OK;
}

static void anchor_free(anchor_tab *t)
{
    for (size_t i = 0; i < t->cap; i++) free(t->e[i].name);
    free(t->e);
}

/* Returns ES_OK if the text is within the limits or is not valid YAML (the loader then reports
 * the syntax error as before); ES_ECONFIG with file:line:col if a limit is crossed. */
static int check_limits(const char *text, size_t len, const char *file, es_err *err)
{
    uint64_t max_nodes = es_limit(ES_LIMIT_CFG_NODES, 1000000);
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) return es_fail(err, ES_ENOMEM, "out of memory");
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    anchor_tab at = {NULL, 0, 0};
    struct {
        uint64_t start;
        char *anchor;
    } stack[CFG_MAX_DEPTH + 1];
    int depth = 0, rc = ES_OK, done = 0;
    uint64_t total = 0;
    while (rc == ES_OK && !done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) break; /* the loader reports it with its location */
        int line = (int)ev.start_mark.line + 1, col = (int)ev.start_mark.column + 1;
        const char *anchor = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT: done = 1; break;
        case YAML_SCALAR_EVENT:
            total++;
            anchor = (const char *)ev.data.scalar.anchor;
            if (anchor && anchor_set(&at, anchor, 1) < 0) rc = es_fail(err, ES_ENOMEM, "out of memory");
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            total++;
            anchor = ev.type == YAML_SEQUENCE_START_EVENT ? (const char *)ev.data.sequence_start.anchor
                                                          : (const char *)ev.data.mapping_start.anchor;
            if (depth >= CFG_MAX_DEPTH) {
                rc = es_fail_at(err, ES_ECONFIG, file, line, col,
                                "nesting deeper than %d levels", CFG_MAX_DEPTH);
                break;
            }
            stack[depth].start = total;
            stack[depth].anchor = anchor ? es_strdup(anchor) : NULL;
            if (anchor && !stack[depth].anchor) rc = es_fail(err, ES_ENOMEM, "out of memory");
            depth++;
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (depth > 0) {
                depth--;
                if (stack[depth].anchor &&
                    anchor_set(&at, stack[depth].anchor, total - stack[depth].start + 1) < 0)
                    rc = es_fail(err, ES_ENOMEM, "out of memory");
                free(stack[depth].anchor);
            }
            break;
        case YAML_ALIAS_EVENT: {
            const char *a = (const char *)ev.data.alias.anchor;
            size_t h = at.cap ? anchor_slot(&at, a) : 0;
            /* an unknown anchor is the loader's error to report */
            if (at.cap && at.e[h].name) total += at.e[h].size;
            break;
        }
        default: break;
        }
        if (rc == ES_OK && total > max_nodes)
            rc = es_fail_at(err, ES_ECONFIG, file, line, col,
                            "the document expands to more than %llu nodes (aliases included; "
                            "set %s to raise the limit)",
                            (unsigned long long)max_nodes, ES_LIMIT_CFG_NODES);
        yaml_event_delete(&ev);
    }
    while (depth > 0) free(stack[--depth].anchor);
    anchor_free(&at);
    yaml_parser_delete(&p);
    return rc;
}

static int yaml_error(const yaml_parser_t *p, const char *file, es_err *err)
{
    int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
    const char *what = p->problem ? p->problem : "YAML syntax error";
    if (p->context)
        return es_fail_at(err, ES_ECONFIG, file, line, col, "YAML syntax error: %s %s (line %d)",
                          what, p->context, (int)p->context_mark.line + 1);
    return es_fail_at(err, ES_ECONFIG, file, line, col, "YAML syntax error: %s", what);
}

/* Parse text into a node tree (no include processing). Empty input gives an empty map. */
static int parse_text(cfg_doc *doc, const char *text, size_t len, const char *file,
                      cfg_node **out, es_err *err)
{
    yaml_parser_t parser;
    yaml_document_t ydoc;
    ES_TRY(check_limits(text, len, file, err));
    int rc = ES_OK;
    if (!yaml_parser_initialize(&parser)) return es_fail(err, ES_ENOMEM, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &ydoc)) {
        rc = yaml_error(&parser, file, err);
        yaml_parser_delete(&parser);
        return rc;
    }
    yaml_node_t *root = yaml_document_get_root_node(&ydoc);
    if (!root) {
        *out = node_new(doc, CFG_MAP, file, 1, 1);
        rc = *out ? ES_OK : es_fail(err, ES_ENOMEM, "out of memory");
    } else {
        conv_ctx c = {doc, &ydoc, file, err, 0};
        *out = convert(&c, root);
        rc = *out ? ES_OK : (err && err->code ? err->code : ES_ECONFIG);
    }
    yaml_document_delete(&ydoc);
    if (rc == ES_OK) {
        /* A configuration is exactly one document. */
        yaml_document_t extra;
        if (!yaml_parser_load(&parser, &extra)) {
            rc = yaml_error(&parser, file, err);
        } else {
            yaml_node_t *r2 = yaml_document_get_root_node(&extra);
            if (r2)
                rc = es_fail_at(err, ES_ECONFIG, file, (int)r2->start_mark.line + 1,
                                (int)r2->start_mark.column + 1,
                                "more than one YAML document in a configuration file");
            yaml_document_delete(&extra);
        }
    }
    yaml_parser_delete(&parser);
    return rc;
}

/* ---- merging and includes ------------------------------------------------------------- */

/* Deep-merge `over` into `base` (maps merge key by key, anything else is replaced).
 * Returns the merged node (base, modified, or over). */
static cfg_node *merge(cfg_doc *doc, cfg_node *base, cfg_node *over, int *rc)
{
    if (!base || base->kind != CFG_MAP || over->kind != CFG_MAP) return over;
    for (size_t i = 0; i < over->n; i++) {
        size_t j;
        for (j = 0; j < base->n; j++)
            if (strcmp(base->keys[j], over->keys[i]) == 0) break;
        if (j < base->n) {
            base->items[j] = merge(doc, base->items[j], over->items[i], rc);
            base->key_nodes[j] = over->key_nodes[i];
        } else {
            if (node_reserve(doc, base, base->n + 1) < 0) {
                *rc = ES_ENOMEM;
                return base;
            }
            base->keys[base->n] = over->keys[i];
            base->key_nodes[base->n] = over->key_nodes[i];
            base->items[base->n] = over->items[i];
            base->n++;
        }
    }
    return base;
}

/* Remove key i from a map node. */
static void map_remove(cfg_node *map, size_t i)
{
    for (size_t j = i + 1; j < map->n; j++) {
        map->keys[j - 1] = map->keys[j];
        map->key_nodes[j - 1] = map->key_nodes[j];
        map->items[j - 1] = map->items[j];
    }
    map->n--;
}

static int read_file(const char *path, char **text, size_t *len, es_err *err)
{
    unsigned char *b = NULL;
    ES_TRY(es_read_input(path, "configuration", es_limit(ES_LIMIT_TEXT_BYTES, 16u << 20),
                         ES_LIMIT_TEXT_BYTES, &b, len, err));
    *text = (char *)b;
    return ES_OK;
}

int cfg_find_preset(const char *name, char *path, size_t len)
{
    struct stat st;
    const char *env = getenv("ESSIM_PRESET_PATH");
    if (env && *env) {
        const char *s = env;
        while (*s) {
            const char *e = strchr(s, ':');
            size_t l = e ? (size_t)(e - s) : strlen(s);
            if (l) {
                snprintf(path, len, "%.*s/%s.yaml", (int)l, s, name);
                if (stat(path, &st) == 0) return 1;
            }
            if (!e) break;
            s = e + 1;
        }
    }
#ifdef ES_SRCDIR
    snprintf(path, len, "%s/configs/%s.yaml", ES_SRCDIR, name);
    if (stat(path, &st) == 0) return 1;
#endif
#ifdef ES_PKGDATADIR
    snprintf(path, len, "%s/configs/%s.yaml", ES_PKGDATADIR, name);
    if (stat(path, &st) == 0) return 1;
#endif
    return 0;
}

static int load_file(cfg_doc *doc, const char *path, const char **stack, int depth,
                     const cfg_node *from, cfg_node **out, es_err *err);

/* Path of an included file: relative to the including file's folder. */
static void resolve_relative(const char *base, const char *rel, char *out, size_t len)
{
    if (rel[0] == '/' || !strchr(base, '/')) {
        snprintf(out, len, "%s", rel);
        return;
    }
    const char *slash = strrchr(base, '/');
    snprintf(out, len, "%.*s/%s", (int)(slash - base), base, rel);
}

/* Handle `include:` and `preset:` keys of a root map: load each, merge them in order, then
 * merge the root's own keys on top. */
static int process_includes(cfg_doc *doc, cfg_node *root, const char *file, const char **stack,
                            int depth, cfg_node **out, es_err *err)
{
    cfg_node *base = NULL;
    *out = root;
    if (root->kind != CFG_MAP) return ES_OK;
    for (size_t i = 0; i < root->n;) {
        int is_inc = strcmp(root->keys[i], "include") == 0;
        int is_pre = strcmp(root->keys[i], "preset") == 0;
        if (!is_inc && !is_pre) {
            i++;
            continue;
        }
        cfg_node *v = root->items[i];
        size_t count = v->kind == CFG_SEQ ? v->n : 1;
        for (size_t k = 0; k < count; k++) {
            cfg_node *item = v->kind == CFG_SEQ ? v->items[k] : v;
            if (item->kind != CFG_SCALAR || !item->text[0])
                return es_fail_at(err, ES_ECONFIG, item->file, item->line, item->col,
                                  "'%s' expects a %s or a list of them", root->keys[i],
                                  is_inc ? "file name" : "preset name");
            char path[PATH_MAX];
            if (is_inc) {
                resolve_relative(file, item->text, path, sizeof path);
            } else if (!cfg_find_preset(item->text, path, sizeof path)) {
                return es_fail_at(err, ES_ECONFIG, item->file, item->line, item->col,
                                  "unknown preset '%s' (looked in $ESSIM_PRESET_PATH, the "
                                  "source tree's configs/ and the installed presets)",
                                  item->text);
            }
            cfg_node *inc = NULL;
            ES_TRY(load_file(doc, path, stack, depth, item, &inc, err));
            int rc = ES_OK;
            base = base ? merge(doc, base, inc, &rc) : inc;
            if (rc < 0) return es_fail(err, rc, "out of memory");
        }
        map_remove(root, i);
    }
    if (base) {
        int rc = ES_OK;
        /* `version` of the including file wins like any other key. */
        *out = merge(doc, base, root, &rc);
        if (rc < 0) return es_fail(err, rc, "out of memory");
    }
    return ES_OK;
}

static int check_version(const cfg_node *root, const char *file, es_err *err)
{
    const cfg_node *v = NULL;
    if (root->kind != CFG_MAP)
        return es_fail_at(err, ES_ECONFIG, file, root->line, root->col,
                          "a configuration file must be a mapping of keys to values");
    for (size_t i = 0; i < root->n; i++)
        if (strcmp(root->keys[i], "version") == 0) v = root->items[i];
    if (!v)
        return es_fail_at(err, ES_ECONFIG, file, root->n ? root->key_nodes[0]->line : 1,
                          root->n ? root->key_nodes[0]->col : 1,
                          "missing 'version: 1' at the top of the file");
    if (v->kind != CFG_SCALAR || strcmp(v->text, "1") != 0)
        return es_fail_at(err, ES_ECONFIG, v->file, v->line, v->col,
                          "unsupported configuration version '%s' (this ESSIM reads version 1)",
                          v->kind == CFG_SCALAR ? v->text : "?");
    return ES_OK;
}

static int load_file(cfg_doc *doc, const char *path, const char **stack, int depth,
                     const cfg_node *from, cfg_node **out, es_err *err)
{
    if (depth >= CFG_MAX_INCLUDE_DEPTH)
        return es_fail_at(err, ES_ECONFIG, from->file, from->line, from->col,
                          "includes nested more than %d deep", CFG_MAX_INCLUDE_DEPTH);
    char real[PATH_MAX];
    if (!realpath(path, real)) {
        if (from)
            return es_fail_at(err, ES_ECONFIG, from->file, from->line, from->col,
                              "cannot include '%s': %s", path, strerror(errno));
        return es_fail(err, ES_EIO, "%s: cannot open: %s", path, strerror(errno));
    }
    for (int i = 0; i < depth; i++)
        if (strcmp(stack[i], real) == 0)
            return es_fail_at(err, ES_ECONFIG, from->file, from->line, from->col,
                              "include cycle: '%s' includes itself", path);
    const char *file = doc_strdup(doc, path);
    const char *realp = doc_strdup(doc, real);
    if (!file || !realp) return es_fail(err, ES_ENOMEM, "out of memory");
    stack[depth] = realp;
    char *text = NULL;
    size_t len = 0;
    ES_TRY(read_file(path, &text, &len, err));
    cfg_node *root = NULL;
    int rc = parse_text(doc, text, len, file, &root, err);
    free(text);
    if (rc < 0) return rc;
    ES_TRY(check_version(root, file, err));
    return process_includes(doc, root, file, stack, depth + 1, out, err);
}

int cfg_doc_create_empty(cfg_doc **out, es_err *err)
{
    cfg_doc *doc = calloc(1, sizeof *doc);
    if (!doc) return es_fail(err, ES_ENOMEM, "out of memory");
    doc->root = node_new(doc, CFG_MAP, "(defaults)", 0, 0);
    if (!doc->root) {
        cfg_doc_destroy(doc);
        return es_fail(err, ES_ENOMEM, "out of memory");
    }
    *out = doc;
    return ES_OK;
}

int cfg_doc_load(const char *path, cfg_doc **out, es_err *err)
{
    cfg_doc *doc = calloc(1, sizeof *doc);
    if (!doc) return es_fail(err, ES_ENOMEM, "out of memory");
    const char *stack[CFG_MAX_INCLUDE_DEPTH + 1];
    int rc = load_file(doc, path, stack, 0, NULL, &doc->root, err);
    if (rc < 0) {
        cfg_doc_destroy(doc);
        return rc;
    }
    *out = doc;
    return ES_OK;
}

int cfg_doc_load_string(const char *text, const char *name, cfg_doc **out, es_err *err)
{
    cfg_doc *doc = calloc(1, sizeof *doc);
    if (!doc) return es_fail(err, ES_ENOMEM, "out of memory");
    const char *file = doc_strdup(doc, name);
    const char *stack[CFG_MAX_INCLUDE_DEPTH + 1] = {file};
    cfg_node *root = NULL;
    int rc = file ? parse_text(doc, text, strlen(text), file, &root, err)
                  : es_fail(err, ES_ENOMEM, "out of memory");
    if (rc == ES_OK) rc = check_version(root, file, err);
    if (rc == ES_OK) rc = process_includes(doc, root, file, stack, 1, &doc->root, err);
    if (rc < 0) {
        cfg_doc_destroy(doc);
        return rc;
    }
    *out = doc;
    return ES_OK;
}

/* ---- overrides -------------------------------------------------------------------------- */

static void mark_tree(cfg_node *n, const char *file)
{
    n->file = file;
    n->line = 0;
    n->col = 0;
    for (size_t i = 0; i < n->n; i++) {
        mark_tree(n->items[i], file);
        if (n->kind == CFG_MAP) mark_tree(n->key_nodes[i], file);
    }
}

int cfg_doc_set(cfg_doc *doc, const char *assignment, es_err *err)
{
    char label[600];
    snprintf(label, sizeof label, "--set %s", assignment);
    const char *file = doc_strdup(doc, label);
    if (!file) return es_fail(err, ES_ENOMEM, "out of memory");
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return es_fail_at(err, ES_EUSAGE, file, 0, 0, "expected KEY=VALUE, e.g. arch.xbar.rows=256");
    size_t klen = (size_t)(eq - assignment);
    char *key = doc_alloc(doc, klen + 1);
    if (!key) return es_fail(err, ES_ENOMEM, "out of memory");
    memcpy(key, assignment, klen);
    if (strcmp(key, "include") == 0 || strcmp(key, "preset") == 0 || strcmp(key, "version") == 0)
        return es_fail_at(err, ES_EUSAGE, file, 0, 0, "'%s' cannot be set with --set", key);
    /* Parse the value as a one-line YAML flow node. */
    const char *val = eq + 1;
    cfg_node *vn = NULL;
    if (!*val) {
        vn = node_new(doc, CFG_SCALAR, file, 0, 0);
        if (!vn || !(vn->text = doc_strdup(doc, ""))) return es_fail(err, ES_ENOMEM, "out of memory");
    } else {
        es_err perr;
        es_err_clear(&perr);
        if (parse_text(doc, val, strlen(val), file, &vn, &perr) < 0)
            return es_fail_at(err, ES_ECONFIG, file, 0, 0, "cannot parse value '%s'", val);
    }
    mark_tree(vn, file);
    /* Walk/create the path. */
    cfg_node *cur = doc->root;
    char *seg = key;
    for (;;) {
        char *dot = strchr(seg, '.');
        if (dot) *dot = '\0';
        if (!*seg) return es_fail_at(err, ES_EUSAGE, file, 0, 0, "empty component in key path");
        if (cur->kind != CFG_MAP)
            return es_fail_at(err, ES_ECONFIG, file, 0, 0, "'%s' is not a section", seg);
        size_t i;
        for (i = 0; i < cur->n; i++)
            if (strcmp(cur->keys[i], seg) == 0) break;
        if (i == cur->n) {
            if (node_reserve(doc, cur, cur->n + 1) < 0) return es_fail(err, ES_ENOMEM, "out of memory");
            cfg_node *kn = node_new(doc, CFG_SCALAR, file, 0, 0);
            cfg_node *child = dot ? node_new(doc, CFG_MAP, file, 0, 0) : vn;
            if (!kn || !child) return es_fail(err, ES_ENOMEM, "out of memory");
            kn->text = seg;
            cur->keys[cur->n] = seg;
            cur->key_nodes[cur->n] = kn;
            cur->items[cur->n] = child;
            cur->n++;
        } else if (!dot) {
            cur->items[i] = vn;
            cur->key_nodes[i]->file = file;
            cur->key_nodes[i]->line = cur->key_nodes[i]->col = 0;
        }
        if (!dot) break;
        cur = cur->items[i];
        seg = dot + 1;
    }
    return ES_OK;
}
