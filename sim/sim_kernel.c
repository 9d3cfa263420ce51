/* sim_kernel.c - the event kernel: a two-rung ladder queue of 16-byte entries over a small
 * bottom tier, a slot pool holding each event's handler, and clock domains built on top of
 * ordinary events. See sim_kernel.h for the contract, docs/performance.md ("Event kernel")
 * for the measurements behind the choices below. */
#include "sim_kernel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#if defined(__GNUC__)
#define SK_LIKELY(x)      __builtin_expect(!!(x), 1)
#define SK_UNLIKELY(x)    __builtin_expect(!!(x), 0)
#define SK_PREFETCH(p)    __builtin_prefetch(p)
#define SK_PREFETCH_L2(p) __builtin_prefetch(p, 0, 2)
#define SK_NOINLINE       __attribute__((noinline))
#else
#define SK_LIKELY(x)      (x)
#define SK_UNLIKELY(x)    (x)
#define SK_PREFETCH(p)    ((void)(p))
#define SK_PREFETCH_L2(p) ((void)(p))
#define SK_NOINLINE
#endif

/* ---- time conversions ------------------------------------------------------------------- */

static sim_time time_from_ps_double(double ps)
{
    if (!(ps > 0.0)) return 0; /* negative and NaN */
    double r = floor(ps + 0.5);
    if (r >= 18446744073709551616.0) return SIM_TIME_MAX; /* 2^64 */
    return (sim_time)r;
}

sim_time sim_time_from_ns(double ns)
{
    return time_from_ps_double(ns * 1e3);
}

sim_time sim_time_from_s(double s)
{
    return time_from_ps_double(s * 1e12);
}

sim_time sim_period_from_hz(double hz)
{
    if (!(hz > 0.0)) return 0;
    return time_from_ps_double(1e12 / hz);
}

/* ---- queue entries ----------------------------------------------------------------------
 * A queue entry is 16 bytes and holds everything the ordering needs, so no tier touches the
 * slot pool while it sorts; four entries fill one 64-byte cache line, which in the bottom heap
 * is the four children of a node (the array is offset so that every sibling group starts on a
 * line boundary):
 *
 *   time (64 bits) | key = prio+128 (8 bits) | sequence (32 bits) | slot (24 bits)
 *
 * Comparing (time, key) as one 128-bit number orders by time, then priority, then insertion
 * sequence; the slot bits never decide because sequences are unique. When the 32-bit
 * sequence runs out, the pending entries are renumbered by rank, which keeps their order. */
typedef struct heap_ent {
    sim_time time;
    uint64_t key;
} heap_ent;

#define SLOT_BITS  24
#define SLOT_MASK  ((UINT64_C(1) << SLOT_BITS) - 1)
#define SEQ_BITS   32
#define SEQ_SHIFT  SLOT_BITS
#define PRIO_SHIFT (SLOT_BITS + SEQ_BITS)
#define SEQ_MASK   (((UINT64_C(1) << SEQ_BITS) - 1) << SEQ_SHIFT)

#define HEAP_D   4
#define HEAP_PAD 3 /* entries before heap[0]: puts heap[1] (and every 4i+1) on a line start */

/* A strict "a before b". Written as one 128-bit comparison so GCC emits a branch-free
 * cmp/sbb pair: which child is smallest is a coin toss, so a branch would mispredict. */
static inline int ent_lt(const heap_ent *a, const heap_ent *b)
{
    __extension__ typedef unsigned __int128 u128;
    u128 x = ((u128)a->time << 64) | a->key;
    u128 y = ((u128)b->time << 64) | b->key;
    return x < y;
}

/* ---- the event slot pool ----------------------------------------------------------------
 * A slot carries what a handler call needs. Slots are recycled LIFO through an intrusive free
 * list, so the slot freed by the running event is the one its handler's next sim_schedule
 * takes: in the common "handle one, schedule one" pattern it is still in L1. The generation
 * advances whenever a slot's event runs or is cancelled, which invalidates old handles. */
enum { SLOT_FREE = 0, SLOT_PENDING = 1, SLOT_CANCELLED = 2 };

typedef struct ev_slot {
    sim_handler fn;
    void *arg;
    uint64_t data; /* next free slot while on the free list */
    uint32_t gen;  /* part of the handle: ((uint64_t)gen << 32) | (index + 1) */
    uint32_t state;
} ev_slot;

#define NO_SLOT UINT32_MAX

/* ---- clock domains ---------------------------------------------------------------------- */

typedef struct clk_comp {
    sim_tick_fn tick;
    void *arg;
    uint64_t first_cycle; /* may tick from this cycle on (set on a sleep -> awake transition) */
    uint64_t keep_cycle;  /* must tick at this cycle: it cannot sleep before it */
    int awake;
} clk_comp;

struct sim_clock {
    sim_kernel *k;
    sim_clock *next; /* the kernel's list of domains */
    char *name;
    sim_time period, phase;
    clk_comp *comps;
    uint32_t ncomps, capcomps;
    uint32_t *active; /* ids of awake components; sorted by id before each edge */
    uint32_t nactive, capactive;
    int unsorted;
    int scheduled; /* the domain's edge event is in the queue */
    uint64_t edges;
};

/* ---- the queue -------------------------------------------------------------------------
 * A two-rung ladder over a small bottom tier. Tiers are ordered by time: every entry of a
 * lower tier is earlier than every entry of a higher one.
 *
 *   bottom   the entries due before the current fine bucket: a sorted run when small (popping
 *            is then an index increment), a 4-ary heap otherwise; its minimum is the next
 *            event;
 *   fine     the current coarse bucket split into up to 2^FINE_MAX_LG buckets;
 *   coarse   a calendar of buckets of width 2^shift ps from `base`;
 *   top      an unsorted array of everything beyond the coarse calendar.
 *
 * Buckets are unsorted: coarse ones are lists of fixed-size chunks, fine ones small arrays.
 * Scheduling appends an entry to a bucket or
 * to top, or, if it is due within the current fine bucket, inserts it into the bottom. When
 * the bottom runs dry, the next fine bucket is sorted into it; when the fine rung runs out,
 * the next coarse bucket is split into a new fine rung sized to its count; when the coarse
 * rung runs out, a new one is laid over top (an "epoch"). The epoch sizes its buckets from a
 * fixed set of samples of top: the density near the earliest entries sets the width (about
 * BUCKET_TARGET entries per fine bucket, FINE_NOMINAL fine buckets per coarse one) and a high
 * quantile sets the extent, so that each epoch consumes most of top. Each entry is thus copied
 * a small constant number of times, sequentially, into a few hundred bucket tails that stay
 * in cache, where a heap walks a chain of dependent, cache-missing loads down log n levels for
 * every event. Whatever the time distribution, an oversized bottom becomes a heap, so the
 * worst case (say, every event at the same time) is a heap's. Below HEAP_MODE_ENTER entries at
 * an epoch start the rungs are not worth their bookkeeping: everything goes to a bottom heap
 * ("heap mode") until it exceeds HEAP_MODE_LEAVE. */

#define HEAP_MODE_ENTER 16
#define HEAP_MODE_LEAVE 64
#define BUCKET_TARGET   4   /* aimed entries per fine bucket */
#define FINE_NOMINAL    256 /* aimed fine buckets per coarse bucket */
#define FINE_MAX_LG     12  /* at most 4096 fine buckets */
#define SORT_MAX        16  /* a bottom run longer than this becomes a heap */
#define EPOCH_SAMPLES   31
#define EPOCH_QUANT     27 /* the coarse rung ends near this sample (about the 87th percentile) */
#define EPOCH_FRONT     3  /* the front density is measured up to this sample */

/* Coarse bucket storage: chunks of CK_ENTS entries (256 bytes) from one pool, recycled LIFO,
 * so that appending never calls the allocator and all coarse buckets share a few huge pages
 * (with one array per bucket, their tails were spread over as many TLB entries). */
#define CK_ENTS  15
#define NO_CHUNK UINT32_MAX

typedef struct chunk {
    uint32_t next; /* next chunk of the bucket, or of the free list */
    uint32_t pad_[3];
    heap_ent e[CK_ENTS];
} chunk;

/* A coarse bucket: chunks, all full but the last. An empty one has fill == CK_ENTS, so that
 * "the last chunk has room" is a single test. */
typedef struct bucket {
    uint32_t n, first, last, fill;
} bucket;

/* A fine bucket: a small array that keeps its capacity from one fine rung to the next (fine
 * buckets hold a handful of entries, for which a 256-byte chunk would waste cache). */
typedef struct fbucket {
    heap_ent *v;
    uint32_t n, cap;
} fbucket;

/* An entry at time t belongs to bucket j = (t - base) >> shift (0 if t < base). Buckets
 * below cur are consumed: their time range belongs to the tier beneath. */
typedef struct rung {
    sim_time base;
    unsigned shift;
    uint64_t cur, nb;
    union {
        bucket *bk;  /* coarse */
        fbucket *fb; /* fine */
    } u;
    size_t bk_cap;
    size_t count; /* entries in buckets */
} rung;

struct sim_kernel {
    /* Bottom tier in heap[head .. n): sorted ascending if !bot_heap, else a heap (head 0). */
    heap_ent *heap; /* heap_raw + HEAP_PAD */
    void *heap_raw;
    size_t head, n;
    size_t heap_cap;
    int bot_heap;
    /* Set while a handler runs whose event was the root of a bottom heap: the root is
     * consumed but still in place. If the handler schedules an event due in the bottom, it
     * overwrites the root and sifts once, instead of the pop's sift plus the push's. */
    int root_hole;

    rung coarse, fine;
    int heap_mode;
    heap_ent *top;
    size_t top_n, top_cap;
    chunk *ck;
    uint32_t ck_cap, ck_free, ck_nfree;

    ev_slot *slots;
    uint32_t nslots;
    uint32_t free_head;
    const char **names; /* per slot, allocated on the first sim_event_set_name */

    sim_time now;
    uint64_t seq, seq_limit;
    uint64_t executed;
    size_t live;      /* pending and not cancelled */
    size_t cancelled; /* cancelled entries still queued */
    size_t max_pending;

    int running;
    int stop_req;
    uint64_t stop_at; /* sim_run stops when `executed` reaches it */
    int last_err;
    int fault; /* a clock domain failed to schedule its next edge; sim_run returns it */
    const char *cur_name;
    sim_clock *clocks;
};

/* ---- memory ----------------------------------------------------------------------------- */

#define HUGE_SZ ((size_t)2 << 20)

/* 64-byte aligned storage. Arrays of 2 MB and more ask for transparent huge pages: the slot
 * pool is accessed at random and the tiers are swept, and on a virtualized host a TLB miss
 * costs more than the cache miss it precedes (and can void a prefetch). */
static void *mem_alloc(size_t bytes)
{
    if (bytes >= HUGE_SZ) {
        size_t sz = (bytes + HUGE_SZ - 1) & ~(HUGE_SZ - 1);
        void *p = aligned_alloc(HUGE_SZ, sz);
#if defined(MADV_HUGEPAGE)
        if (p) (void)madvise(p, sz, MADV_HUGEPAGE);
#endif
        return p;
    }
    size_t sz = (bytes + 63) & ~(size_t)63;
    return aligned_alloc(64, sz ? sz : 64);
}

/* Move the first `used` bytes of old into a new block of `bytes`; frees old. NULL (old kept)
 * on failure. */
static void *mem_grow(void *old, size_t used, size_t bytes)
{
    void *p = mem_alloc(bytes);
    if (!p) return NULL;
    if (used) memcpy(p, old, used);
    free(old);
    return p;
}

/* ---- 4-ary heap ------------------------------------------------------------------------- */

/* The four children of node i are heap[4i+1 .. 4i+4]; the tournament keeps the two first
 * comparisons independent for the out-of-order core. */
static inline size_t min_child4(const heap_ent *h, size_t c)
{
    size_t a = c + (size_t)ent_lt(&h[c + 1], &h[c]);
    size_t b = c + 2 + (size_t)ent_lt(&h[c + 3], &h[c + 2]);
    return ent_lt(&h[b], &h[a]) ? b : a;
}

static inline size_t min_child_partial(const heap_ent *h, size_t c, size_t n)
{
    size_t m = c;
    for (size_t j = c + 1; j < n; j++)
        if (ent_lt(&h[j], &h[m])) m = j;
    return m;
}

/* Place e at position i and restore order below it (top-down with early exit: heapify). */
static void heap_sift_down(heap_ent *h, size_t n, size_t i, heap_ent e)
{
    for (;;) {
        size_t c = HEAP_D * i + 1;
        size_t m;
        if (c + HEAP_D <= n)
            m = min_child4(h, c);
        else if (c < n)
            m = min_child_partial(h, c, n);
        else
            break;
        if (!ent_lt(&h[m], &e)) break;
        h[i] = h[m];
        i = m;
    }
    h[i] = e;
}

static inline void heap_sift_up(heap_ent *h, size_t i, heap_ent e)
{
    while (i > 0) {
        size_t p = (i - 1) / HEAP_D;
        if (!ent_lt(&e, &h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = e;
}

/* Replace the root by e. Bottom-up ("Floyd") variant: walk the hole down to a leaf along the
 * smallest children without comparing against e, then sift e up. The entries that replace a
 * root (the heap's last one, or a new event at now + delay) almost always belong near the
 * bottom, so this saves the comparison against e at every level. */
static void heap_replace_root(heap_ent *h, size_t n, heap_ent e)
{
    size_t i = 0;
    size_t c = 1;
    while (c + HEAP_D <= n) {
        size_t m = min_child4(h, c);
        h[i] = h[m];
        i = m;
        c = HEAP_D * i + 1;
    }
    if (c < n) {
        size_t m = min_child_partial(h, c, n);
        h[i] = h[m];
        i = m;
    }
    heap_sift_up(h, i, e);
}

static void heapify(heap_ent *h, size_t n)
{
    if (n < 2) return;
    for (size_t i = (n - 2) / HEAP_D + 1; i-- > 0;)
        heap_sift_down(h, n, i, h[i]);
}

/* ---- storage ---------------------------------------------------------------------------- */

static int heap_grow(sim_kernel *k, size_t want)
{
    size_t cap = k->heap_cap ? k->heap_cap : 1024;
    while (cap < want)
        cap *= 2;
    if (cap == k->heap_cap) return ES_OK;
    /* HEAP_PAD entries in front put heap[1] (and every 4i+1) at a cache line start. */
    void *raw = mem_alloc((cap + HEAP_PAD + HEAP_D) * sizeof(heap_ent));
    if (!raw) return ES_ENOMEM;
    heap_ent *h = (heap_ent *)raw + HEAP_PAD;
    if (k->n) memcpy(h, k->heap, k->n * sizeof(heap_ent));
    free(k->heap_raw);
    k->heap_raw = raw;
    k->heap = h;
    k->heap_cap = cap;
    return ES_OK;
}

static int top_grow(sim_kernel *k, size_t want)
{
    size_t cap = k->top_cap ? k->top_cap : 1024;
    while (cap < want)
        cap *= 2;
    if (cap == k->top_cap) return ES_OK;
    heap_ent *t = mem_grow(k->top, k->top_n * sizeof *t, cap * sizeof *t);
    if (!t) return ES_ENOMEM;
    k->top = t;
    k->top_cap = cap;
    return ES_OK;
}

/* Make at least `need` chunks free, so that the callers can push without failing (and without
 * the pool moving under a chunk pointer they hold). */
static int chunk_reserve(sim_kernel *k, size_t need)
{
    if (k->ck_nfree >= need) return ES_OK;
    size_t cap = k->ck_cap ? k->ck_cap : 256;
    while (cap - k->ck_cap + k->ck_nfree < need)
        cap *= 2;
    if (cap >= NO_CHUNK) return ES_ENOMEM;
    chunk *c = mem_grow(k->ck, k->ck_cap * sizeof *c, cap * sizeof *c);
    if (!c) return ES_ENOMEM;
    for (size_t i = cap; i-- > k->ck_cap;) {
        c[i].next = k->ck_free;
        k->ck_free = (uint32_t)i;
    }
    k->ck_nfree += (uint32_t)(cap - k->ck_cap);
    k->ck = c;
    k->ck_cap = (uint32_t)cap;
    return ES_OK;
}

static inline void chunk_put(sim_kernel *k, uint32_t c)
{
    k->ck[c].next = k->ck_free;
    k->ck_free = c;
    k->ck_nfree++;
}

/* Append e to b; ES_ENOMEM if the chunk pool cannot grow. */
static inline int bucket_push(sim_kernel *k, bucket *b, heap_ent e)
{
    if (SK_UNLIKELY(b->fill == CK_ENTS)) {
        if (SK_UNLIKELY(k->ck_nfree == 0)) ES_TRY(chunk_reserve(k, 1));
        uint32_t c = k->ck_free;
        k->ck_free = k->ck[c].next;
        k->ck_nfree--;
        k->ck[c].next = NO_CHUNK;
        if (b->n == 0)
            b->first = c;
        else
            k->ck[b->last].next = c;
        b->last = c;
        b->fill = 0;
    }
    k->ck[b->last].e[b->fill++] = e;
    b->n++;
    return ES_OK;
}

/* Copy b's entries to out (in append order), return their count, and free its chunks. */
static size_t bucket_take(sim_kernel *k, bucket *b, heap_ent *out)
{
    uint32_t left = b->n, c = b->first;
    size_t w = 0;
    while (left) {
        const chunk *ch = &k->ck[c];
        uint32_t m = left < CK_ENTS ? left : CK_ENTS;
        memcpy(out + w, ch->e, m * sizeof *out);
        w += m;
        left -= m;
        uint32_t next = ch->next;
        chunk_put(k, c);
        c = next;
    }
    b->n = 0;
    b->fill = CK_ENTS;
    return w;
}

static int coarse_reserve(rung *r, uint64_t nb)
{
    if (nb <= r->bk_cap) return ES_OK;
    size_t cap = r->bk_cap ? r->bk_cap : 64;
    while (cap < nb)
        cap *= 2;
    bucket *b = mem_grow(r->u.bk, r->bk_cap * sizeof *b, cap * sizeof *b);
    if (!b) return ES_ENOMEM;
    for (size_t j = r->bk_cap; j < cap; j++) {
        b[j].n = 0;
        b[j].first = b[j].last = NO_CHUNK;
        b[j].fill = CK_ENTS;
    }
    r->u.bk = b;
    r->bk_cap = cap;
    return ES_OK;
}

static int fine_reserve(rung *r, uint64_t nb)
{
    if (nb <= r->bk_cap) return ES_OK;
    size_t cap = r->bk_cap ? r->bk_cap : 64;
    while (cap < nb)
        cap *= 2;
    fbucket *b = realloc(r->u.fb, cap * sizeof *b);
    if (!b) return ES_ENOMEM;
    memset(b + r->bk_cap, 0, (cap - r->bk_cap) * sizeof *b);
    r->u.fb = b;
    r->bk_cap = cap;
    return ES_OK;
}

static int fbucket_grow(fbucket *b)
{
    uint32_t cap = b->cap ? b->cap * 2 : 8;
    heap_ent *v = realloc(b->v, cap * sizeof *v);
    if (!v) return ES_ENOMEM;
    b->v = v;
    b->cap = cap;
    return ES_OK;
}

/* Append e to b; ES_ENOMEM if it cannot grow. */
static inline int fbucket_push(fbucket *b, heap_ent e)
{
    if (SK_UNLIKELY(b->n == b->cap)) ES_TRY(fbucket_grow(b));
    b->v[b->n++] = e;
    return ES_OK;
}

static int slots_grow(sim_kernel *k, size_t want)
{
    size_t cap = k->nslots ? k->nslots : 1024;
    while (cap < want)
        cap *= 2;
    if (cap > k->max_pending) cap = k->max_pending;
    if (cap <= k->nslots) return ES_ERANGE;
    if (k->names) {
        const char **nm = realloc(k->names, cap * sizeof *nm);
        if (!nm) return ES_ENOMEM;
        memset(nm + k->nslots, 0, (cap - k->nslots) * sizeof *nm);
        k->names = nm;
    }
    ev_slot *s = mem_grow(k->slots, k->nslots * sizeof *s, cap * sizeof *s);
    if (!s) return ES_ENOMEM;
    /* Chain the new slots so that the lowest index is handed out first. */
    for (size_t i = cap; i-- > k->nslots;) {
        s[i].fn = NULL;
        s[i].arg = NULL;
        s[i].gen = 0;
        s[i].state = SLOT_FREE;
        s[i].data = k->free_head;
        k->free_head = (uint32_t)i;
    }
    k->slots = s;
    k->nslots = (uint32_t)cap;
    return ES_OK;
}

static inline void slot_release(sim_kernel *k, uint32_t idx)
{
    ev_slot *s = &k->slots[idx];
    s->state = SLOT_FREE;
    s->data = k->free_head;
    k->free_head = idx;
}

/* Free the slot of a cancelled entry leaving the queue (its name goes with it). */
static void zombie_release(sim_kernel *k, uint32_t idx)
{
    if (k->names) k->names[idx] = NULL;
    slot_release(k, idx);
}

/* A handle is the slot index + 1 (so never 0) under the slot's generation. */
static inline sim_event_id make_id(uint32_t gen, uint32_t idx)
{
    return ((uint64_t)gen << 32) | ((uint64_t)idx + 1);
}

/* ---- bottom tier ------------------------------------------------------------------------ */

/* Sort m <= SORT_MAX entries by rank: branch-free, where an insertion sort of random keys
 * mispredicts about once per element. Keys are unique, so the ranks are a permutation. */
static void rank_sort(heap_ent *restrict out, const heap_ent *restrict in, size_t m)
{
    for (size_t i = 0; i < m; i++) {
        size_t r = 0;
        for (size_t j = 0; j < m; j++)
            r += (size_t)ent_lt(&in[j], &in[i]);
        out[r] = in[i];
    }
}

/* Finish the removal of a consumed heap root (the handler scheduled nothing to put there). */
static inline void fix_hole(sim_kernel *k)
{
    if (!k->root_hole) return;
    k->root_hole = 0;
    size_t n = --k->n;
    if (n > 0) heap_replace_root(k->heap, n, k->heap[n]);
}

/* Remove the minimum (no hole pending). */
static void bot_pop(sim_kernel *k)
{
    if (k->bot_heap) {
        size_t n = --k->n;
        if (n > 0) heap_replace_root(k->heap, n, k->heap[n]);
    } else if (++k->head == k->n) {
        k->head = k->n = 0;
    }
}

static int gather_to_top(sim_kernel *k, int drop);

/* Insert e into the bottom (its time is due there). */
static int bot_insert(sim_kernel *k, heap_ent e)
{
    if (k->root_hole) {
        k->root_hole = 0;
        heap_replace_root(k->heap, k->n, e);
        return ES_OK;
    }
    if (!k->bot_heap) {
        size_t cnt = k->n - k->head;
        if (cnt < SORT_MAX) {
            heap_ent *h = k->heap;
            if (k->head > 0 && ent_lt(&e, &h[k->head])) {
                h[--k->head] = e;
                return ES_OK;
            }
            if (k->n == k->heap_cap) ES_TRY(heap_grow(k, k->n + 1));
            h = k->heap;
            size_t i = k->n;
            while (i > k->head && ent_lt(&e, &h[i - 1])) {
                h[i] = h[i - 1];
                i--;
            }
            h[i] = e;
            k->n++;
            return ES_OK;
        }
        /* Too long to stay a run: a sorted array is already a heap once it starts at 0. */
        memmove(k->heap, k->heap + k->head, cnt * sizeof(heap_ent));
        k->n = cnt;
        k->head = 0;
        k->bot_heap = 1;
    }
    if (k->n == k->heap_cap) ES_TRY(heap_grow(k, k->n + 1));
    heap_sift_up(k->heap, k->n++, e);
    /* The event is queued either way: on failure, just stay in heap mode. */
    if (k->heap_mode && k->n > HEAP_MODE_LEAVE) (void)gather_to_top(k, 0);
    return ES_OK;
}

/* ---- rungs ------------------------------------------------------------------------------ */

static inline uint64_t bucket_of(const rung *r, sim_time t)
{
    return t < r->base ? 0 : (t - r->base) >> r->shift;
}

/* A rung routing everything to the tier above (cur = nb = 0) or below (cur = nb = 2: with
 * shift 63 every bucket index is 0 or 1). */
static void rung_set_empty(rung *r, uint64_t curnb)
{
    r->base = 0;
    r->shift = 63;
    r->cur = r->nb = curnb;
}

/* No rungs: everything routes to top until the next epoch. */
static void ladder_reset(sim_kernel *k)
{
    rung_set_empty(&k->coarse, 0);
    rung_set_empty(&k->fine, 0);
    k->heap_mode = 0;
}

/* Heap mode: everything routes to the bottom, kept as a heap. */
static void ladder_heap_mode(sim_kernel *k)
{
    rung_set_empty(&k->coarse, 2);
    rung_set_empty(&k->fine, 2);
    k->heap_mode = 1;
    k->bot_heap = 1;
}

static size_t coarse_drain(sim_kernel *k, heap_ent *out)
{
    rung *r = &k->coarse;
    size_t w = 0;
    for (uint64_t j = r->cur; j < r->nb && r->count; j++) {
        size_t m = bucket_take(k, &r->u.bk[j], out + w);
        w += m;
        r->count -= m;
    }
    return w;
}

static size_t fine_drain(rung *r, heap_ent *out)
{
    size_t w = 0;
    for (uint64_t j = r->cur; j < r->nb && r->count; j++) {
        fbucket *b = &r->u.fb[j];
        if (!b->n) continue;
        memcpy(out + w, b->v, b->n * sizeof *out);
        w += b->n;
        r->count -= b->n;
        b->n = 0;
    }
    return w;
}

/* Move every queued entry to top, dropping cancelled ones if `drop`, and forget the rungs
 * (the next pop starts an epoch). Used by compaction, renumbering and leaving heap mode.
 * Fails (ES_ENOMEM) only before moving anything. */
static int gather_to_top(sim_kernel *k, int drop)
{
    fix_hole(k);
    size_t cnt = k->n - k->head;
    size_t total = k->top_n + cnt + k->coarse.count + k->fine.count;
    if (top_grow(k, total) != ES_OK) return ES_ENOMEM;
    heap_ent *t = k->top;
    size_t w = k->top_n;
    if (cnt) memcpy(t + w, k->heap + k->head, cnt * sizeof *t);
    w += cnt;
    k->head = k->n = 0;
    w += fine_drain(&k->fine, t + w);
    w += coarse_drain(k, t + w);
    k->top_n = w;
    ladder_reset(k);
    if (drop) {
        w = 0;
        for (size_t i = 0; i < k->top_n; i++) {
            uint32_t idx = (uint32_t)(t[i].key & SLOT_MASK);
            if (k->slots[idx].state == SLOT_CANCELLED)
                zombie_release(k, idx);
            else
                t[w++] = t[i];
        }
        k->top_n = w;
        k->cancelled = 0;
    }
    return ES_OK;
}

static int cmp_ent(const void *a, const void *b)
{
    const heap_ent *x = a, *y = b;
    return ent_lt(x, y) ? -1 : ent_lt(y, x) ? 1 : 0;
}

/* The sequence counter reached its limit: renumber all entries 0..n-1 by rank, which keeps
 * every pairwise order. O(n log n) once per 2^32 schedules. */
static int renumber(sim_kernel *k)
{
    ES_TRY(gather_to_top(k, 1));
    qsort(k->top, k->top_n, sizeof(heap_ent), cmp_ent);
    for (size_t i = 0; i < k->top_n; i++)
        k->top[i].key = (k->top[i].key & ~SEQ_MASK) | ((uint64_t)i << SEQ_SHIFT);
    k->seq = k->top_n;
    return ES_OK;
}

/* Start an epoch: lay a new coarse rung over top (see the comment on the queue).
 * Precondition: the bottom and both rungs are empty, top is not. */
static int start_epoch(sim_kernel *k)
{
    size_t m = k->top_n;
    heap_ent *t = k->top;
    if (m <= HEAP_MODE_ENTER) {
        ES_TRY(heap_grow(k, m));
        memcpy(k->heap, t, m * sizeof *t);
        k->head = 0;
        k->n = m;
        k->top_n = 0;
        heapify(k->heap, m);
        ladder_heap_mode(k);
        return ES_OK;
    }
    sim_time tmin = t[0].time;
    for (size_t i = 1; i < m; i++)
        tmin = t[i].time < tmin ? t[i].time : tmin;
    /* Order statistics of fixed sample positions: deterministic, and good enough, since a
     * poor estimate costs only speed. */
    sim_time smp[EPOCH_SAMPLES];
    for (size_t i = 0; i < EPOCH_SAMPLES; i++) {
        sim_time v = t[(i * 2 + 1) * m / (2 * EPOCH_SAMPLES)].time;
        size_t j = i;
        for (; j > 0 && smp[j - 1] > v; j--)
            smp[j] = smp[j - 1];
        smp[j] = v;
    }
    /* Entries per ps near the front, hence the coarse width that gives FINE_NOMINAL fine
     * buckets of BUCKET_TARGET entries. */
    double front = (double)(smp[EPOCH_FRONT] - tmin) + 1.0;
    double density = (double)m * (EPOCH_FRONT + 0.5) / EPOCH_SAMPLES / front;
    double width = (double)BUCKET_TARGET * FINE_NOMINAL / density;
    sim_time span = smp[EPOCH_QUANT] - tmin;
    uint64_t maxnb = m / 16 + 1; /* bounds the cost of skipping empty buckets */
    unsigned sh = 0;
    while (sh < 63 && ((double)((uint64_t)1 << sh) * 2 <= width || (span >> sh) >= maxnb))
        sh++;
    uint64_t nb = (span >> sh) + 1;

    rung *r = &k->coarse;
    ES_TRY(coarse_reserve(r, nb));
    ES_TRY(chunk_reserve(k, m / CK_ENTS + nb)); /* the fill below cannot fail */
    r->base = tmin;
    r->shift = sh;
    r->nb = nb;
    r->cur = 0;
    rung_set_empty(&k->fine, 0);
    k->heap_mode = 0;
    size_t w = 0;
    for (size_t i = 0; i < m; i++) {
        heap_ent e = t[i];
        uint64_t j = (e.time - tmin) >> sh; /* top holds nothing below tmin */
        if (j < nb)
            (void)bucket_push(k, &r->u.bk[j], e);
        else
            t[w++] = e;
    }
    r->count += m - w;
    k->top_n = w;
    return ES_OK;
}

/* Split coarse bucket c (not empty) into a new fine rung sized to its count. */
static int expand_coarse(sim_kernel *k, uint64_t c)
{
    rung *co = &k->coarse, *fi = &k->fine;
    bucket *b = &co->u.bk[c];
    unsigned lg = 0;
    while (lg < FINE_MAX_LG && ((uint64_t)BUCKET_TARGET << lg) < b->n)
        lg++;
    if (lg > co->shift) lg = co->shift;
    ES_TRY(fine_reserve(fi, (uint64_t)1 << lg));
    fi->base = co->base + (c << co->shift);
    fi->shift = co->shift - lg;
    fi->nb = (uint64_t)1 << lg;
    fi->cur = 0;
    uint32_t left = b->n, ci = b->first;
    while (left) {
        const chunk *ch = &k->ck[ci];
        uint32_t m = left < CK_ENTS ? left : CK_ENTS;
        for (uint32_t i = 0; i < m; i++) {
            heap_ent e = ch->e[i];
            /* These events run within the next ~b->n events: pull their slots towards L2
             * now, many misses in flight at once, rather than one at a time as each runs. */
            SK_PREFETCH_L2(&k->slots[e.key & SLOT_MASK]);
            if (SK_UNLIKELY(fbucket_push(&fi->u.fb[(e.time - fi->base) >> fi->shift], e) !=
                            ES_OK)) {
                /* Out of memory: undo, leaving the coarse bucket as it was. */
                for (uint64_t x = 0; x < fi->nb; x++)
                    fi->u.fb[x].n = 0;
                rung_set_empty(fi, 0);
                return ES_ENOMEM;
            }
        }
        left -= m;
        ci = ch->next;
    }
    fi->count = b->n;
    co->count -= b->n;
    /* Give the chunks back (bucket_take with nowhere to copy would be a second pass). */
    for (uint32_t x = b->first, l = b->n; l;) {
        uint32_t next = k->ck[x].next;
        l -= l < CK_ENTS ? l : CK_ENTS;
        chunk_put(k, x);
        x = next;
    }
    b->n = 0;
    b->fill = CK_ENTS;
    return ES_OK;
}

/* Make the bottom non-empty (precondition: it is empty, and some entry is queued). */
static int refill(sim_kernel *k)
{
    rung *fi = &k->fine, *co = &k->coarse;
    while (k->n == 0) {
        if (fi->cur < fi->nb) {
            fbucket *b = &fi->u.fb[fi->cur++];
            size_t m = b->n;
            if (!m) continue;
            if (m > k->heap_cap) ES_TRY(heap_grow(k, m));
            if (m <= SORT_MAX) {
                rank_sort(k->heap, b->v, m);
                k->bot_heap = 0;
            } else {
                memcpy(k->heap, b->v, m * sizeof *b->v);
                heapify(k->heap, m);
                k->bot_heap = 1;
            }
            k->head = 0;
            k->n = m;
            fi->count -= m;
            b->n = 0;
            /* The next bucket's events run next: start loading their slots now, so that the
             * misses overlap this bucket's events. */
            if (fi->cur < fi->nb) {
                const fbucket *nx = &fi->u.fb[fi->cur];
                size_t pm = nx->n < 8 ? nx->n : 8;
                for (size_t i = 0; i < pm; i++)
                    SK_PREFETCH(&k->slots[nx->v[i].key & SLOT_MASK]);
            }
        } else if (co->cur < co->nb) {
            uint64_t c = co->cur;
            if (co->u.bk[c].n) ES_TRY(expand_coarse(k, c));
            co->cur = c + 1;
        } else {
            ES_TRY(start_epoch(k));
        }
    }
    return ES_OK;
}

/* ---- kernel ----------------------------------------------------------------------------- */

int sim_kernel_create(const sim_kernel_config *cfg, sim_kernel **out)
{
    if (!out) return ES_EINVAL;
    *out = NULL;
    size_t cap = cfg && cfg->initial_capacity ? cfg->initial_capacity : 1024;
    size_t maxp = cfg && cfg->max_pending ? cfg->max_pending : SIM_MAX_PENDING;
    if (maxp > SIM_MAX_PENDING || cap > SIM_MAX_PENDING) return ES_EINVAL;
    if (cap > maxp) cap = maxp;
    uint64_t seq_limit = cfg && cfg->seq_limit ? cfg->seq_limit : (UINT64_C(1) << SEQ_BITS);
    if (seq_limit > (UINT64_C(1) << SEQ_BITS)) return ES_EINVAL;

    sim_kernel *k = calloc(1, sizeof *k);
    if (!k) return ES_ENOMEM;
    k->free_head = NO_SLOT;
    k->ck_free = NO_CHUNK;
    k->seq_limit = seq_limit;
    k->max_pending = maxp;
    ladder_heap_mode(k);
    if (heap_grow(k, 1024) != ES_OK || slots_grow(k, cap) != ES_OK) goto fail;
    *out = k;
    return ES_OK;
fail:
    sim_kernel_destroy(k);
    return ES_ENOMEM;
}

void sim_kernel_destroy(sim_kernel *k)
{
    if (!k) return;
    sim_clock *c = k->clocks;
    while (c) {
        sim_clock *next = c->next;
        free(c->name);
        free(c->comps);
        free(c->active);
        free(c);
        c = next;
    }
    free(k->coarse.u.bk);
    for (size_t j = 0; j < k->fine.bk_cap; j++)
        free(k->fine.u.fb[j].v);
    free(k->fine.u.fb);
    free(k->ck);
    free(k->top);
    free(k->heap_raw);
    free(k->slots);
    free(k->names);
    free(k);
}

/* ---- scheduling ------------------------------------------------------------------------- */

static sim_event_id schedule_fail(sim_kernel *k, int code)
{
    k->last_err = code;
    return 0;
}

static inline sim_event_id slot_fill(sim_kernel *k, uint32_t idx, sim_handler fn, void *arg,
                                     uint64_t data)
{
    ev_slot *s = &k->slots[idx];
    k->free_head = (uint32_t)s->data;
    s->fn = fn;
    s->arg = arg;
    s->data = data;
    s->state = SLOT_PENDING;
    k->seq++;
    k->live++;
    return make_id(s->gen, idx);
}

/* Queue e in the tier its time selects, growing storage as needed. */
static int enqueue(sim_kernel *k, heap_ent e)
{
    uint64_t j1 = bucket_of(&k->coarse, e.time);
    if (j1 >= k->coarse.cur) {
        if (j1 < k->coarse.nb) {
            ES_TRY(bucket_push(k, &k->coarse.u.bk[j1], e));
            k->coarse.count++;
            return ES_OK;
        }
        ES_TRY(top_grow(k, k->top_n + 1));
        k->top[k->top_n++] = e;
        return ES_OK;
    }
    uint64_t j2 = bucket_of(&k->fine, e.time);
    if (j2 >= k->fine.cur) {
        ES_TRY(fbucket_push(&k->fine.u.fb[j2], e));
        k->fine.count++;
        return ES_OK;
    }
    return bot_insert(k, e);
}

/* Everything the inline fast path leaves out: argument errors, slot growth, renumbering,
 * storage growth, heap insertion. */
static SK_NOINLINE sim_event_id schedule_slow(sim_kernel *k, sim_time when, int prio,
                                              sim_handler fn, void *arg, uint64_t data)
{
    if (when < k->now) return schedule_fail(k, ES_ERANGE);
    if (!fn || prio < SIM_PRIO_MIN || prio > SIM_PRIO_MAX) return schedule_fail(k, ES_EINVAL);
    if (k->free_head == NO_SLOT) {
        if (k->nslots >= k->max_pending) return schedule_fail(k, ES_ERANGE);
        int rc = slots_grow(k, (size_t)k->nslots + 1);
        if (rc != ES_OK) return schedule_fail(k, rc);
    }
    if (k->seq >= k->seq_limit) {
        int rc = renumber(k);
        if (rc != ES_OK) return schedule_fail(k, rc);
    }
    uint32_t idx = k->free_head;
    heap_ent e;
    e.time = when;
    e.key = ((uint64_t)(prio - SIM_PRIO_MIN) << PRIO_SHIFT) | (k->seq << SEQ_SHIFT) | idx;
    int rc = enqueue(k, e);
    if (rc != ES_OK) return schedule_fail(k, rc);
    return slot_fill(k, idx, fn, arg, data);
}

/* The hot path: an append to a bucket tail (or top) with room, a bottom run extended at its
 * front, or the root of a bottom heap replaced. Anything else is a tail call to
 * schedule_slow, which starts over. */
static inline sim_event_id schedule_fast(sim_kernel *k, sim_time when, int prio, sim_handler fn,
                                         void *arg, uint64_t data)
{
    uint32_t idx = k->free_head;
    if (SK_UNLIKELY(when < k->now || !fn ||
                    (unsigned)(prio - SIM_PRIO_MIN) > (unsigned)(SIM_PRIO_MAX - SIM_PRIO_MIN) ||
                    idx == NO_SLOT || k->seq >= k->seq_limit))
        return schedule_slow(k, when, prio, fn, arg, data);
    heap_ent e;
    e.time = when;
    e.key = ((uint64_t)(prio - SIM_PRIO_MIN) << PRIO_SHIFT) | (k->seq << SEQ_SHIFT) | idx;

    uint64_t j1 = bucket_of(&k->coarse, when);
    if (SK_LIKELY(j1 >= k->coarse.cur)) {
        if (j1 < k->coarse.nb) {
            bucket *b = &k->coarse.u.bk[j1];
            if (SK_UNLIKELY(b->fill == CK_ENTS)) return schedule_slow(k, when, prio, fn, arg, data);
            k->ck[b->last].e[b->fill++] = e;
            b->n++;
            k->coarse.count++;
        } else {
            if (SK_UNLIKELY(k->top_n == k->top_cap))
                return schedule_slow(k, when, prio, fn, arg, data);
            k->top[k->top_n++] = e;
        }
    } else {
        uint64_t j2 = bucket_of(&k->fine, when);
        if (j2 >= k->fine.cur) {
            fbucket *b = &k->fine.u.fb[j2];
            if (SK_UNLIKELY(b->n == b->cap)) return schedule_slow(k, when, prio, fn, arg, data);
            b->v[b->n++] = e;
            k->fine.count++;
        } else if (!k->bot_heap && k->head > 0 && ent_lt(&e, &k->heap[k->head])) {
            k->heap[--k->head] = e;
        } else if (k->root_hole) {
            k->root_hole = 0;
            heap_replace_root(k->heap, k->n, e);
        } else {
            return schedule_slow(k, when, prio, fn, arg, data);
        }
    }
    return slot_fill(k, idx, fn, arg, data);
}

sim_event_id sim_schedule_at(sim_kernel *k, sim_time when, int prio, sim_handler fn, void *arg,
                             uint64_t data)
{
    return schedule_fast(k, when, prio, fn, arg, data);
}

sim_event_id sim_schedule(sim_kernel *k, sim_time delay, int prio, sim_handler fn, void *arg,
                          uint64_t data)
{
    sim_time when = k->now + delay;
    if (SK_UNLIKELY(when < delay)) return schedule_fail(k, ES_ERANGE);
    return schedule_fast(k, when, prio, fn, arg, data);
}

/* The slot of a pending event, or NULL for a stale/unknown handle. */
static ev_slot *pending_slot(const sim_kernel *k, sim_event_id id)
{
    uint64_t idx = (id & 0xffffffffu) - 1; /* 0 (no event) wraps to a huge index */
    if (idx >= k->nslots) return NULL;
    ev_slot *s = &k->slots[idx];
    if (s->gen != (uint32_t)(id >> 32) || s->state != SLOT_PENDING) return NULL;
    return s;
}

int sim_cancel(sim_kernel *k, sim_event_id id)
{
    ev_slot *s = pending_slot(k, id);
    if (!s) return 0;
    s->state = SLOT_CANCELLED;
    s->gen++;
    k->live--;
    k->cancelled++;
    /* Cancellation is lazy (the entry stays queued until it reaches the bottom, where the run
     * loop drops it), which keeps every tier free of position bookkeeping; this bounds the
     * garbage by the live count. */
    if (k->cancelled > 1024 && k->cancelled > k->live) (void)gather_to_top(k, 1);
    return 1;
}

int sim_event_pending(const sim_kernel *k, sim_event_id id)
{
    return pending_slot(k, id) != NULL;
}

int sim_event_set_name(sim_kernel *k, sim_event_id id, const char *name)
{
    if (!pending_slot(k, id)) return ES_EINVAL;
    if (!k->names) {
        k->names = calloc(k->nslots, sizeof *k->names);
        if (!k->names) return ES_ENOMEM;
    }
    k->names[(id & 0xffffffffu) - 1] = name;
    return ES_OK;
}

const char *sim_event_name(const sim_kernel *k, sim_event_id id)
{
    if (!k->names || !pending_slot(k, id)) return NULL;
    return k->names[(id & 0xffffffffu) - 1];
}

const char *sim_current_event_name(const sim_kernel *k)
{
    return k->running ? k->cur_name : NULL;
}

int sim_last_error(const sim_kernel *k)
{
    return k->last_err;
}

/* ---- run loop --------------------------------------------------------------------------- */

/* Bring the earliest live event to the front of the bottom, refilling it and dropping
 * cancelled entries met on the way. Returns 1, 0 if nothing is pending, or a negative status
 * (no memory for a refill). Precondition: no root hole. */
static int queue_front(sim_kernel *k)
{
    for (;;) {
        if (k->live == 0) {
            if (k->n - k->head + k->coarse.count + k->fine.count + k->top_n)
                (void)gather_to_top(k, 1); /* only cancelled entries are left */
            return 0;
        }
        if (k->n == 0) ES_TRY(refill(k));
        uint32_t idx = (uint32_t)(k->heap[k->head].key & SLOT_MASK);
        if (k->slots[idx].state == SLOT_PENDING) return 1;
        bot_pop(k);
        zombie_release(k, idx);
        k->cancelled--;
    }
}

int sim_run(sim_kernel *k, const sim_run_limits *lim)
{
    if (k->running) return ES_ESTATE;
    sim_time until = lim ? lim->until : SIM_TIME_MAX;
    k->stop_at = UINT64_MAX;
    if (lim && lim->max_events && lim->max_events <= UINT64_MAX - k->executed)
        k->stop_at = k->executed + lim->max_events;
    int reason;

    k->running = 1;
    k->stop_req = 0;
    for (;;) {
        if (SK_UNLIKELY(k->n == 0 ||
                        k->slots[k->heap[k->head].key & SLOT_MASK].state != SLOT_PENDING)) {
            int rc = queue_front(k);
            if (rc <= 0) {
                reason = rc == 0 ? SIM_STOP_EMPTY : rc;
                break;
            }
        }
        heap_ent top = k->heap[k->head];
        if (SK_UNLIKELY(top.time > until)) {
            if (until > k->now) k->now = until;
            reason = SIM_STOP_UNTIL;
            break;
        }
        uint32_t idx = (uint32_t)(top.key & SLOT_MASK);
        ev_slot *s = &k->slots[idx];
        sim_handler fn = s->fn;
        void *arg = s->arg;
        uint64_t data = s->data;
        s->gen++;
        slot_release(k, idx);
        if (SK_UNLIKELY(k->names != NULL)) {
            k->cur_name = k->names[idx];
            k->names[idx] = NULL;
        }
        k->live--;
        k->now = top.time;
        if (k->bot_heap) {
            k->root_hole = 1;
            /* The next event is (unless the handler schedules an earlier one) the smallest
             * child of the root: start loading its slot so that the miss overlaps the
             * handler. */
            if (k->n > HEAP_D) {
                size_t m = min_child4(k->heap, 1);
                SK_PREFETCH(&k->slots[k->heap[m].key & SLOT_MASK]);
            }
        } else if (++k->head == k->n) {
            k->head = k->n = 0;
        }

        fn(k, arg, data);

        fix_hole(k);
        if (SK_UNLIKELY(++k->executed == k->stop_at)) { /* the count, or sim_stop */
            reason = k->stop_req ? (k->fault ? k->fault : SIM_STOP_REQUESTED) : SIM_STOP_MAX_EVENTS;
            k->fault = 0;
            break;
        }
    }
    k->running = 0;
    k->cur_name = NULL;
    return reason;
}

/* One test per event serves both stop conditions: a request moves the count limit to the
 * event now running. */
void sim_stop(sim_kernel *k)
{
    k->stop_req = 1;
    k->stop_at = k->executed + 1;
}

sim_time sim_now(const sim_kernel *k)
{
    return k->now;
}

uint64_t sim_events_executed(const sim_kernel *k)
{
    return k->executed;
}

size_t sim_pending(const sim_kernel *k)
{
    return k->live;
}

int sim_next_time(sim_kernel *k, sim_time *t)
{
    fix_hole(k);
    if (queue_front(k) <= 0) return 0;
    if (t) *t = k->heap[k->head].time;
    return 1;
}

/* ---- clock domains ----------------------------------------------------------------------
 * A domain is one self-rescheduling event: at each edge it ticks the awake components in id
 * order and, if any is still awake, schedules the next edge. Waking only marks a component
 * (and schedules the domain if it was idle), so a domain costs one queue event per active
 * cycle whatever its number of components, and nothing while all sleep. */

static void clock_edge(sim_kernel *k, void *arg, uint64_t cycle);

sim_time sim_clock_edge_time(const sim_clock *clk, uint64_t cycle)
{
    if (cycle > (SIM_TIME_MAX - clk->phase) / clk->period) return SIM_TIME_MAX;
    return clk->phase + cycle * clk->period;
}

uint64_t sim_clock_next_cycle(const sim_clock *clk)
{
    sim_time now = clk->k->now;
    if (now < clk->phase) return 0;
    return (now - clk->phase) / clk->period + 1;
}

uint64_t sim_clock_cycle(const sim_clock *clk)
{
    sim_time now = clk->k->now;
    if (now < clk->phase) return 0;
    return (now - clk->phase) / clk->period;
}

sim_time sim_clock_period(const sim_clock *clk)
{
    return clk->period;
}

const char *sim_clock_name(const sim_clock *clk)
{
    return clk->name;
}

uint64_t sim_clock_edges(const sim_clock *clk)
{
    return clk->edges;
}

static int clock_schedule(sim_clock *clk, uint64_t cycle)
{
    sim_time t = sim_clock_edge_time(clk, cycle);
    if (t == SIM_TIME_MAX) return ES_ERANGE;
    if (!sim_schedule_at(clk->k, t, SIM_PRIO_CLOCK, clock_edge, clk, cycle))
        return clk->k->last_err;
    clk->scheduled = 1;
    return ES_OK;
}

int sim_clock_create(sim_kernel *k, const char *name, sim_time period, sim_time phase,
                     sim_clock **out)
{
    if (!out) return ES_EINVAL;
    *out = NULL;
    if (!k || period == 0) return ES_EINVAL;
    sim_clock *c = calloc(1, sizeof *c);
    if (!c) return ES_ENOMEM;
    if (name && !(c->name = es_strdup(name))) {
        free(c);
        return ES_ENOMEM;
    }
    c->k = k;
    c->period = period;
    c->phase = phase;
    c->next = k->clocks;
    k->clocks = c;
    *out = c;
    return ES_OK;
}

int sim_clock_create_hz(sim_kernel *k, const char *name, double hz, sim_time phase, sim_clock **out)
{
    sim_time period = sim_period_from_hz(hz);
    if (!period) {
        if (out) *out = NULL;
        return ES_EINVAL;
    }
    return sim_clock_create(k, name, period, phase, out);
}

int sim_clock_attach(sim_clock *clk, sim_tick_fn tick, void *arg, sim_comp_id *out)
{
    if (!clk || !tick || !out) return ES_EINVAL;
    if (clk->ncomps == clk->capcomps) {
        if (clk->capcomps >= UINT32_MAX / 2) return ES_ERANGE;
        uint32_t cap = clk->capcomps ? clk->capcomps * 2 : 8;
        clk_comp *c = realloc(clk->comps, cap * sizeof *c);
        if (!c) return ES_ENOMEM;
        clk->comps = c;
        uint32_t *a = realloc(clk->active, cap * sizeof *a);
        if (!a) return ES_ENOMEM;
        clk->active = a;
        clk->capcomps = clk->capactive = cap;
    }
    clk_comp *c = &clk->comps[clk->ncomps];
    memset(c, 0, sizeof *c);
    c->tick = tick;
    c->arg = arg;
    *out = clk->ncomps++;
    return ES_OK;
}

int sim_clock_awake(const sim_clock *clk, sim_comp_id comp)
{
    return comp < clk->ncomps && clk->comps[comp].awake;
}

int sim_clock_wake(sim_clock *clk, sim_comp_id comp)
{
    if (!clk || comp >= clk->ncomps) return ES_EINVAL;
    uint64_t nc = sim_clock_next_cycle(clk);
    clk_comp *c = &clk->comps[comp];
    c->keep_cycle = nc;
    if (!c->awake) {
        c->awake = 1;
        c->first_cycle = nc;
        /* active has room for every component, so appending cannot fail. */
        if (clk->nactive && clk->active[clk->nactive - 1] > comp) clk->unsorted = 1;
        clk->active[clk->nactive++] = comp;
    }
    /* If the domain is scheduled, its event is at the edge >= now, i.e. at nc or the one
     * before: either way the chain reaches nc, because the component is now awake. */
    if (!clk->scheduled) return clock_schedule(clk, nc);
    return ES_OK;
}

static void sort_ids(uint32_t *a, uint32_t n)
{
    /* Insertion sort: the list is sorted except for the few ids woken since the last edge. */
    for (uint32_t i = 1; i < n; i++) {
        uint32_t v = a[i], j = i;
        while (j > 0 && a[j - 1] > v) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
}

static void clock_edge(sim_kernel *k, void *arg, uint64_t cycle)
{
    sim_clock *clk = arg;
    clk->scheduled = 0;
    clk->edges++;
    if (clk->unsorted) {
        sort_ids(clk->active, clk->nactive);
        clk->unsorted = 0;
    }
    /* Components woken during this edge are appended beyond n0: they are not ticked now
     * (their first edge is the next one) and are kept after the compaction below. Arrays are
     * re-read through clk because a tick may attach components (realloc). */
    uint32_t n0 = clk->nactive, w = 0;
    for (uint32_t i = 0; i < n0; i++) {
        uint32_t id = clk->active[i];
        clk_comp *c = &clk->comps[id];
        if (c->first_cycle > cycle) {
            clk->active[w++] = id;
            continue;
        }
        int more = c->tick(k, c->arg, cycle);
        c = &clk->comps[id];
        if (more || c->keep_cycle > cycle)
            clk->active[w++] = id;
        else
            c->awake = 0;
    }
    uint32_t n1 = clk->nactive;
    if (n1 > n0) clk->unsorted = 1;
    for (uint32_t i = n0; i < n1; i++)
        clk->active[w++] = clk->active[i];
    clk->nactive = w;
    if (w && !clk->scheduled) {
        int rc = clock_schedule(clk, cycle + 1);
        if (rc != ES_OK && !k->fault) {
            k->fault = rc; /* sim_run stops and returns it */
            sim_stop(k);
        }
    }
}
