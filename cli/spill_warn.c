/* spill_warn.c - the warning of `essim config check` and `essim map` when one training
 * iteration's kept activations do not fit the eDRAM of the tiles that hold them (arch/spill.h):
 * a warning, not an error, since the simulator then spills them to off-chip memory and
 * charges the transfers. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "cli.h"
#include "lop_compile.h"
#include "map.h"
#include "netdesc.h"
#include "spill.h"

void cli_spill_warn(const essim_config *cfg, const char *cmd)
{
    es_err err;
    es_err_clear(&err);
    nn_shape in;
    int classes;
    nn_net *net = NULL;
    map_plan *plan = NULL;
    lop_stream *ops = NULL;
    spill_plan *sp = NULL;
    char name[256] = "";
    map_config mc;
    map_config_from(cfg, &mc);
    size_t n = 0;
    if (!cfg->arch.training) return; /* an inference chip keeps nothing for a backward pass */
    if (lop_dataset_shape(cfg->train.dataset, &in, &classes) < 0 ||
        netdesc_build(cfg->train.network, in, classes, (uint64_t)cfg->seed, &net, name,
                      sizeof name, &err) < 0 ||
        lop_map_net(&mc, net, &plan, &err) < 0 ||
        lop_compile(plan, net, (int)cfg->train.batch, &ops, &err) < 0)
        goto done;
    const lop_op *o = lop_ops(ops, &n);
    if (spill_plan_create(plan, o, n, (uint64_t)cfg->arch.edram.size, &sp, &err) < 0 ||
        !sp->spilled)
        goto done;
    const map_totals *mt = map_plan_totals(plan);
    fprintf(stderr,
            "essim %s: warning: training %s with batch %lld keeps %" PRIu64
            " bytes of activations for the backward pass; the eDRAM of its %" PRIu64
            " weight tiles holds %" PRIu64 " bytes (arch.edram.size %.0f bytes each)%s: %" PRIu64
            " bytes spill to off-chip memory over the off-chip link, written in the forward "
            "pass and read back in the backward pass (",
            cmd, name, (long long)cfg->train.batch, sp->kept, mt->tiles, sp->capacity,
            cfg->arch.edram.size,
            sp->kept > sp->capacity ? ", less than that: they cannot fit on chip at all" : "",
            sp->spilled);
    int shown = 0;
    for (size_t l = 0; l < sp->nlayers; l++) {
        if (!sp->layer_spilled[l]) continue;
        fprintf(stderr, "%s%s %" PRIu64, shown++ ? ", " : "", map_layer_at(plan, l)->name,
                sp->layer_spilled[l]);
    }
    fputs(")\n", stderr);
done:
    spill_plan_destroy(sp);
    lop_destroy(ops);
    map_destroy(plan);
    nn_net_destroy(net);
}
