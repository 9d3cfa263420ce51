/* bench_kernel.c - events per second of the event kernel in the "hold" model (every handled
 * event schedules one new event at now + a random delay, so the pending count stays fixed),
 * measured against a peer in the same run: a textbook pointer-based binary min-heap (nodes
 * with left/right/parent links, ties broken FIFO by a sequence number, as in libuv's timer
 * heap), written here for the comparison. Absolute rates on a shared machine drift from run to
 * run; the ESSIM/peer ratio, measured in interleaved rounds, is the stable figure.
 *
 * Modes (both through sim_run, i.e. with the run loop's overhead included):
 *   queue  - the handler only reschedules itself with a delay read from a precomputed table
 *            of random delays: the queue plus the dispatch (one indirect call per event).
 *            The peer does the same: pop, indirect call, push.
 *   light  - the handler draws its delay from an rng.h stream (exponential or uniform),
 *            updates a small statistics array and reschedules itself.
 * Both implementations process the identical event sequence (same delays, same FIFO tie
 * breaking); the benchmark checks that their clocks agree after every round.
 *
 * Usage: bench/bench_kernel [--quick] [--rounds R]   (about 20 s; --quick about 5 s) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "es_common.h"
#include "rng.h"
#include "sim_kernel.h"

#define MEAN_DELAY 1000000.0 /* 1 us in ps */
#define TAB_BITS   16
#define TAB_MASK   ((1u << TAB_BITS) - 1)
#define SEED       20240611u

enum { DIST_EXP, DIST_UNI };
enum { MODE_QUEUE, MODE_LIGHT };

static const char *const dist_name[] = {"exp", "uniform"};
static const char *const mode_name[] = {"queue", "light"};

/* Shared by both implementations: where delays come from and the handler's "little work".
 * One handler per implementation serves both modes (a predictable branch on `mode`), so that
 * one prefilled population is measured in both modes. */
typedef struct bench_ctx {
    const uint64_t *tab;
    uint64_t ti;
    rng_stream rng;
    int dist, mode;
    uint64_t acc[256];
} bench_ctx;

static inline uint64_t draw_delay(rng_stream *r, int dist)
{
    if (dist == DIST_EXP) return (uint64_t)(-MEAN_DELAY * log(1.0 - rng_uniform(r)));
    return rng_below(r, (uint64_t)(2 * MEAN_DELAY) + 1);
}

static inline uint64_t next_delay(bench_ctx *c, uint64_t data)
{
    if (c->mode == MODE_QUEUE) return c->tab[c->ti++ & TAB_MASK];
    uint64_t d = draw_delay(&c->rng, c->dist);
    c->acc[data & 255] += d;
    return d;
}

/* ---- ESSIM ------------------------------------------------------------------------------ */

static void essim_handler(sim_kernel *k, void *arg, uint64_t data)
{
    bench_ctx *c = arg;
    sim_schedule(k, next_delay(c, data), SIM_PRIO_DEFAULT, essim_handler, c, data);
}

/* ---- peer: pointer-based binary min-heap ------------------------------------------------ */

typedef struct peer_node peer_node;
typedef struct peer_heap peer_heap;
struct peer_node {
    peer_node *left, *right, *parent;
    uint64_t time, seq, data;
    void (*fn)(peer_heap *h, peer_node *n);
};
struct peer_heap {
    peer_node *root;
    size_t count;
    uint64_t now, seq;
    bench_ctx *ctx;
};

static inline int peer_less(const peer_node *a, const peer_node *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

/* Exchange child c with its parent p by relinking (the nodes themselves never move). */
static void peer_swap_up(peer_heap *h, peer_node *p, peer_node *c)
{
    peer_node *gp = p->parent, *pl = p->left, *pr = p->right;
    p->left = c->left;
    p->right = c->right;
    if (p->left) p->left->parent = p;
    if (p->right) p->right->parent = p;
    if (pl == c) {
        c->left = p;
        c->right = pr;
        if (pr) pr->parent = c;
    } else {
        c->right = p;
        c->left = pl;
        if (pl) pl->parent = c;
    }
    p->parent = c;
    c->parent = gp;
    if (!gp)
        h->root = c;
    else if (gp->left == p)
        gp->left = c;
    else
        gp->right = c;
}

/* Node at 1-based position pos: the bits of pos below its top bit spell the path. */
static peer_node *peer_walk(peer_heap *h, size_t pos, int stop_bit)
{
    peer_node *n = h->root;
    for (int b = 62 - __builtin_clzll((unsigned long long)pos); b >= stop_bit; b--)
        n = (pos >> b) & 1 ? n->right : n->left;
    return n;
}

static void peer_push(peer_heap *h, peer_node *n)
{
    n->left = n->right = n->parent = NULL;
    size_t pos = ++h->count;
    if (pos == 1) {
        h->root = n;
        return;
    }
    peer_node *p = peer_walk(h, pos, 1);
    if (pos & 1)
        p->right = n;
    else
        p->left = n;
    n->parent = p;
    while (n->parent && peer_less(n, n->parent))
        peer_swap_up(h, n->parent, n);
}

static peer_node *peer_pop(peer_heap *h)
{
    peer_node *min = h->root;
    size_t pos = h->count--;
    if (pos == 1) {
        h->root = NULL;
        return min;
    }
    peer_node *last = peer_walk(h, pos, 0);
    if (last->parent->right == last)
        last->parent->right = NULL;
    else
        last->parent->left = NULL;
    last->left = min->left;
    last->right = min->right;
    last->parent = NULL;
    if (last->left) last->left->parent = last;
    if (last->right) last->right->parent = last;
    h->root = last;
    for (;;) {
        peer_node *s = last;
        if (last->left && peer_less(last->left, s)) s = last->left;
        if (last->right && peer_less(last->right, s)) s = last->right;
        if (s == last) break;
        peer_swap_up(h, last, s);
    }
    return min;
}

static void peer_reschedule(peer_heap *h, peer_node *n, uint64_t delay)
{
    n->time = h->now + delay;
    n->seq = h->seq++;
    peer_push(h, n);
}

static void peer_handler(peer_heap *h, peer_node *n)
{
    peer_reschedule(h, n, next_delay(h->ctx, n->data));
}

static void peer_run(peer_heap *h, uint64_t events)
{
    for (uint64_t i = 0; i < events; i++) {
        peer_node *n = peer_pop(h);
        h->now = n->time;
        n->fn(h, n);
    }
}

/* ---- driver ----------------------------------------------------------------------------- */

typedef struct result {
    double essim, peer; /* best events/s over the rounds */
} result;

typedef struct size_cfg {
    size_t npend;
    uint64_t events; /* per round; the peer's speed sets the budget */
    int rounds;
} size_cfg;

/* One population of `npend` events per implementation, measured in both modes. */
static int run_size(const size_cfg *sc, int dist, const uint64_t *tab, result res[2])
{
    size_t npend = sc->npend;
    bench_ctx *ce = calloc(1, sizeof *ce), *cp = calloc(1, sizeof *cp);
    peer_node *nodes = calloc(npend, sizeof *nodes);
    sim_kernel *k = NULL;
    sim_kernel_config cfg = {.initial_capacity = npend};
    int rc = -1;
    if (!ce || !cp || !nodes || sim_kernel_create(&cfg, &k) != ES_OK) goto done;

    ce->tab = cp->tab = tab;
    ce->dist = cp->dist = dist;
    rng_init(&ce->rng, SEED, "bench/handler");
    cp->rng = ce->rng;

    /* Identical initial populations: times drawn from the delay distribution. */
    rng_stream init;
    rng_init(&init, SEED, "bench/init");
    peer_heap ph = {.ctx = cp};
    for (size_t i = 0; i < npend; i++) {
        uint64_t t = draw_delay(&init, dist);
        if (!sim_schedule_at(k, t, SIM_PRIO_DEFAULT, essim_handler, ce, i)) goto done;
        nodes[i].data = i;
        nodes[i].fn = peer_handler;
        peer_reschedule(&ph, &nodes[i], t);
    }

    for (int mode = MODE_QUEUE; mode <= MODE_LIGHT; mode++) {
        ce->mode = cp->mode = mode;
        /* Warm up (caches, and the hold model's steady state). */
        uint64_t warm = npend < sc->events ? npend : sc->events;
        if (warm < sc->events / 4) warm = sc->events / 4;
        sim_run_limits lim = {SIM_TIME_MAX, warm};
        if (sim_run(k, &lim) != SIM_STOP_MAX_EVENTS) goto done;
        peer_run(&ph, warm);

        result *r = &res[mode];
        r->essim = r->peer = 0;
        lim.max_events = sc->events;
        for (int round = 0; round < sc->rounds; round++) {
            double t0 = es_host_seconds();
            if (sim_run(k, &lim) != SIM_STOP_MAX_EVENTS) goto done;
            double t1 = es_host_seconds();
            peer_run(&ph, sc->events);
            double t2 = es_host_seconds();
            /* Same delays, same tie breaking: both must be at the same event. */
            if (sim_now(k) != ph.now || sim_pending(k) != ph.count) {
                fprintf(stderr, "bench_kernel: ESSIM and peer diverged (now %llu vs %llu)\n",
                        (unsigned long long)sim_now(k), (unsigned long long)ph.now);
                goto done;
            }
            r->essim = ES_MAX(r->essim, (double)sc->events / (t1 - t0));
            r->peer = ES_MAX(r->peer, (double)sc->events / (t2 - t1));
        }
    }
    rc = 0;
done:
    sim_kernel_destroy(k);
    free(nodes);
    free(ce);
    free(cp);
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_kernel [--quick] [--rounds R]\n"
                    "  --quick     a quarter of the events per round, 2 rounds (about 5 s)\n"
                    "  --rounds R  rounds per case (default 4, 2 at 10^6; the best is reported)\n");
}

int main(int argc, char **argv)
{
    /* Events per round are sized so that the peer, the slow side, takes about 0.3 s. */
    size_cfg sizes[] = {{1000, 1000000, 4}, {100000, 1000000, 4}, {1000000, 250000, 2}};
    int quick = 0, rounds = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            quick = 1;
        } else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
            rounds = atoi(argv[++i]);
            if (rounds < 1) {
                usage();
                return 2;
            }
        } else {
            usage();
            return 2;
        }
    }
    for (size_t i = 0; i < ES_ARRAY_LEN(sizes); i++) {
        if (quick) {
            sizes[i].events /= 4;
            sizes[i].rounds = 2;
        }
        if (rounds) sizes[i].rounds = rounds;
    }

    uint64_t *tab = malloc(sizeof(uint64_t) << TAB_BITS);
    if (!tab) return 1;
    printf("# hold model (each event schedules one at now + random delay), mean delay %.0f ps\n",
           MEAN_DELAY);
    printf("# queue: handler only reschedules (delay from a precomputed random table)\n");
    printf("# light: handler draws its delay from rng.h and updates a statistic\n");
    printf("# both through sim_run; peer: pointer-based binary heap, pop + push per event\n");
    printf("# best of R interleaved rounds; ratio = essim / peer\n");
    printf("%-8s %-8s %-6s %9s %14s %14s %8s\n", "pending", "delay", "mode", "events", "essim_ev/s",
           "peer_ev/s", "ratio");
    double t_start = es_host_seconds();
    for (size_t si = 0; si < ES_ARRAY_LEN(sizes); si++) {
        for (int dist = DIST_EXP; dist <= DIST_UNI; dist++) {
            rng_stream tr;
            rng_init(&tr, SEED, "bench/table");
            for (size_t i = 0; i <= TAB_MASK; i++)
                tab[i] = draw_delay(&tr, dist);
            result res[2];
            if (run_size(&sizes[si], dist, tab, res) != 0) {
                fprintf(stderr, "bench_kernel: case failed\n");
                free(tab);
                return 1;
            }
            for (int mode = MODE_QUEUE; mode <= MODE_LIGHT; mode++) {
                printf("%-8zu %-8s %-6s %9llu %14.0f %14.0f %8.2f\n", sizes[si].npend,
                       dist_name[dist], mode_name[mode], (unsigned long long)sizes[si].events,
                       res[mode].essim, res[mode].peer, res[mode].essim / res[mode].peer);
            }
            fflush(stdout);
        }
    }
    printf("# total %.1f s\n", es_host_seconds() - t_start);
    free(tab);
    return 0;
}
