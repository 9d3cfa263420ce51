/* test_kernel.c - the event kernel: ordering, cancellation, run limits, clock domains, and a
 * randomized comparison against a reference queue (a plain array searched for the minimum
 * (time, priority, sequence)) over every tier of the ladder. */
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "sim_kernel.h"
#include "tap.h"

/* ---- helpers ---------------------------------------------------------------------------- */

typedef struct logbuf {
    uint64_t *v;
    sim_time *t;
    size_t n, cap;
} logbuf;

static void log_push(logbuf *l, uint64_t v, sim_time t)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        l->t = realloc(l->t, l->cap * sizeof *l->t);
        if (!l->v || !l->t) abort();
    }
    l->v[l->n] = v;
    l->t[l->n] = t;
    l->n++;
}

static void log_free(logbuf *l)
{
    free(l->v);
    free(l->t);
    memset(l, 0, sizeof *l);
}

static void log_handler(sim_kernel *k, void *arg, uint64_t data)
{
    log_push(arg, data, sim_now(k));
}

static sim_kernel *new_kernel(void)
{
    sim_kernel *k = NULL;
    if (sim_kernel_create(NULL, &k) != ES_OK || !k) abort();
    return k;
}

/* ---- time ------------------------------------------------------------------------------- */

static void t_time_units(void)
{
    CHECK_UINT(SIM_NS(1), 1000);
    CHECK_UINT(SIM_US(3), 3000000);
    CHECK_UINT(SIM_MS(2), UINT64_C(2000000000));
    CHECK_UINT(SIM_S(1), UINT64_C(1000000000000));
    CHECK_NEAR(sim_time_to_ns(SIM_NS(7)), 7.0, 1e-12);
    CHECK_NEAR(sim_time_to_us(SIM_US(7)), 7.0, 1e-12);
    CHECK_NEAR(sim_time_to_s(SIM_S(2)), 2.0, 1e-12);
    CHECK_UINT(sim_time_from_ns(1.5), 1500);
    CHECK_UINT(sim_time_from_ns(0.0004), 0);
    CHECK_UINT(sim_time_from_ns(-3.0), 0);
    CHECK_UINT(sim_time_from_s(1e-9), 1000);
    CHECK_UINT(sim_time_from_s(1e30), SIM_TIME_MAX);
    CHECK_UINT(sim_period_from_hz(1e9), 1000);
    CHECK_UINT(sim_period_from_hz(3e9), 333);
    CHECK_UINT(sim_period_from_hz(0.0), 0);
}

/* ---- lifecycle -------------------------------------------------------------------------- */

static void t_create_destroy(void)
{
    sim_kernel_destroy(NULL);
    sim_kernel *k = NULL;
    CHECK_INT(sim_kernel_create(NULL, &k), ES_OK);
    CHECK(k != NULL);
    CHECK_UINT(sim_now(k), 0);
    CHECK_UINT(sim_pending(k), 0);
    CHECK_UINT(sim_events_executed(k), 0);
    sim_kernel_destroy(k);

    sim_kernel_config bad = {.max_pending = SIM_MAX_PENDING + 1};
    k = (sim_kernel *)&bad;
    CHECK_INT(sim_kernel_create(&bad, &k), ES_EINVAL);
    CHECK(k == NULL);
    sim_kernel_config big = {.initial_capacity = 100000};
    CHECK_INT(sim_kernel_create(&big, &k), ES_OK);
    sim_kernel_destroy(k);
}

/* ---- ordering --------------------------------------------------------------------------- */

static void t_order_time_prio_fifo(void)
{
    sim_kernel *k = new_kernel();
    logbuf l = {0};
    /* data encodes the expected rank. */
    sim_schedule_at(k, 300, 0, log_handler, &l, 7);
    sim_schedule_at(k, 100, 5, log_handler, &l, 3);
    sim_schedule_at(k, 100, -5, log_handler, &l, 0);
    sim_schedule_at(k, 100, 0, log_handler, &l, 1);
    sim_schedule_at(k, 200, 0, log_handler, &l, 4);
    sim_schedule_at(k, 100, 0, log_handler, &l, 2);
    sim_schedule_at(k, 200, 0, log_handler, &l, 5);
    sim_schedule_at(k, 200, SIM_PRIO_MAX, log_handler, &l, 6);
    sim_schedule_at(k, 300, SIM_PRIO_MIN, log_handler, &l, 6); /* runs before 7: lower prio */
    CHECK_UINT(sim_pending(k), 9);
    CHECK_INT(sim_run(k, NULL), SIM_STOP_EMPTY);
    CHECK_UINT(l.n, 9);
    static const uint64_t want[] = {0, 1, 2, 3, 4, 5, 6, 6, 7};
    int ok = 1;
    for (size_t i = 0; i < l.n && i < 9; i++)
        ok &= l.v[i] == want[i];
    CHECK_MSG(ok, "order by time, then priority, then FIFO");
    CHECK_UINT(sim_now(k), 300);
    CHECK_UINT(sim_events_executed(k), 9);
    CHECK_UINT(sim_pending(k), 0);
    log_free(&l);
    sim_kernel_destroy(k);
}

/* Many events at one time and priority, scheduled from outside and from handlers: FIFO. */
static void t_fifo_many_equal(void)
{
    sim_kernel *k = new_kernel();
    logbuf l = {0};
    const uint64_t n = 20000;
    for (uint64_t i = 0; i < n; i++)
        sim_schedule_at(k, 5000, 1, log_handler, &l, i);
    /* Interleave another time so that the queue is not trivially one bucket. */
    for (uint64_t i = 0; i < n; i++)
        sim_schedule_at(k, 4000 + (i % 7) * 1000, 1, log_handler, &l, n + i);
    CHECK_INT(sim_run(k, NULL), SIM_STOP_EMPTY);
    CHECK_UINT(l.n, 2 * n);
    int ok = 1;
    for (size_t i = 1; i < l.n; i++) {
        if (l.t[i] < l.t[i - 1]) ok = 0;
        /* Among equal times, data must increase... except that at time 5000 the first n
         * (scheduled first) precede the ones from the second loop. */
        if (l.t[i] == l.t[i - 1] && l.v[i] < l.v[i - 1]) ok = 0;
    }
    CHECK_MSG(ok, "non-decreasing time, FIFO among equal time and priority");
    log_free(&l);
    sim_kernel_destroy(k);
}

typedef struct chain_ctx {
    logbuf l;
    int prio_next;
} chain_ctx;

static void now_child(sim_kernel *k, void *arg, uint64_t data)
{
    chain_ctx *c = arg;
    log_push(&c->l, data, sim_now(k));
}

static void now_parent(sim_kernel *k, void *arg, uint64_t data)
{
    chain_ctx *c = arg;
    log_push(&c->l, data, sim_now(k));
    /* Scheduled for now: a lower priority runs before the already pending (100, prio 0)
     * event, an equal one after it. */
    sim_schedule(k, 0, -1, now_child, c, 10);
    sim_schedule(k, 0, 0, now_child, c, 30);
}

static void t_schedule_now_from_handler(void)
{
    sim_kernel *k = new_kernel();
    chain_ctx c = {0};
    sim_schedule_at(k, 100, 0, now_parent, &c, 1);
    sim_schedule_at(k, 100, 0, now_child, &c, 20);
    sim_schedule_at(k, 101, -9, now_child, &c, 40);
    CHECK_INT(sim_run(k, NULL), SIM_STOP_EMPTY);
    CHECK_UINT(c.l.n, 5);
    static const uint64_t want[] = {1, 10, 20, 30, 40};
    int ok = c.l.n == 5;
    for (size_t i = 0; ok && i < 5; i++)
        ok &= c.l.v[i] == want[i];
    CHECK_MSG(ok, "events scheduled for now run in (priority, FIFO) order");
    log_free(&c.l);
    sim_kernel_destroy(k);
}

/* ---- cancellation ----------------------------------------------------------------------- */

typedef struct cancel_ctx {
    logbuf l;
    sim_event_id self, other;
    int self_rc, other_rc;
} cancel_ctx;

static void cancel_handler(sim_kernel *k, void *arg, uint64_t data)
{
    cancel_ctx *c = arg;
    log_push(&c->l, data, sim_now(k));
    if (data == 1) {
        c->self_rc = sim_cancel(k, c->self);   /* running: already consumed */
        c->other_rc = sim_cancel(k, c->other); /* pending: cancelled */
    }
}

static void t_cancel(void)
{
    sim_kernel *k = new_kernel();
    cancel_ctx c = {0};
    CHECK_INT(sim_cancel(k, 0), 0);
    CHECK_INT(sim_cancel(k, UINT64_C(0xdeadbeef00000007)), 0);
    sim_event_id a = sim_schedule_at(k, 10, 0, cancel_handler, &c, 0);
    c.self = sim_schedule_at(k, 20, 0, cancel_handler, &c, 1);
    c.other = sim_schedule_at(k, 30, 0, cancel_handler, &c, 2);
    sim_event_id d = sim_schedule_at(k, 40, 0, cancel_handler, &c, 3);
    CHECK(a && c.self && c.other && d);
    CHECK(sim_event_pending(k, d));
    CHECK_INT(sim_cancel(k, d), 1);
    CHECK(!sim_event_pending(k, d));
    CHECK_INT(sim_cancel(k, d), 0);
    CHECK_UINT(sim_pending(k), 3);
    CHECK_INT(sim_run(k, NULL), SIM_STOP_EMPTY);
    CHECK_UINT(c.l.n, 2);
    CHECK(c.l.n == 2 && c.l.v[0] == 0 && c.l.v[1] == 1);
    CHECK_INT(c.self_rc, 0);
    CHECK_INT(c.other_rc, 1);
    CHECK_INT(sim_cancel(k, a), 0); /* already ran */
    CHECK_UINT(sim_now(k), 20);     /* cancelled events do not advance time */
    CHECK_UINT(sim_events_executed(k), 2);

    /* A stale handle whose slot has been reused: must neither report nor cancel. */
    sim_event_id e = sim_schedule(k, 5, 0, cancel_handler, &c, 4);
    CHECK_INT(sim_run(k, NULL), SIM_STOP_EMPTY);
    sim_event_id f = sim_schedule(k, 5, 0, cancel_handler, &c, 5);
    CHECK_UINT(e & 0xffffffffu, f & 0xffffffffu); /* same slot (LIFO reuse) */
    CHECK(e != f);
    CHECK_INT(sim_cancel(k, e), 0);
    CHECK(sim_event_pending(k, f));
    CHECK_INT(sim_run(k, NULL), SIM_STOP_EMPTY);
    CHECK_UINT(c.l.v[c.l.n - 1], 5);
    log_free(&c.l);
    sim_kernel_destroy(k);
}

/* Cancel most of a large population (exercises compaction) and check the survivors. */
static void t_cancel_mass(void)
{
    sim_kernel *k = new_kernel();
    logbuf l = {0};
    rng_stream r;
    rng_init(&r, 7, "test/cancel_mass");
    enum { N = 30000 };
    sim_event_id *ids = malloc(N * sizeof *ids);
    for (uint64_t i = 0; i < N; i++)
        ids[i] = sim_schedule_at(k, rng_below(&r, 1000000), 0, log_handler, &l, i);
    size_t kept = 0, cancelled = 0, still = 0;
    for (uint64_t i = 0; i < N; i++) {
        if (i % 10 == 3)
            kept++;
        else
            cancelled += (size_t)sim_cancel(k, ids[i]);
    }
    CHECK_UINT(cancelled, N - kept);
    CHECK_UINT(sim_pending(k), kept);
    for (uint64_t i = 0; i < N; i++)
        still += (size_t)sim_event_pending(k, ids[i]);
    CHECK_UINT(still, kept);
    CHECK_INT(sim_run(k, NULL), SIM_STOP_EMPTY);
    CHECK_UINT(l.n, kept);
    int ok = 1;
    for (size_t i = 0; i < l.n; i++)
        ok &= l.v[i] % 10 == 3 && (i == 0 || l.t[i] >= l.t[i - 1]);
    CHECK_MSG(ok, "only survivors ran, in time order");
    free(ids);
    log_free(&l);
    sim_kernel_destroy(k);
}

/* ---- errors ----------------------------------------------------------------------------- */

static void noop(sim_kernel *k, void *arg, uint64_t data)
{
    (void)k;
    (void)arg;
    (void)data;
}

static void t_schedule_errors(void)
{
    sim_kernel *k = new_kernel();
    CHECK(sim_schedule_at(k, 1000, 0, noop, NULL, 0));
    CHECK_INT(sim_run(k, NULL), SIM_STOP_EMPTY);
    CHECK_UINT(sim_now(k), 1000);
    CHECK_UINT(sim_schedule_at(k, 999, 0, noop, NULL, 0), 0);
    CHECK_INT(sim_last_error(k), ES_ERANGE);
    CHECK(sim_schedule_at(k, 1000, 0, noop, NULL, 0)); /* now is not the past */
    CHECK_UINT(sim_schedule(k, SIM_TIME_MAX, 0, noop, NULL, 0), 0);
    CHECK_INT(sim_last_error(k), ES_ERANGE);
    CHECK_UINT(sim_schedule(k, 1, 0, NULL, NULL, 0), 0);
    CHECK_INT(sim_last_error(k), ES_EINVAL);
    CHECK_UINT(sim_schedule(k, 1, SIM_PRIO_MAX + 1, noop, NULL, 0), 0);
    CHECK_UINT(sim_schedule(k, 1, SIM_PRIO_MIN - 1, noop, NULL, 0), 0);
    CHECK_INT(sim_last_error(k), ES_EINVAL);
    CHECK_UINT(sim_pending(k), 1);
    sim_kernel_destroy(k);

    sim_kernel_config cfg = {.max_pending = 3};
    CHECK_INT(sim_kernel_create(&cfg, &k), ES_OK);
    for (int i = 0; i < 3; i++)
        CHECK(sim_schedule(k, 5, 0, noop, NULL, 0));
    CHECK_UINT(sim_schedule(k, 5, 0, noop, NULL, 0), 0);
    CHECK_INT(sim_last_error(k), ES_ERANGE);
    CHECK_INT(sim_run(k, NULL), SIM_STOP_EMPTY);
    CHECK(sim_schedule(k, 5, 0, noop, NULL, 0));
    sim_kernel_destroy(k);
}

/* ---- run limits ------------------------------------------------------------------------- */

static void t_run_until(void)
{
    sim_kernel *k = new_kernel();
    logbuf l = {0};
    for (uint64_t t = 10; t <= 40; t += 10)
        sim_schedule_at(k, t, 0, log_handler, &l, t);
    sim_run_limits lim = {20, 0};
    CHECK_INT(sim_run(k, &lim), SIM_STOP_UNTIL);
    CHECK_UINT(l.n, 2); /* an event at exactly `until` runs */
    CHECK_UINT(sim_now(k), 20);
    lim.until = 25;
    CHECK_INT(sim_run(k, &lim), SIM_STOP_UNTIL);
    CHECK_UINT(l.n, 2);
    CHECK_UINT(sim_now(k), 25); /* advanced to until */
    sim_time nt = 0;
    CHECK_INT(sim_next_time(k, &nt), 1);
    CHECK_UINT(nt, 30);
    lim.until = 1000;
    CHECK_INT(sim_run(k, &lim), SIM_STOP_EMPTY);
    CHECK_UINT(sim_now(k), 40); /* the queue emptied first: now stays at the last event */
    CHECK_INT(sim_next_time(k, &nt), 0);
    lim = SIM_RUN_LIMITS_NONE;
    CHECK_INT(sim_run(k, &lim), SIM_STOP_EMPTY);
    CHECK_UINT(sim_now(k), 40);
    log_free(&l);
    sim_kernel_destroy(k);
}

static void t_run_max_events(void)
{
    sim_kernel *k = new_kernel();
    logbuf l = {0};
    for (uint64_t t = 1; t <= 10; t++)
        sim_schedule_at(k, t, 0, log_handler, &l, t);
    sim_run_limits lim = {SIM_TIME_MAX, 3};
    CHECK_INT(sim_run(k, &lim), SIM_STOP_MAX_EVENTS);
    CHECK_UINT(l.n, 3);
    CHECK_UINT(sim_events_executed(k), 3);
    CHECK_UINT(sim_pending(k), 7);
    CHECK_INT(sim_run(k, &lim), SIM_STOP_MAX_EVENTS);
    CHECK_UINT(l.n, 6);
    lim.max_events = 100;
    CHECK_INT(sim_run(k, &lim), SIM_STOP_EMPTY);
    CHECK_UINT(sim_events_executed(k), 10);
    lim.max_events = 4; /* exactly the remaining count: the count limit is reported */
    for (uint64_t t = 11; t <= 14; t++)
        sim_schedule_at(k, t, 0, log_handler, &l, t);
    CHECK_INT(sim_run(k, &lim), SIM_STOP_MAX_EVENTS);
    log_free(&l);
    sim_kernel_destroy(k);
}

static void stopper(sim_kernel *k, void *arg, uint64_t data)
{
    log_push(arg, data, sim_now(k));
    if (data == 2) sim_stop(k);
}

static void nested_runner(sim_kernel *k, void *arg, uint64_t data)
{
    (void)data;
    *(int *)arg = sim_run(k, NULL);
}

static void t_run_stop_and_empty(void)
{
    sim_kernel *k = new_kernel();
    logbuf l = {0};
    CHECK_INT(sim_run(k, NULL), SIM_STOP_EMPTY); /* empty queue */
    CHECK_UINT(sim_now(k), 0);
    for (uint64_t t = 1; t <= 4; t++)
        sim_schedule_at(k, t, 0, stopper, &l, t);
    sim_run_limits lim = {SIM_TIME_MAX, 2}; /* stop request wins over the count */
    CHECK_INT(sim_run(k, &lim), SIM_STOP_REQUESTED);
    CHECK_UINT(l.n, 2);
    CHECK_UINT(sim_now(k), 2);
    sim_stop(k); /* outside a run: forgotten */
    CHECK_INT(sim_run(k, NULL), SIM_STOP_EMPTY);
    CHECK_UINT(l.n, 4);

    int nested = 0;
    sim_schedule(k, 1, 0, nested_runner, &nested, 0);
    CHECK_INT(sim_run(k, NULL), SIM_STOP_EMPTY);
    CHECK_INT(nested, ES_ESTATE);
    log_free(&l);
    sim_kernel_destroy(k);
}

/* ---- names ------------------------------------------------------------------------------ */

typedef struct name_ctx {
    const char *seen;
} name_ctx;

static void name_handler(sim_kernel *k, void *arg, uint64_t data)
{
    (void)data;
    ((name_ctx *)arg)->seen = sim_current_event_name(k);
}

static void t_names(void)
{
    sim_kernel *k = new_kernel();
    name_ctx c = {0};
    sim_event_id a = sim_schedule(k, 5, 0, name_handler, &c, 0);
    CHECK(sim_event_name(k, a) == NULL);
    CHECK_INT(sim_event_set_name(k, a, "xbar.read"), ES_OK);
    CHECK_STR(sim_event_name(k, a), "xbar.read");
    CHECK_INT(sim_run(k, NULL), SIM_STOP_EMPTY);
    CHECK(c.seen && strcmp(c.seen, "xbar.read") == 0);
    CHECK(sim_current_event_name(k) == NULL);
    CHECK_INT(sim_event_set_name(k, a, "late"), ES_EINVAL);      /* no longer pending */
    sim_event_id b = sim_schedule(k, 5, 0, name_handler, &c, 0); /* reuses a's slot */
    CHECK(sim_event_name(k, b) == NULL);
    CHECK_INT(sim_run(k, NULL), SIM_STOP_EMPTY);
    CHECK(c.seen == NULL);
    sim_kernel_destroy(k);
}

/* ---- clock domains ---------------------------------------------------------------------- */

typedef struct comp {
    sim_clock *clk;
    sim_comp_id id;
    int ticks_left; /* stay awake for this many ticks */
    uint64_t first_cycle, last_cycle;
    sim_time first_time;
    int nticks;
    logbuf *order; /* shared log of (component tag, cycle) */
    uint64_t tag;
    struct comp *wake_other; /* wake this one on the first tick */
    int wake_self;           /* wake itself on the first tick, then return 0 */
} comp;

static int comp_tick(sim_kernel *k, void *arg, uint64_t cycle)
{
    comp *c = arg;
    if (c->nticks == 0) {
        c->first_cycle = cycle;
        c->first_time = sim_now(k);
        if (c->wake_other) sim_clock_wake(c->wake_other->clk, c->wake_other->id);
        if (c->wake_self) {
            c->wake_self = 0;
            sim_clock_wake(c->clk, c->id);
            c->nticks++;
            c->last_cycle = cycle;
            if (c->order) log_push(c->order, c->tag, cycle);
            return 0;
        }
    }
    c->nticks++;
    c->last_cycle = cycle;
    if (c->order) log_push(c->order, c->tag, cycle);
    if (sim_clock_cycle(c->clk) != cycle) c->tag |= UINT64_C(1) << 63; /* flag a mismatch */
    return --c->ticks_left > 0;
}

static void comp_attach(sim_clock *clk, comp *c, int ticks)
{
    c->clk = clk;
    c->ticks_left = ticks;
    if (sim_clock_attach(clk, comp_tick, c, &c->id) != ES_OK) abort();
}

static void t_clock_one_event_per_cycle(void)
{
    sim_kernel *k = new_kernel();
    sim_clock *clk;
    CHECK_INT(sim_clock_create(k, "core", 1000, 0, &clk), ES_OK);
    CHECK_STR(sim_clock_name(clk), "core");
    CHECK_UINT(sim_clock_period(clk), 1000);
    comp c[3] = {{0}};
    comp_attach(clk, &c[0], 10);
    comp_attach(clk, &c[1], 10);
    comp_attach(clk, &c[2], 4);
    CHECK_UINT(sim_pending(k), 0); /* attached components sleep */
    for (int i = 0; i < 3; i++)
        CHECK_INT(sim_clock_wake(clk, c[i].id), ES_OK);
    CHECK_UINT(sim_pending(k), 1); /* one domain event, not three */
    CHECK_INT(sim_run(k, NULL), SIM_STOP_EMPTY);
    /* Cycles 1..10 active: exactly 10 queue events. */
    CHECK_UINT(sim_events_executed(k), 10);
    CHECK_UINT(sim_clock_edges(clk), 10);
    CHECK_INT(c[0].nticks, 10);
    CHECK_INT(c[2].nticks, 4);
    CHECK_UINT(c[0].first_cycle, 1); /* woken at 0: first edge strictly after is cycle 1 */
    CHECK_UINT(c[0].first_time, 1000);
    CHECK_UINT(c[0].last_cycle, 10);
    CHECK_UINT(sim_now(k), 10000);
    CHECK_UINT(sim_pending(k), 0); /* all asleep: nothing scheduled */
    CHECK(!sim_clock_awake(clk, c[0].id));
    CHECK_INT(sim_clock_wake(clk, 99), ES_EINVAL);
    sim_kernel_destroy(k);
}

static void t_clock_sleeping_costs_nothing(void)
{
    sim_kernel *k = new_kernel();
    sim_clock *clk;
    CHECK_INT(sim_clock_create(k, "idle", 500, 0, &clk), ES_OK);
    comp c[100];
    memset(c, 0, sizeof c);
    for (int i = 0; i < 100; i++)
        comp_attach(clk, &c[i], 1);
    CHECK_INT(sim_run(k, NULL), SIM_STOP_EMPTY);
    CHECK_UINT(sim_events_executed(k), 0);
    for (int i = 0; i < 100; i++)
        sim_clock_wake(clk, c[i].id);
    CHECK_INT(sim_run(k, NULL), SIM_STOP_EMPTY);
    CHECK_UINT(sim_events_executed(k), 1); /* one edge ticked all 100, then all slept */
    CHECK_UINT(sim_pending(k), 0);
    sim_kernel_destroy(k);
}

typedef struct waker {
    sim_clock *clk;
    sim_comp_id id;
} waker;

static void wake_event(sim_kernel *k, void *arg, uint64_t data)
{
    (void)k;
    (void)data;
    waker *w = arg;
    sim_clock_wake(w->clk, w->id);
}

static void t_clock_wake_timing(void)
{
    sim_kernel *k = new_kernel();
    sim_clock *clk;
    CHECK_INT(sim_clock_create(k, "c", 1000, 250, &clk), ES_OK); /* edges at 250, 1250... */
    CHECK_UINT(sim_clock_edge_time(clk, 0), 250);
    CHECK_UINT(sim_clock_edge_time(clk, 3), 3250);
    CHECK_UINT(sim_clock_edge_time(clk, UINT64_MAX), SIM_TIME_MAX);
    CHECK_UINT(sim_clock_cycle(clk), 0);
    CHECK_UINT(sim_clock_next_cycle(clk), 0); /* now 0 < phase: cycle 0 is ahead */

    comp a = {0}, b = {0}, e = {0};
    comp_attach(clk, &a, 1);
    comp_attach(clk, &b, 1);
    comp_attach(clk, &e, 1);
    waker wa = {clk, a.id}, wb = {clk, b.id};
    /* Woken between edges (at 1700): ticks at the next edge, cycle 2 (2250). */
    sim_schedule_at(k, 1700, 0, wake_event, &wa, 0);
    /* Woken at exactly an edge time (3250, cycle 3) by an event that runs before the edge
     * would: still ticks strictly after, at cycle 4 (4250). */
    sim_schedule_at(k, 3250, SIM_PRIO_MIN, wake_event, &wb, 0);
    /* Keep the domain busy at cycle 3 so that its edge event at 3250 exists. */
    waker we = {clk, e.id};
    sim_schedule_at(k, 3000, 0, wake_event, &we, 0);
    CHECK_INT(sim_run(k, NULL), SIM_STOP_EMPTY);
    CHECK_UINT(a.first_cycle, 2);
    CHECK_UINT(a.first_time, 2250);
    CHECK_UINT(e.first_cycle, 3);
    CHECK_UINT(b.first_cycle, 4);
    CHECK_UINT(b.first_time, 4250);
    CHECK_UINT(sim_clock_cycle(clk), 4);
    CHECK_UINT(sim_clock_next_cycle(clk), 5);
    CHECK_UINT(sim_events_executed(k), 3 + 3); /* three wake events, three edges */
    sim_kernel_destroy(k);
}

static void t_clock_wake_during_tick(void)
{
    sim_kernel *k = new_kernel();
    sim_clock *clk;
    CHECK_INT(sim_clock_create_hz(k, "f", 1e9, 0, &clk), ES_OK);
    CHECK_UINT(sim_clock_period(clk), 1000);
    logbuf order = {0};
    comp c[4] = {{0}};
    for (int i = 0; i < 4; i++) {
        comp_attach(clk, &c[i], 1);
        c[i].order = &order;
        c[i].tag = (uint64_t)i;
    }
    c[2].wake_other = &c[0]; /* 0 is before 2: ticks next edge */
    c[2].wake_self = 1;      /* returns 0 but woke itself: ticks next edge too */
    c[1].wake_other = &c[3]; /* 3 is after 1 and asleep: must not tick in this edge */
    sim_clock_wake(clk, c[2].id);
    sim_clock_wake(clk, c[1].id);
    CHECK_INT(sim_run(k, NULL), SIM_STOP_EMPTY);
    /* Edge 1: components 1, 2 (attach order, though woken 2 first). Edge 2: 0, 2, 3. */
    static const uint64_t want_tag[] = {1, 2, 0, 2, 3};
    static const uint64_t want_cyc[] = {1, 1, 2, 2, 2};
    int ok = order.n == 5;
    for (size_t i = 0; ok && i < 5; i++)
        ok &= order.v[i] == want_tag[i] && order.t[i] == want_cyc[i];
    CHECK_MSG(ok, "tick order and wake-during-tick timing");
    CHECK_UINT(sim_clock_edges(clk), 2);
    log_free(&order);
    sim_kernel_destroy(k);
}

typedef struct dom_log {
    logbuf l;
    uint64_t tag;
} dom_log;

static int dom_tick(sim_kernel *k, void *arg, uint64_t cycle)
{
    dom_log *d = arg;
    log_push(&d->l, d->tag, sim_now(k));
    return cycle < 1000000; /* tick forever (the run is time-limited) */
}

static void t_clock_two_domains(void)
{
    sim_kernel *k = new_kernel();
    sim_clock *fast, *slow;
    CHECK_INT(sim_clock_create(k, "fast", 1000, 0, &fast), ES_OK); /* 1 GHz */
    CHECK_INT(sim_clock_create(k, "slow", 2500, 0, &slow), ES_OK); /* 400 MHz */
    dom_log d = {{0}, 0};
    dom_log d2 = {{0}, 1};
    sim_comp_id a, b;
    CHECK_INT(sim_clock_attach(fast, dom_tick, &d, &a), ES_OK);
    CHECK_INT(sim_clock_attach(slow, dom_tick, &d2, &b), ES_OK);
    sim_clock_wake(fast, a);
    sim_clock_wake(slow, b);
    sim_run_limits lim = {SIM_NS(100), 0};
    CHECK_INT(sim_run(k, &lim), SIM_STOP_UNTIL);
    CHECK_UINT(d.l.n, 100); /* 1000 .. 100000 */
    CHECK_UINT(d2.l.n, 40); /* 2500 .. 100000 */
    CHECK_UINT(sim_events_executed(k), 140);
    /* Merge and check global time order. */
    size_t i = 0, j = 0;
    sim_time last = 0;
    int ok = 1;
    while (i < d.l.n || j < d2.l.n) {
        sim_time t;
        if (j >= d2.l.n || (i < d.l.n && d.l.t[i] <= d2.l.t[j]))
            t = d.l.t[i++];
        else
            t = d2.l.t[j++];
        ok &= t >= last;
        last = t;
    }
    for (i = 0; i < d.l.n; i++)
        ok &= d.l.t[i] == (i + 1) * 1000;
    for (j = 0; j < d2.l.n; j++)
        ok &= d2.l.t[j] == (j + 1) * 2500;
    CHECK_MSG(ok, "two domains tick at their own edges");
    CHECK_UINT(sim_clock_cycle(fast), 100);
    CHECK_UINT(sim_clock_cycle(slow), 40);
    CHECK_UINT(sim_pending(k), 2);
    log_free(&d.l);
    log_free(&d2.l);
    sim_kernel_destroy(k);
}

/* ---- randomized comparison against a reference ------------------------------------------ */

/* One event of the scenario: what its handler does is a pure function of (seed, token), so
 * the kernel and the reference replay the same scenario as long as they agree on the order. */
typedef struct plan {
    int nchild;
    sim_time delay[3];
    int prio[3];
    int do_cancel;
    uint64_t cancel_pick;
} plan;

static sim_time rand_delay(rng_stream *r)
{
    uint64_t u = rng_below(r, 100);
    if (u < 35) return rng_below(r, 8); /* many ties */
    if (u < 75) return rng_below(r, 1000);
    if (u < 95) return rng_below(r, 1000000);
    return UINT64_C(1000000000) + rng_below(r, 1000000); /* far future */
}

static int rand_prio(rng_stream *r)
{
    uint64_t u = rng_below(r, 20);
    if (u == 0) return SIM_PRIO_MIN;
    if (u == 1) return SIM_PRIO_MAX;
    return (int)rng_below(r, 5) - 2;
}

static void make_plan(uint64_t seed, uint64_t token, uint64_t max_tokens, plan *p)
{
    rng_stream r;
    rng_init_indexed(&r, seed, "test/plan", token);
    p->nchild = token < max_tokens ? (int)rng_below(&r, 3) + (rng_below(&r, 4) == 0) : 0;
    for (int i = 0; i < p->nchild; i++) {
        p->delay[i] = rand_delay(&r);
        p->prio[i] = rand_prio(&r);
    }
    p->do_cancel = rng_below(&r, 5) == 0;
    p->cancel_pick = rng_u64(&r);
}

typedef struct scenario {
    uint64_t seed, max_tokens;
    uint64_t ntok;     /* tokens created so far */
    sim_event_id *ids; /* kernel handle per token */
    logbuf run;        /* (token, time) per executed event */
    logbuf cancels;    /* cancel results */
    size_t cap;
} scenario;

static void sc_reserve(scenario *s)
{
    if (s->ntok == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->ids = realloc(s->ids, s->cap * sizeof *s->ids);
        if (!s->ids) abort();
    }
}

static void sc_handler(sim_kernel *k, void *arg, uint64_t token);

static void sc_schedule(sim_kernel *k, scenario *s, sim_time delay, int prio)
{
    sc_reserve(s);
    uint64_t tok = s->ntok++;
    s->ids[tok] = sim_schedule(k, delay, prio, sc_handler, s, tok);
    if (!s->ids[tok]) abort();
}

static void sc_handler(sim_kernel *k, void *arg, uint64_t token)
{
    scenario *s = arg;
    log_push(&s->run, token, sim_now(k));
    plan p;
    make_plan(s->seed, token, s->max_tokens, &p);
    for (int i = 0; i < p.nchild; i++)
        sc_schedule(k, s, p.delay[i], p.prio[i]);
    if (p.do_cancel)
        log_push(&s->cancels, (uint64_t)sim_cancel(k, s->ids[p.cancel_pick % s->ntok]), 0);
}

/* The reference: an array of pending events, searched linearly for the minimum. */
typedef struct ref_ev {
    sim_time time;
    int prio;
    uint64_t seq, token;
    int state; /* 0 pending, 1 ran, 2 cancelled */
} ref_ev;

typedef struct refq {
    ref_ev *ev; /* indexed by token */
    uint64_t ntok, cap, seq;
    sim_time now;
    logbuf run, cancels;
    uint64_t seed, max_tokens;
} refq;

static void ref_schedule(refq *q, sim_time delay, int prio)
{
    if (q->ntok == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 1024;
        q->ev = realloc(q->ev, q->cap * sizeof *q->ev);
        if (!q->ev) abort();
    }
    ref_ev *e = &q->ev[q->ntok];
    e->time = q->now + delay;
    e->prio = prio;
    e->seq = q->seq++;
    e->token = q->ntok++;
    e->state = 0;
}

/* Run events with time <= until; returns the number run. */
static void ref_run(refq *q, sim_time until)
{
    for (;;) {
        ref_ev *best = NULL;
        for (uint64_t i = 0; i < q->ntok; i++) {
            ref_ev *e = &q->ev[i];
            if (e->state) continue;
            if (!best || e->time < best->time ||
                (e->time == best->time &&
                 (e->prio < best->prio || (e->prio == best->prio && e->seq < best->seq))))
                best = e;
        }
        if (!best) return;
        if (best->time > until) {
            if (until > q->now) q->now = until;
            return;
        }
        best->state = 1;
        q->now = best->time;
        log_push(&q->run, best->token, q->now);
        plan p;
        make_plan(q->seed, best->token, q->max_tokens, &p);
        for (int i = 0; i < p.nchild; i++)
            ref_schedule(q, p.delay[i], p.prio[i]);
        if (p.do_cancel) {
            ref_ev *c = &q->ev[p.cancel_pick % q->ntok];
            int ok = c->state == 0;
            if (ok) c->state = 2;
            log_push(&q->cancels, (uint64_t)ok, 0);
        }
    }
}

/* Drive both with the same scenario: initial events, time-limited run segments with events
 * and cancellations injected from outside in between. Returns 1 if they agree. */
static int compare_with_reference(uint64_t seed, uint64_t ninit, uint64_t max_tokens,
                                  const sim_kernel_config *cfg, uint64_t *hash_out)
{
    sim_kernel *k = NULL;
    if (sim_kernel_create(cfg, &k) != ES_OK) return 0;
    scenario s = {.seed = seed, .max_tokens = max_tokens};
    refq q = {.seed = seed, .max_tokens = max_tokens};
    rng_stream r;
    rng_init(&r, seed, "test/driver");
    int ok = 1;
    for (int seg = 0; seg < 6 && ok; seg++) {
        uint64_t add = seg == 0 ? ninit : ninit / 8;
        for (uint64_t i = 0; i < add; i++) {
            sim_time d = rand_delay(&r);
            int p = rand_prio(&r);
            sc_schedule(k, &s, d, p);
            ref_schedule(&q, d, p);
        }
        for (int c = 0; c < 20; c++) { /* outside cancellations */
            uint64_t t = rng_below(&r, s.ntok);
            int a = sim_cancel(k, s.ids[t]);
            int b = q.ev[t].state == 0;
            if (b) q.ev[t].state = 2;
            ok &= a == b;
        }
        sim_time until = seg == 5 ? SIM_TIME_MAX : sim_now(k) + rng_below(&r, 3000000);
        sim_run_limits lim = {until, 0};
        int rc = sim_run(k, &lim);
        ref_run(&q, until);
        ok &= rc == SIM_STOP_EMPTY || rc == SIM_STOP_UNTIL;
        ok &= sim_now(k) == q.now;
        uint64_t pend = 0;
        for (uint64_t i = 0; i < q.ntok; i++)
            pend += q.ev[i].state == 0;
        ok &= sim_pending(k) == pend;
    }
    ok &= s.run.n == q.run.n && s.cancels.n == q.cancels.n;
    for (size_t i = 0; ok && i < s.run.n; i++)
        ok &= s.run.v[i] == q.run.v[i] && s.run.t[i] == q.run.t[i];
    for (size_t i = 0; ok && i < s.cancels.n; i++)
        ok &= s.cancels.v[i] == q.cancels.v[i];
    ok &= sim_pending(k) == 0;
    if (hash_out) {
        uint64_t h = ES_FNV1A64_INIT;
        h = es_fnv1a64(s.run.v, s.run.n * sizeof *s.run.v, h);
        h = es_fnv1a64(s.run.t, s.run.n * sizeof *s.run.t, h);
        *hash_out = h;
    }
    if (!ok)
        printf("# seed %llu: kernel ran %zu events, reference %zu\n", (unsigned long long)seed,
               s.run.n, q.run.n);
    free(s.ids);
    log_free(&s.run);
    log_free(&s.cancels);
    free(q.ev);
    log_free(&q.run);
    log_free(&q.cancels);
    sim_kernel_destroy(k);
    return ok;
}

static void t_random_vs_reference(void)
{
    /* Small populations (heap mode), medium ones (the ladder), and one with a tiny sequence
     * limit so that renumbering happens many times. */
    CHECK_MSG(compare_with_reference(1, 10, 400, NULL, NULL), "small population");
    CHECK_MSG(compare_with_reference(2, 60, 1500, NULL, NULL), "around the heap-mode bounds");
    CHECK_MSG(compare_with_reference(3, 800, 5000, NULL, NULL), "ladder, 800 initial");
    CHECK_MSG(compare_with_reference(4, 2500, 9000, NULL, NULL), "ladder, 2500 initial");
    sim_kernel_config cfg = {.seq_limit = 700};
    CHECK_MSG(compare_with_reference(5, 400, 4000, &cfg, NULL), "with sequence renumbering");
}

static void t_determinism(void)
{
    uint64_t h1 = 0, h2 = 0, h3 = 0;
    CHECK(compare_with_reference(42, 500, 3000, NULL, &h1));
    CHECK(compare_with_reference(42, 500, 3000, NULL, &h2));
    CHECK(compare_with_reference(43, 500, 3000, NULL, &h3));
    CHECK_UINT(h1, h2);
    CHECK(h1 != h3);
}

/* ---- hold model over the ladder, with skewed delays ------------------------------------- */

typedef struct hold_ctx {
    rng_stream r;
    sim_time last_time;
    int last_prio;
    uint64_t last_seq, seq;
    int bad;
    int mode;
} hold_ctx;

static void hold_handler(sim_kernel *k, void *arg, uint64_t data)
{
    hold_ctx *c = arg;
    sim_time now = sim_now(k);
    int prio = (int)(data >> 48) - 128;
    uint64_t seq = data & ((UINT64_C(1) << 48) - 1);
    /* Executed order must be non-decreasing in (time, prio, seq). */
    if (now < c->last_time ||
        (now == c->last_time &&
         (prio < c->last_prio || (prio == c->last_prio && seq < c->last_seq))))
        c->bad++;
    c->last_time = now;
    c->last_prio = prio;
    c->last_seq = seq;
    sim_time d;
    switch (c->mode) {
    case 0: d = (sim_time)(-1e6 * log1p(-rng_uniform(&c->r))); break; /* exponential */
    case 1: d = rng_below(&c->r, 2000001); break;                     /* uniform */
    default: /* bimodal: mostly tiny, some far away, a few identical */
        d = rng_below(&c->r, 10) == 0 ? SIM_MS(1) + rng_below(&c->r, 1000) : rng_below(&c->r, 16);
    }
    int np = (int)rng_below(&c->r, 3) - 1;
    uint64_t s = c->seq++;
    /* d + 1: strictly in the future, so the order must be exactly (time, prio, seq). */
    if (!sim_schedule(k, d + 1, np, hold_handler, c, ((uint64_t)(np + 128) << 48) | s)) c->bad++;
}

static void t_hold_ladder(void)
{
    for (int mode = 0; mode < 3; mode++) {
        sim_kernel *k = new_kernel();
        hold_ctx c = {0};
        c.mode = mode;
        c.last_prio = SIM_PRIO_MIN;
        rng_init_indexed(&c.r, 9, "test/hold", (uint64_t)mode);
        for (int i = 0; i < 20000; i++) {
            int np = (int)rng_below(&c.r, 3) - 1;
            uint64_t s = c.seq++;
            sim_schedule_at(k, rng_below(&c.r, 2000000), np, hold_handler, &c,
                            ((uint64_t)(np + 128) << 48) | s);
        }
        sim_run_limits lim = {SIM_TIME_MAX, 300000};
        CHECK_INT(sim_run(k, &lim), SIM_STOP_MAX_EVENTS);
        CHECK_MSG(c.bad == 0, "hold mode %d: %d events out of order", mode, c.bad);
        CHECK_UINT(sim_pending(k), 20000);
        sim_kernel_destroy(k);
    }
}

/* Times near the end of the time range must not overflow any bucket arithmetic. */
static void t_far_times(void)
{
    sim_kernel *k = new_kernel();
    logbuf l = {0};
    for (uint64_t i = 0; i < 300; i++) {
        sim_time t = i % 3 == 0 ? SIM_TIME_MAX - i : i % 3 == 1 ? UINT64_C(1) << 63 : i;
        sim_schedule_at(k, t, 0, log_handler, &l, i);
    }
    CHECK_INT(sim_run(k, NULL), SIM_STOP_EMPTY);
    CHECK_UINT(l.n, 300);
    int ok = 1;
    for (size_t i = 1; i < l.n; i++)
        ok &= l.t[i] >= l.t[i - 1];
    CHECK_MSG(ok, "time order up to SIM_TIME_MAX");
    CHECK_UINT(sim_now(k), SIM_TIME_MAX);
    log_free(&l);
    sim_kernel_destroy(k);
}

/* ---- two kernels ------------------------------------------------------------------------ */

static void t_two_kernels(void)
{
    sim_kernel *k1 = new_kernel(), *k2 = new_kernel();
    logbuf l1 = {0}, l2 = {0};
    sim_clock *c1, *c2;
    CHECK_INT(sim_clock_create(k1, "a", 1000, 0, &c1), ES_OK);
    CHECK_INT(sim_clock_create(k2, "a", 3000, 0, &c2), ES_OK);
    dom_log d1 = {{0}, 1}, d2 = {{0}, 2};
    sim_comp_id x, y;
    sim_clock_attach(c1, dom_tick, &d1, &x);
    sim_clock_attach(c2, dom_tick, &d2, &y);
    sim_clock_wake(c1, x);
    sim_clock_wake(c2, y);
    for (uint64_t i = 0; i < 50; i++) {
        sim_schedule_at(k1, i * 7, 0, log_handler, &l1, i);
        sim_schedule_at(k2, i * 11, 0, log_handler, &l2, i);
    }
    sim_run_limits lim = {SIM_NS(30), 0};
    CHECK_INT(sim_run(k1, &lim), SIM_STOP_UNTIL);
    CHECK_UINT(sim_now(k2), 0); /* untouched */
    lim.until = SIM_NS(60);
    CHECK_INT(sim_run(k2, &lim), SIM_STOP_UNTIL);
    CHECK_UINT(sim_now(k1), SIM_NS(30));
    CHECK_UINT(d1.l.n, 30);
    CHECK_UINT(d2.l.n, 20);
    CHECK_UINT(l1.n, 50);
    CHECK_UINT(l2.n, 50);
    CHECK_UINT(sim_events_executed(k1), 80);
    CHECK_UINT(sim_events_executed(k2), 70);
    sim_kernel_destroy(k1);
    CHECK_INT(sim_run(k2, &lim), SIM_STOP_UNTIL); /* k2 unaffected by k1's destruction */
    sim_kernel_destroy(k2);
    log_free(&l1);
    log_free(&l2);
    log_free(&d1.l);
    log_free(&d2.l);
}

int main(int argc, char **argv)
{
    static const tap_test tests[] = {
        {"time_units", t_time_units},
        {"create_destroy", t_create_destroy},
        {"order_time_prio_fifo", t_order_time_prio_fifo},
        {"fifo_many_equal", t_fifo_many_equal},
        {"schedule_now_from_handler", t_schedule_now_from_handler},
        {"cancel", t_cancel},
        {"cancel_mass", t_cancel_mass},
        {"schedule_errors", t_schedule_errors},
        {"run_until", t_run_until},
        {"run_max_events", t_run_max_events},
        {"run_stop_and_empty", t_run_stop_and_empty},
        {"names", t_names},
        {"clock_one_event_per_cycle", t_clock_one_event_per_cycle},
        {"clock_sleeping_costs_nothing", t_clock_sleeping_costs_nothing},
        {"clock_wake_timing", t_clock_wake_timing},
        {"clock_wake_during_tick", t_clock_wake_during_tick},
        {"clock_two_domains", t_clock_two_domains},
        {"random_vs_reference", t_random_vs_reference},
        {"determinism", t_determinism},
        {"hold_ladder", t_hold_ladder},
        {"far_times", t_far_times},
        {"two_kernels", t_two_kernels},
    };
    return tap_main(tests, ES_ARRAY_LEN(tests), argc, argv);
}
