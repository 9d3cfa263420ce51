/* sim_kernel.h - the event kernel: simulated time, the pending-event queue, clock domains and
 * the run loop. The hardware simulator (arch/hwsim.c) schedules the chip's work here as events;
 * the component models (crossbars, ADCs, tiles, the NoC) are cost functions it calls inside an
 * event, and the kernel knows nothing about any of them. A kernel is an object: there is no global state, so two
 * simulators can run side by side in one process (tests do). Not thread-safe: one kernel is
 * driven by one thread at a time. */
#ifndef ES_SIM_KERNEL_H
#define ES_SIM_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "es_common.h"

/* ---- time ------------------------------------------------------------------------------- */

/* Simulated time in integer picoseconds (2^64 ps is about 213 days). */
typedef uint64_t sim_time;

#define SIM_TIME_MAX UINT64_MAX

#define SIM_PS_PER_NS UINT64_C(1000)
#define SIM_PS_PER_US UINT64_C(1000000)
#define SIM_PS_PER_MS UINT64_C(1000000000)
#define SIM_PS_PER_S  UINT64_C(1000000000000)

/* Integer constructors: SIM_NS(5) is 5000 ps. They do not check for overflow. */
#define SIM_PS(x) ((sim_time)(x))
#define SIM_NS(x) ((sim_time)(x)*SIM_PS_PER_NS)
#define SIM_US(x) ((sim_time)(x)*SIM_PS_PER_US)
#define SIM_MS(x) ((sim_time)(x)*SIM_PS_PER_MS)
#define SIM_S(x)  ((sim_time)(x)*SIM_PS_PER_S)

/* Conversions for reports (lossy: a double holds 53 bits). */
static inline double sim_time_to_ns(sim_time t)
{
    return (double)t * 1e-3;
}
static inline double sim_time_to_us(sim_time t)
{
    return (double)t * 1e-6;
}
static inline double sim_time_to_ms(sim_time t)
{
    return (double)t * 1e-9;
}
static inline double sim_time_to_s(sim_time t)
{
    return (double)t * 1e-12;
}

/* Conversions from configuration values: round to the nearest picosecond; negative or NaN
 * gives 0, too large saturates at SIM_TIME_MAX. */
sim_time sim_time_from_ns(double ns);
sim_time sim_time_from_s(double s);
/* The period of a frequency, rounded to the nearest picosecond (0 if hz is not > 0, or
 * if the period rounds to 0, i.e. hz above 2 THz). */
sim_time sim_period_from_hz(double hz);

/* ---- kernel ----------------------------------------------------------------------------- */

typedef struct sim_kernel sim_kernel;

typedef struct sim_kernel_config {
    /* Pending events preallocated (0: 1024). The queue grows by doubling beyond it. */
    size_t initial_capacity;
    /* Most events pending at once, cancelled-but-not-yet-dropped ones included (0: the
     * encoding limit SIM_MAX_PENDING). Scheduling beyond it fails with ES_ERANGE. */
    size_t max_pending;
    /* Testing only: renumber insertion sequences when the counter reaches this value
     * (0: 2^32, the width of the field). Tests set it small to exercise the renumbering. */
    uint64_t seq_limit;
} sim_kernel_config;

/* Hard limit on events pending at once (the slot index is 24 bits wide in a queue entry). */
#define SIM_MAX_PENDING ((size_t)1 << 24)

/* Create a kernel at time 0 with an empty queue. cfg may be NULL (defaults); it is only read
 * during the call. Returns ES_OK, ES_ENOMEM or ES_EINVAL (bad cfg); *out is NULL on failure. */
int sim_kernel_create(const sim_kernel_config *cfg, sim_kernel **out);

/* Free the kernel, its pending events (their handlers are not called) and its clock domains.
 * k may be NULL. Must not be called from inside a handler of k. */
void sim_kernel_destroy(sim_kernel *k);

/* ---- events ----------------------------------------------------------------------------- */

/* Handle of a scheduled event: nonzero; 0 reports a failed schedule. Stays safe to pass to
 * sim_cancel forever (it is a slot index plus a generation, never a pointer). */
typedef uint64_t sim_event_id;

/* An event handler: called once at the event's time with the arg and data given to
 * sim_schedule. Inside it, sim_now(k) is the event's time; it may schedule, cancel, wake
 * clock components and call sim_stop, but not sim_run or sim_kernel_destroy. */
typedef void (*sim_handler)(sim_kernel *k, void *arg, uint64_t data);

/* Priorities order events of equal time: lower value runs first. Equal (time, priority)
 * runs in the order of scheduling (FIFO). Clock domains tick at SIM_PRIO_CLOCK. */
#define SIM_PRIO_MIN     (-128)
#define SIM_PRIO_MAX     127
#define SIM_PRIO_DEFAULT 0
#define SIM_PRIO_CLOCK   0

/* Schedule fn(k, arg, data) at sim_now(k) + delay (sim_schedule) or at absolute time `when`
 * (sim_schedule_at). arg is borrowed: it must stay valid until the event runs or is
 * cancelled. An event may be scheduled at the current time: it runs after the running
 * handler returns, in (priority, FIFO) order with other events of that time.
 * Returns the event's handle, or 0 if nothing was scheduled: fn NULL or prio outside
 * [SIM_PRIO_MIN, SIM_PRIO_MAX] (ES_EINVAL), `when` in the past or now + delay overflowing
 * (ES_ERANGE), too many pending events (ES_ERANGE) or no memory (ES_ENOMEM); the reason is
 * then available from sim_last_error. */
sim_event_id sim_schedule(sim_kernel *k, sim_time delay, int prio, sim_handler fn, void *arg,
                          uint64_t data);
sim_event_id sim_schedule_at(sim_kernel *k, sim_time when, int prio, sim_handler fn, void *arg,
                             uint64_t data);

/* Cancel a pending event: returns 1 if it was pending and will now never run, 0 if it already
 * ran (or is running), was already cancelled, or id is 0 or unknown. Safe with any handle,
 * including stale ones whose slot has since been reused by another event (the generation in
 * the handle no longer matches; it would take 2^32 reuses of one slot to alias). */
int sim_cancel(sim_kernel *k, sim_event_id id);

/* 1 if the event is pending (scheduled, not yet run, not cancelled), else 0. */
int sim_event_pending(const sim_kernel *k, sim_event_id id);

/* Debug names. sim_event_set_name attaches a borrowed string (a literal, typically) to a
 * pending event; returns ES_OK, ES_EINVAL if the event is not pending, ES_ENOMEM.
 * The name table is only allocated on first use, so kernels that never name an event pay
 * nothing. sim_event_name returns a pending event's name (NULL if none);
 * sim_current_event_name the name of the event whose handler is running (NULL if none). */
int sim_event_set_name(sim_kernel *k, sim_event_id id, const char *name);
const char *sim_event_name(const sim_kernel *k, sim_event_id id);
const char *sim_current_event_name(const sim_kernel *k);

/* The reason of the last failed sim_schedule/sim_schedule_at (an es_status; ES_OK if none
 * has failed yet). */
int sim_last_error(const sim_kernel *k);

/* ---- run loop and counters -------------------------------------------------------------- */

typedef enum sim_stop_reason {
    SIM_STOP_EMPTY = 1,      /* no pending event left; now is the time of the last event run */
    SIM_STOP_UNTIL = 2,      /* the next event is later than lim->until; now >= until */
    SIM_STOP_MAX_EVENTS = 3, /* lim->max_events events were run by this call */
    SIM_STOP_REQUESTED = 4,  /* a handler called sim_stop */
} sim_stop_reason;

typedef struct sim_run_limits {
    /* Run only events with time <= until (SIM_TIME_MAX: no time limit). When the run stops
     * because the next event is later, now is advanced to until; when the queue empties
     * first, now stays at the last event's time (SIM_STOP_EMPTY). */
    sim_time until;
    /* Stop after this many events run by this call (0: no limit). Cancelled events do not
     * count. */
    uint64_t max_events;
} sim_run_limits;

/* No limits; the same as passing NULL to sim_run. */
#define SIM_RUN_LIMITS_NONE ((sim_run_limits){SIM_TIME_MAX, 0})

/* Run events in (time, priority, FIFO) order until a stop condition holds. lim may be NULL
 * (run until the queue is empty or a handler calls sim_stop). Returns the sim_stop_reason
 * (> 0) or a negative es_status: ES_ESTATE if called from inside a handler, ES_ENOMEM or
 * ES_ERANGE if a clock domain could not schedule its next edge (the run stops after that
 * edge; the domain restarts on its next wake). If several conditions hold after one event,
 * SIM_STOP_REQUESTED wins over SIM_STOP_MAX_EVENTS, which wins over the others. */
int sim_run(sim_kernel *k, const sim_run_limits *lim);

/* Ask the current sim_run to return after the running handler; a request made outside
 * sim_run is forgotten when the next sim_run starts. */
void sim_stop(sim_kernel *k);

/* Current simulated time: the time of the event being (or last) run, or a run's `until`. */
sim_time sim_now(const sim_kernel *k);
/* Events run (handlers called) since the kernel was created; cancelled events excluded. */
uint64_t sim_events_executed(const sim_kernel *k);
/* Events scheduled and neither run nor cancelled. */
size_t sim_pending(const sim_kernel *k);
/* The time of the earliest pending event in *t; returns 1, or 0 if none is pending. */
int sim_next_time(sim_kernel *k, sim_time *t);

/* ---- clock domains ---------------------------------------------------------------------- */

/* A clock domain: edges at phase + n * period for cycle n = 0, 1, 2... Components attach a
 * tick callback. While at least one component is awake, the domain keeps exactly one event
 * in the queue (at its next edge), however many components are awake; when all sleep, the
 * domain has no event at all, so idle hardware costs nothing.
 *
 * Wake-up rule: sim_clock_wake at time t makes the component tick at the first edge strictly
 * after t (edge time > t), even if it is already awake and returns 0 from an earlier tick.
 * "Strictly after" makes the outcome independent of whether the domain's own event for an
 * edge at exactly t has already run, and lets a component woken by a tick of its own domain
 * see the waker's effects one cycle later, as a register would. A consequence: with phase 0,
 * cycle 0 (time 0) is never ticked. Within one edge, awake components tick in attach order. */
typedef struct sim_clock sim_clock;

/* A tick callback: called once per edge while the component is awake, with the edge's cycle
 * number. Return nonzero to stay awake (tick again at the next edge), 0 to sleep until the
 * next sim_clock_wake. */
typedef int (*sim_tick_fn)(sim_kernel *k, void *arg, uint64_t cycle);

/* A component of one clock domain (its index in attach order). */
typedef uint32_t sim_comp_id;

/* Create a clock domain owned by k (freed by sim_kernel_destroy). name is copied (NULL
 * allowed). period must be > 0. Returns ES_OK, ES_EINVAL or ES_ENOMEM. */
int sim_clock_create(sim_kernel *k, const char *name, sim_time period, sim_time phase,
                     sim_clock **out);
/* The same with a frequency in Hz (period rounded to the nearest ps, see sim_period_from_hz). */
int sim_clock_create_hz(sim_kernel *k, const char *name, double hz, sim_time phase,
                        sim_clock **out);

/* Attach a component (asleep) to the domain; arg is borrowed. *out receives its id.
 * Returns ES_OK, ES_EINVAL or ES_ENOMEM. May be called from handlers and ticks. */
int sim_clock_attach(sim_clock *clk, sim_tick_fn tick, void *arg, sim_comp_id *out);

/* Wake a component: it ticks at the first edge strictly after sim_now (see the rule above).
 * Returns ES_OK, ES_EINVAL (unknown component) or ES_ENOMEM / ES_ERANGE if the domain's
 * event could not be scheduled. */
int sim_clock_wake(sim_clock *clk, sim_comp_id comp);

/* 1 if the component is awake (will tick at an upcoming edge), else 0. */
int sim_clock_awake(const sim_clock *clk, sim_comp_id comp);

/* The cycle of the latest edge at or before sim_now (0 before the first edge). Inside a
 * tick it equals the tick's cycle argument. */
uint64_t sim_clock_cycle(const sim_clock *clk);
/* The cycle of the first edge strictly after sim_now: the one a wake would tick at. */
uint64_t sim_clock_next_cycle(const sim_clock *clk);
/* The time of edge `cycle` (phase + cycle * period), SIM_TIME_MAX if that overflows. */
sim_time sim_clock_edge_time(const sim_clock *clk, uint64_t cycle);
sim_time sim_clock_period(const sim_clock *clk);
const char *sim_clock_name(const sim_clock *clk);
/* Queue events this domain has run (edges at which at least one component was awake). */
uint64_t sim_clock_edges(const sim_clock *clk);

#endif
