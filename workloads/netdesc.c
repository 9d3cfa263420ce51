/* netdesc.c - build an nn_net from a preset name or a YAML network description; see
 * netdesc.h for the file format. Errors carry the file:line:col of the offending layer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "netdesc.h"
#include "nn_presets.h"

/* Options of one layer item: a mapping (or NULL when the item is a bare kind). */
typedef struct layer_ctx {
    const cfg_node *item; /* the list item, for positions */
    const cfg_node *opts; /* NULL or a mapping */
    const char *kind;
    int classes;
    es_err *err;
} layer_ctx;

static int at(const cfg_node *n, es_err *err, const char *fmt, const char *a, const char *b)
{
    return es_fail_at(err, ES_ECONFIG, n->file, n->line, n->col, fmt, a, b);
}

/* Reject options the kind does not take. allowed is a NULL-terminated list. */
static int check_opts(const layer_ctx *c, const char *const *allowed)
{
    if (!c->opts) return ES_OK;
    for (size_t i = 0; i < c->opts->n; i++) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++) ok |= !strcmp(*a, c->opts->keys[i]);
        if (!ok)
            return at(c->opts->key_nodes[i], c->err, "unknown option '%s' for layer kind '%s'",
                      c->opts->keys[i], c->kind);
    }
    return ES_OK;
}

static int opt_int(const layer_ctx *c, const char *key, int def, int required, int min, int *out)
{
    const cfg_node *v = cfg_map_get(c->opts, key);
    if (!v) {
        if (required)
            return at(c->item, c->err, "layer '%s' needs option '%s'", c->kind, key);
        *out = def;
        return ES_OK;
    }
    if (v->kind == CFG_SCALAR && !strcmp(key, "out") && !strcmp(v->text, "classes")) {
        *out = c->classes;
        return ES_OK;
    }
    char *end;
    errno = 0;
    long x = v->kind == CFG_SCALAR ? strtol(v->text, &end, 10) : 0;
    if (v->kind != CFG_SCALAR || end == v->text || *end || errno || x < min || x > 1 << 20)
        return es_fail_at(c->err, ES_ECONFIG, v->file, v->line, v->col,
                          "option '%s' of layer '%s' must be an integer >= %d%s", key, c->kind,
                          min, !strcmp(key, "out") ? " or 'classes'" : "");
    *out = (int)x;
    return ES_OK;
}

static int opt_bool(const layer_ctx *c, const char *key, int def, int *out)
{
    const cfg_node *v = cfg_map_get(c->opts, key);
    *out = def;
    if (!v) return ES_OK;
    if (v->kind == CFG_SCALAR && (!strcmp(v->text, "true") || !strcmp(v->text, "yes")))
        *out = 1;
    else if (v->kind == CFG_SCALAR && (!strcmp(v->text, "false") || !strcmp(v->text, "no")))
        *out = 0;
    else
        return at(v, c->err, "option '%s' of layer '%s' must be true or false", key, c->kind);
    return ES_OK;
}

static const char *opt_name(const layer_ctx *c, es_err *err, int *rc)
{
    const cfg_node *v = cfg_map_get(c->opts, "name");
    *rc = ES_OK;
    if (!v) return NULL;
    if (v->kind != CFG_SCALAR || !v->text[0]) {
        *rc = at(v, err, "option 'name' of layer '%s' must be a non-empty string%s", c->kind, "");
        return NULL;
    }
    return v->text;
}

/* Add one layer; nn_add_* errors (shape mismatches) get the layer's position. */
static int add_layer(nn_net *net, const layer_ctx *c)
{
    static const char *const o_conv[] = {"name", "out", "kernel", "stride", "pad", "bias", NULL};
    static const char *const o_pool[] = {"name", "kernel", "stride", "pad", NULL};
    static const char *const o_fc[] = {"name", "out", "bias", NULL};
    static const char *const o_block[] = {"name", "out", "stride", "shortcut", NULL};
    static const char *const o_name[] = {"name", NULL};
    es_err lerr;
    es_err_clear(&lerr);
    int rc, out = 0, k = 0, stride = 1, pad = 0, bias = 1;
    const char *name = opt_name(c, c->err, &rc);
    if (rc < 0) return rc;
    const char *kind = c->kind;
    if (!strcmp(kind, "conv")) {
        ES_TRY(check_opts(c, o_conv));
        ES_TRY(opt_int(c, "out", 0, 1, 1, &out));
        ES_TRY(opt_int(c, "kernel", 0, 1, 1, &k));
        ES_TRY(opt_int(c, "stride", 1, 0, 1, &stride));
        ES_TRY(opt_int(c, "pad", 0, 0, 0, &pad));
        ES_TRY(opt_bool(c, "bias", 1, &bias));
        rc = nn_add_conv(net, name, out, k, stride, pad, bias, &lerr);
    } else if (!strcmp(kind, "maxpool") || !strcmp(kind, "avgpool")) {
        ES_TRY(check_opts(c, o_pool));
        ES_TRY(opt_int(c, "kernel", 0, 1, 1, &k));
        ES_TRY(opt_int(c, "stride", k, 0, 1, &stride));
        ES_TRY(opt_int(c, "pad", 0, 0, 0, &pad));
        rc = kind[0] == 'm' ? nn_add_maxpool(net, name, k, stride, pad, &lerr)
                            : nn_add_avgpool(net, name, k, stride, pad, &lerr);
    } else if (!strcmp(kind, "fc")) {
        ES_TRY(check_opts(c, o_fc));
        ES_TRY(opt_int(c, "out", 0, 1, 1, &out));
        ES_TRY(opt_bool(c, "bias", 1, &bias));
        rc = nn_add_fc(net, name, out, bias, &lerr);
    } else if (!strcmp(kind, "block")) {
        ES_TRY(check_opts(c, o_block));
        ES_TRY(opt_int(c, "out", 0, 1, 1, &out));
        ES_TRY(opt_int(c, "stride", 1, 0, 1, &stride));
        nn_shortcut sc = NN_SHORTCUT_A;
        const cfg_node *s = cfg_map_get(c->opts, "shortcut");
        if (s) {
            if (s->kind == CFG_SCALAR && (!strcmp(s->text, "A") || !strcmp(s->text, "a")))
                sc = NN_SHORTCUT_A;
            else if (s->kind == CFG_SCALAR && (!strcmp(s->text, "B") || !strcmp(s->text, "b")))
                sc = NN_SHORTCUT_B;
            else
                return at(s, c->err, "option 'shortcut' of layer '%s' must be A or B%s", kind, "");
        }
        char prefix[64];
        if (!name) snprintf(prefix, sizeof prefix, "block%d", nn_net_num_nodes(net));
        rc = nn_add_basic_block(net, name ? name : prefix, out, stride, sc, &lerr);
    } else if (!strcmp(kind, "bn") || !strcmp(kind, "relu") || !strcmp(kind, "gap") ||
               !strcmp(kind, "flatten")) {
        ES_TRY(check_opts(c, o_name));
        if (kind[0] == 'b')
            rc = nn_add_bn(net, name, &lerr);
        else if (kind[0] == 'r')
            rc = nn_add_relu(net, name, &lerr);
        else if (kind[0] == 'g')
            rc = nn_add_gap(net, name, &lerr);
        else
            rc = nn_add_flatten(net, name, &lerr);
    } else {
        return at(c->item, c->err,
                  "unknown layer kind '%s' (known: conv, bn, relu, maxpool, avgpool, gap, "
                  "flatten, fc, block)%s",
                  kind, "");
    }
    if (rc < 0)
        return es_fail_at(c->err, rc == ES_ENOMEM ? ES_ENOMEM : ES_ECONFIG, c->item->file,
                          c->item->line, c->item->col, "layer '%s': %s", kind, lerr.msg);
    return ES_OK;
}

static int parse_init(const cfg_node *n, nn_init_opts *o, es_err *err)
{
    static const char *names[] = {"kaiming-fan-in", "kaiming-fan-out", "torch-default"};
    static const nn_init_kind kinds[] = {NN_INIT_KAIMING_FAN_IN, NN_INIT_KAIMING_FAN_OUT,
                                         NN_INIT_TORCH_DEFAULT};
    if (n->kind != CFG_MAP) return at(n, err, "'init' must be a mapping like {conv: %s, fc: %s}",
                                      names[0], names[2]);
    for (size_t i = 0; i < n->n; i++) {
        const cfg_node *v = n->items[i];
        nn_init_kind *dst = !strcmp(n->keys[i], "conv") ? &o->conv
                            : !strcmp(n->keys[i], "fc") ? &o->fc
                                                        : NULL;
        if (!dst) return at(n->key_nodes[i], err, "unknown key '%s' in 'init'%s", n->keys[i], "");
        int found = 0;
        for (size_t j = 0; j < 3; j++)
            if (v->kind == CFG_SCALAR && !strcmp(v->text, names[j])) {
                *dst = kinds[j];
                found = 1;
            }
        if (!found)
            return at(v, err, "unknown initialisation '%s' (kaiming-fan-in, kaiming-fan-out, "
                              "torch-default)%s",
                      v->kind == CFG_SCALAR ? v->text : "?", "");
    }
    return ES_OK;
}

int netdesc_build_doc(const cfg_doc *doc, nn_shape in, int classes, uint64_t seed, nn_net **out,
                 char *name, size_t name_len, es_err *err)
{
    const cfg_node *root = cfg_doc_root(doc);
    const cfg_node *net_node = cfg_map_get(root, "network");
    *out = NULL;
    for (size_t i = 0; i < root->n; i++)
        if (strcmp(root->keys[i], "network") && strcmp(root->keys[i], "version"))
            return at(root->key_nodes[i], err, "unknown key '%s' in a network description "
                                               "(expected 'network')%s",
                      root->keys[i], "");
    if (!net_node || net_node->kind != CFG_MAP)
        return es_fail_at(err, ES_ECONFIG, root->file, root->line ? root->line : 1, 1,
                          "a network description needs a 'network:' mapping with 'layers:'");
    const cfg_node *layers = cfg_map_get(net_node, "layers");
    nn_init_opts init = {NN_INIT_KAIMING_FAN_IN, NN_INIT_TORCH_DEFAULT};
    const char *nname = "custom";
    for (size_t i = 0; i < net_node->n; i++) {
        const char *k = net_node->keys[i];
        const cfg_node *v = net_node->items[i];
        if (!strcmp(k, "name")) {
            if (v->kind != CFG_SCALAR) return at(v, err, "'name' must be a string%s%s", "", "");
            nname = v->text;
        } else if (!strcmp(k, "init")) {
            ES_TRY(parse_init(v, &init, err));
        } else if (strcmp(k, "layers")) {
            return at(net_node->key_nodes[i], err,
                      "unknown key '%s' in 'network' (known: name, init, layers)%s", k, "");
        }
    }
    if (!layers || layers->kind != CFG_SEQ || layers->n == 0)
        return at(layers ? layers : net_node, err, "'network.layers' must be a non-empty list%s%s",
                  "", "");
    nn_net *net = NULL;
    ES_TRY(nn_net_create(in, &net, err));
    int rc = ES_OK;
    for (size_t i = 0; i < layers->n && rc == ES_OK; i++) {
        const cfg_node *item = layers->items[i];
        layer_ctx c = {item, NULL, NULL, classes, err};
        if (item->kind == CFG_SCALAR) {
            c.kind = item->text;
        } else if (item->kind == CFG_MAP && item->n == 1 &&
                   (item->items[0]->kind == CFG_MAP ||
                    (item->items[0]->kind == CFG_SCALAR && !item->items[0]->text[0]))) {
            c.kind = item->keys[0];
            c.opts = item->items[0]->kind == CFG_MAP ? item->items[0] : NULL;
        } else {
            rc = at(item, err, "a layer is a kind ('relu') or one kind with options "
                               "('conv: {out: 6, kernel: 5}')%s%s",
                    "", "");
            break;
        }
        rc = add_layer(net, &c);
    }
    if (rc == ES_OK) {
        es_err ferr;
        es_err_clear(&ferr);
        if (nn_net_finalize(net, &ferr) < 0)
            rc = es_fail_at(err, ES_ECONFIG, layers->file, layers->line, layers->col, "%s",
                            ferr.msg);
    }
    if (rc == ES_OK && nn_net_classes(net) != classes)
        rc = es_fail_at(err, ES_ECONFIG, layers->file, layers->line, layers->col,
                        "the network ends with %d outputs but the dataset has %d classes "
                        "(write 'out: classes' in the last fc layer)",
                        nn_net_classes(net), classes);
    if (rc < 0) {
        nn_net_destroy(net);
        return rc;
    }
    nn_net_set_init(net, &init);
    nn_net_init_params(net, seed);
    if (name) snprintf(name, name_len, "%s", nname);
    *out = net;
    return ES_OK;
}

int netdesc_check(const char *spec, nn_shape in, int classes, es_err *err)
{
    nn_net *net = NULL;
    char name[128];
    /* building is cheap next to training, and finds every error building would */
    int rc = netdesc_build(spec, in, classes, 1, &net, name, sizeof name, err);
    nn_net_destroy(net);
    return rc;
}

int netdesc_build(const char *spec, nn_shape in, int classes, uint64_t seed, nn_net **out, char *name,
             size_t name_len, es_err *err)
{
    /* A spec without a path separator or .yaml suffix is a preset name. */
    size_t l = strlen(spec);
    int is_file = strchr(spec, '/') || (l > 5 && !strcmp(spec + l - 5, ".yaml")) ||
                  (l > 4 && !strcmp(spec + l - 4, ".yml"));
    if (!is_file) {
        ES_TRY(nn_preset_create(spec, in, classes, out, err));
        nn_net_init_params(*out, seed);
        if (name) snprintf(name, name_len, "%s", spec);
        return ES_OK;
    }
    cfg_doc *doc = NULL;
    ES_TRY(cfg_doc_load(spec, &doc, err));
    int rc = netdesc_build_doc(doc, in, classes, seed, out, name, name_len, err);
    cfg_doc_destroy(doc);
    return rc;
}
