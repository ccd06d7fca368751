/*
 * jobs.h - the settlement service's background worker: one thread, started
 * by st_start() and stopped by st_stop() (service.h), with its own
 * PostgreSQL session and JSON-RPC client, that runs the registered jobs
 * periodically. HTTP handlers never wait for it.
 *
 * Jobs. A job is one line of the table in jobs.c:
 *     {"indexer", jobs_indexer_run, jobs_indexer_release, NULL},
 * where run(env, &state) does one round outside any transaction and returns
 * the milliseconds until its next round (0: again at once, e.g. while
 * catching up; at most JOBS_DELAY_MS_MAX), and release(env, state) frees
 * what run() kept in *state (NULL until the first run allocates it) when
 * the worker stops. A module that only needs its tick called on the
 * operator's behalf (the transaction manager, batch_job_tick,
 * anchor_job_tick) gives a struct jobs_module instead of run/release:
 *     {"txmgr", NULL, NULL, &st_job_txmgr},
 * and the worker's one adapter does the rest: off (off_ms) without an
 * operator key (or VAULT_ADDRESS, when needs_vault), its state (state_bytes,
 * zeroed, then init) allocated at the first round and freed at the stop,
 * tick every every_ms, a warn line `round_failed` error=... when a tick
 * fails. Jobs run one after another in the
 * order they fall due (a slow job delays the others: keep a round
 * bounded). Part-2 jobs read confirmed chain events as indexer.h says. A
 * job keeps its errors to itself (logs, metrics, health); the worker only
 * reconnects the session when libpq reports it broken, and then bumps
 * env->generation: a job that held session state (an advisory lock, a
 * prepared statement) must set it up again.
 *
 * The indexer job (indexer.h). Without VAULT_ADDRESS it does not index and
 * reports "off" (health degraded). Otherwise it takes the indexer's leader
 * lock (INDEXER_LOCK_KEY_DEFAULT): a process that does not get it is on
 * standby, retries every tune.indexer_leader_retry_ms and serves its API
 * normally. The leader polls every tune.indexer_poll_ms, back to back while
 * a poll did not catch up, with CONFIRMATIONS from the configuration
 * (0..INDEXER_CONFIRMATIONS_MAX, anything above is reported invalid) and
 * start block tune.indexer_start_block. A failed poll is retried after
 * tune.indexer_retry_ms (warn log once per distinct failure, health
 * degraded until a poll succeeds). A deep reorg halts it for good (until a
 * restart by an operator): an error log line (repeated every
 * JOBS_HALT_REMIND_MS), health degraded with the check "indexer" naming
 * the halt, settlement_indexer_halted 1.
 *
 * Metrics (service.h struct st_metrics, registered by st_start):
 *   settlement_indexer_halted, settlement_indexer_leader (gauges 0/1),
 *   settlement_indexer_head_block, settlement_indexer_indexed_block,
 *   settlement_indexer_confirmed_block (gauges), settlement_indexer_polls_total,
 *   settlement_indexer_errors_total, settlement_indexer_reorgs_total,
 *   settlement_indexer_revenue_events_total{status=seen|confirmed|orphaned},
 *   settlement_indexer_chain_events_total{status=seen|confirmed|orphaned}.
 *
 * Threads: the worker thread owns its session, rpc client and the jobs'
 * states; it writes struct jobs_indexer_status (mutex) and the metrics
 * (atomic), which handler threads read. jobs_start/jobs_stop belong to the
 * thread that runs st_start/st_stop. jobs_stop() is prompt: it wakes a
 * waiting worker at once; a round in progress finishes first (bounded by
 * the rpc timeouts JOBS_RPC_*_MS and PostgreSQL's statement timeout, and a
 * poll walks at most JOBS_INDEXER_BLOCKS_PER_POLL blocks).
 */
#ifndef SETTLEMENT_JOBS_H
#define SETTLEMENT_JOBS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "err.h"
#include "pg.h"
#include "rpc.h"

#define JOBS_MAX 8
#define JOBS_DELAY_MS_MAX 600000u
#define JOBS_PG_CONNECT_TIMEOUT_S 3u
#define JOBS_RECONNECT_MS 1000u /* between failed connection attempts */
#define JOBS_RPC_CONNECT_TIMEOUT_MS 1000u
#define JOBS_RPC_TOTAL_TIMEOUT_MS 5000u
#define JOBS_HALT_REMIND_MS 600000u
#define JOBS_INDEXER_POLL_MS 1000u
#define JOBS_INDEXER_RETRY_MS 2000u
#define JOBS_INDEXER_LEADER_RETRY_MS 2000u
#define JOBS_INDEXER_OFF_MS 60000u /* without VAULT_ADDRESS: nothing to do */
#define JOBS_INDEXER_BLOCKS_PER_POLL 2000u
#define JOBS_DETAIL_BYTES 200

struct st;

/* What a job's round gets. */
struct jobs_env {
    struct st *s;           /* the service: cfg, log, metrics (shared with handlers) */
    struct pg_session *pc;  /* the worker's session: connected, outside any transaction */
    struct rpc_client *rpc; /* the worker's client */
    uint64_t generation;    /* bumped at every reconnection of pc */
};

typedef uint32_t jobs_run_fn(struct jobs_env *env, void **state);
typedef void jobs_release_fn(struct jobs_env *env, void *state);

/* A module's tick as a job (see the top). tick() does one round on the
 * module's state (NULL when state_bytes is 0) and returns false, e saying
 * why, when it failed; it logs its own progress. */
struct jobs_module {
    const char *round_failed;                /* the warn line's msg */
    bool needs_vault;                        /* off without VAULT_ADDRESS too */
    uint32_t every_ms;                       /* between rounds (also after an allocation failure) */
    uint32_t off_ms;                         /* between looks while off */
    size_t state_bytes;                      /* 0: no state */
    void (*init)(void *state, struct st *s); /* on the zeroed state, once; may be NULL */
    bool (*tick)(void *state, struct jobs_env *env, struct err *e);
};

struct jobs_def {
    const char *name;
    jobs_run_fn *run;                 /* NULL for a module job */
    jobs_release_fn *release;         /* may be NULL */
    const struct jobs_module *module; /* instead of run/release; NULL for others */
};

/* Tunables; st_open() sets the defaults, a test may change them between
 * st_open() and st_start(). */
struct jobs_tuning {
    uint32_t indexer_poll_ms;         /* JOBS_INDEXER_POLL_MS */
    uint32_t indexer_retry_ms;        /* JOBS_INDEXER_RETRY_MS */
    uint32_t indexer_leader_retry_ms; /* JOBS_INDEXER_LEADER_RETRY_MS */
    uint64_t indexer_start_block;     /* 0: from genesis */
};

/* The indexer job's state as /healthz shows it (check "indexer"). */
enum jobs_indexer_state {
    JOBS_INDEXER_STARTING = 0, /* ok: no round yet */
    JOBS_INDEXER_OFF = 1,      /* degraded: VAULT_ADDRESS not set */
    JOBS_INDEXER_STANDBY = 2,  /* ok: another process leads */
    JOBS_INDEXER_LEADING = 3,  /* ok: the last poll succeeded */
    JOBS_INDEXER_FAILING = 4,  /* degraded: the last round failed (retried) */
    JOBS_INDEXER_INVALID = 5,  /* degraded: a setting or the stored cursor does not fit */
    JOBS_INDEXER_HALTED = 6    /* degraded: deep reorg, stopped for good */
};

struct jobs_indexer_status {
    pthread_mutex_t mu;
    bool ready; /* mu initialized */
    enum jobs_indexer_state state;
    char detail[JOBS_DETAIL_BYTES];
};

/* The worker. Private fields: use the functions. */
struct jobs {
    struct st *s;
    pthread_t thread;
    bool running;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    bool sync_ready; /* mu and wake initialized */
    bool stop;       /* under mu */
    struct pg_session pc;
    struct rpc_client rpc;
    bool rpc_ready;
    bool db_failing;
    uint64_t generation;
    void *state[JOBS_MAX];
    uint64_t due_ms[JOBS_MAX];
};

void jobs_tuning_default(struct jobs_tuning *t);

void jobs_indexer_status_init(struct jobs_indexer_status *st);
void jobs_indexer_status_release(struct jobs_indexer_status *st);
void jobs_indexer_status_set(struct jobs_indexer_status *st, enum jobs_indexer_state state,
                             const char *detail);
/* The state, and its detail into detail[0..detail_size). */
enum jobs_indexer_state jobs_indexer_status_get(struct jobs_indexer_status *st, char *detail,
                                                size_t detail_size);
/* "starting", "off", "standby", "leading", "failing", "invalid", "halted". */
const char *jobs_indexer_state_name(enum jobs_indexer_state state);

/* Starts the worker for `s` (which must outlive it). false (e says why)
 * leaves nothing running. */
WUR bool jobs_start(struct jobs *w, struct st *s, struct err *e);

/* Wakes and joins the worker, releases every job's state, the session and
 * the client. Idempotent; a zeroed struct is fine. */
void jobs_stop(struct jobs *w);

/* ---- jobs (one line each in jobs.c's table) ---------------------------------------- */
uint32_t jobs_indexer_run(struct jobs_env *env, void **state);
void jobs_indexer_release(struct jobs_env *env, void *state);

#endif
