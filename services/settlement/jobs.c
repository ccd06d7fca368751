/*
 * jobs.c - the settlement service's background worker and its jobs (see
 * jobs.h). Layers: the job table -> the indexer status -> the worker loop
 * (session, wait, run what is due) -> the indexer job.
 */
#include "jobs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "indexer.h"
#include "service.h"

/* Add a job here (and its declaration in its module's header). */
static const struct jobs_def jobs_table[] = {
    {"indexer", jobs_indexer_run, jobs_indexer_release, NULL},
    {"batches", NULL, NULL, &st_job_batches}, /* api_settlements.c */
    {"anchors", NULL, NULL, &st_job_anchors}, /* api_recordings.c */
    {"txmgr", NULL, NULL, &st_job_txmgr},     /* api_passes.c */
};
#define JOBS_COUNT (sizeof jobs_table / sizeof jobs_table[0])

/* The indexer job's state between rounds (owned by the worker). */
struct ix_job {
    struct indexer ix;
    bool ready;          /* ix holds the leader lock on the session of `generation` */
    uint64_t generation; /* env->generation when ix was set up */
    enum jobs_indexer_state last_state;
    char last_detail[JOBS_DETAIL_BYTES];
    uint64_t halt_logged_ms;
};

static void *jobs_main(void *arg);
static bool jobs_stopping(struct jobs *w);
static void jobs_wait_until(struct jobs *w, uint64_t until_ms);
static bool jobs_session(struct jobs *w);
static void jobs_release_states(struct jobs *w);
static uint32_t jobs_run_one(const struct jobs_def *d, struct jobs_env *env, void **state);
static void ix_report(struct st *s, struct ix_job *j, enum jobs_indexer_state state,
                      const char *detail);
static void ix_metrics(struct st *s, const struct ix_job *j, const struct indexer_poll_report *rep);
static uint32_t ix_setup(struct jobs_env *env, struct ix_job *j);
static uint32_t ix_poll(struct jobs_env *env, struct ix_job *j);

_Static_assert(sizeof jobs_table / sizeof jobs_table[0] <= JOBS_MAX, "too many jobs");

/* ---- tuning and status ----------------------------------------------------------------- */

void jobs_tuning_default(struct jobs_tuning *t)
{
    memset(t, 0, sizeof *t);
    t->indexer_poll_ms = JOBS_INDEXER_POLL_MS;
    t->indexer_retry_ms = JOBS_INDEXER_RETRY_MS;
    t->indexer_leader_retry_ms = JOBS_INDEXER_LEADER_RETRY_MS;
}

void jobs_indexer_status_init(struct jobs_indexer_status *st)
{
    memset(st, 0, sizeof *st);
    ASSERT(pthread_mutex_init(&st->mu, NULL) == 0);
    st->ready = true;
    st->state = JOBS_INDEXER_STARTING;
}

void jobs_indexer_status_release(struct jobs_indexer_status *st)
{
    if (!st->ready)
        return;
    pthread_mutex_destroy(&st->mu);
    st->ready = false;
}

void jobs_indexer_status_set(struct jobs_indexer_status *st, enum jobs_indexer_state state,
                             const char *detail)
{
    ASSERT(st->ready);
    pthread_mutex_lock(&st->mu);
    st->state = state;
    snprintf(st->detail, sizeof st->detail, "%s", detail != NULL ? detail : "");
    pthread_mutex_unlock(&st->mu);
}

enum jobs_indexer_state jobs_indexer_status_get(struct jobs_indexer_status *st, char *detail,
                                                size_t detail_size)
{
    ASSERT(st->ready && detail_size > 0);
    pthread_mutex_lock(&st->mu);
    enum jobs_indexer_state state = st->state;
    snprintf(detail, detail_size, "%s", st->detail);
    pthread_mutex_unlock(&st->mu);
    return state;
}

const char *jobs_indexer_state_name(enum jobs_indexer_state state)
{
    static const char *const names[] = {"starting", "off",     "standby", "leading",
                                        "failing",  "invalid", "halted"};
    return (size_t)state < sizeof names / sizeof names[0] ? names[state] : "unknown";
}

/* ---- the worker ------------------------------------------------------------------------- */

bool jobs_start(struct jobs *w, struct st *s, struct err *e)
{
    memset(w, 0, sizeof *w);
    w->s = s;
    struct rpc_options opt;
    rpc_options_default(&opt);
    opt.connect_timeout_ms = JOBS_RPC_CONNECT_TIMEOUT_MS;
    opt.total_timeout_ms = JOBS_RPC_TOTAL_TIMEOUT_MS;
    opt.retries_max = 1;
    if (rpc_client_init(&w->rpc, s->cfg.eth_rpc_url, &opt, e) != RPC_OK)
        return false;
    w->rpc_ready = true;
    pthread_condattr_t ca;
    bool ok = pthread_condattr_init(&ca) == 0;
    ok = ok && pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0;
    ok = ok && pthread_mutex_init(&w->mu, NULL) == 0;
    if (ok && pthread_cond_init(&w->wake, &ca) != 0) {
        pthread_mutex_destroy(&w->mu);
        ok = false;
    }
    pthread_condattr_destroy(&ca);
    w->sync_ready = ok;
    if (ok && pthread_create(&w->thread, NULL, jobs_main, w) != 0)
        ok = false;
    w->running = ok;
    if (!ok) {
        jobs_stop(w);
        return !err_set(e, 1, "cannot start the settlement worker thread");
    }
    return true;
}

void jobs_stop(struct jobs *w)
{
    if (w->running) {
        pthread_mutex_lock(&w->mu);
        w->stop = true;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
        w->running = false;
    }
    jobs_release_states(w);
    if (w->sync_ready) {
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->mu);
        w->sync_ready = false;
    }
    pg_release(&w->pc);
    if (w->rpc_ready)
        rpc_client_release(&w->rpc);
    w->rpc_ready = false;
}

static void jobs_release_states(struct jobs *w)
{
    struct jobs_env env = {.s = w->s, .pc = &w->pc, .rpc = &w->rpc, .generation = w->generation};
    for (size_t i = 0; i < JOBS_COUNT; i++) {
        if (w->state[i] != NULL && jobs_table[i].module != NULL)
            free(w->state[i]);
        else if (w->state[i] != NULL && jobs_table[i].release != NULL)
            jobs_table[i].release(&env, w->state[i]);
        w->state[i] = NULL;
    }
}

static bool jobs_stopping(struct jobs *w)
{
    pthread_mutex_lock(&w->mu);
    bool stop = w->stop;
    pthread_mutex_unlock(&w->mu);
    return stop;
}

/* Waits until until_ms (monotonic) or a stop request, whichever is first. */
static void jobs_wait_until(struct jobs *w, uint64_t until_ms)
{
    pthread_mutex_lock(&w->mu);
    for (int spurious = 0; !w->stop && spurious < 1000; spurious++) {
        uint64_t now = clock_now_ms();
        if (now >= until_ms)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t left = until_ms - now;
        ts.tv_sec += (time_t)(left / 1000);
        ts.tv_nsec += (long)(left % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (pthread_cond_timedwait(&w->wake, &w->mu, &ts) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&w->mu);
}

/* A connected session, reconnected (generation bumped) when libpq says it
 * is broken; false (logged once per outage) when PostgreSQL is unreachable. */
static bool jobs_session(struct jobs *w)
{
    if (w->pc.conn != NULL && PQstatus(w->pc.conn) == CONNECTION_OK)
        return true;
    pg_release(&w->pc);
    struct err e = {0};
    if (pg_connect(&w->pc, w->s->cfg.database_url, JOBS_PG_CONNECT_TIMEOUT_S, &e) != PG_OK) {
        if (!w->db_failing)
            log_write(&w->s->log, LOG_WARN, "worker: PostgreSQL unreachable (retrying)",
                      LOG_KVS(log_str("error", e.msg)));
        w->db_failing = true;
        return false;
    }
    if (w->db_failing)
        log_write(&w->s->log, LOG_INFO, "worker: PostgreSQL reachable again", NULL, 0);
    w->db_failing = false;
    w->generation++;
    return true;
}

static void *jobs_main(void *arg)
{
    struct jobs *w = arg;
    uint64_t now = clock_now_ms();
    for (size_t i = 0; i < JOBS_COUNT; i++)
        w->due_ms[i] = now;
    while (!jobs_stopping(w)) {
        size_t next = 0;
        for (size_t i = 1; i < JOBS_COUNT; i++)
            if (w->due_ms[i] < w->due_ms[next])
                next = i;
        now = clock_now_ms();
        if (w->due_ms[next] > now) {
            jobs_wait_until(w, w->due_ms[next]);
            continue;
        }
        if (!jobs_session(w)) {
            jobs_wait_until(w, now + JOBS_RECONNECT_MS);
            continue;
        }
        struct jobs_env env = {
            .s = w->s, .pc = &w->pc, .rpc = &w->rpc, .generation = w->generation};
        uint32_t delay = jobs_run_one(&jobs_table[next], &env, &w->state[next]);
        w->due_ms[next] = clock_now_ms() + (delay < JOBS_DELAY_MS_MAX ? delay : JOBS_DELAY_MS_MAX);
    }
    return NULL;
}

/* One round of job d: its own run(), or the module adapter (jobs.h). */
static uint32_t jobs_run_one(const struct jobs_def *d, struct jobs_env *env, void **state)
{
    const struct jobs_module *m = d->module;
    if (m == NULL)
        return d->run(env, state);
    struct st *s = env->s;
    if (!s->operator_ready || (m->needs_vault && !s->cfg.vault_address_set))
        return m->off_ms;
    if (*state == NULL && m->state_bytes > 0) {
        if ((*state = calloc(1, m->state_bytes)) == NULL)
            return m->every_ms;
        if (m->init != NULL)
            m->init(*state, s);
    }
    struct err e = {0};
    if (!m->tick(*state, env, &e))
        log_write(&s->log, LOG_WARN, m->round_failed, LOG_KVS(log_str("error", e.msg)));
    return m->every_ms;
}

/* ---- the indexer job -------------------------------------------------------------------- */

/* Health status, metrics leader/halted, and one log line per change. */
static void ix_report(struct st *s, struct ix_job *j, enum jobs_indexer_state state,
                      const char *detail)
{
    jobs_indexer_status_set(&s->indexer_status, state, detail);
    http_metric_set(s->m.ix_leader, state == JOBS_INDEXER_LEADING);
    http_metric_set(s->m.ix_halted, state == JOBS_INDEXER_HALTED);
    bool changed = state != j->last_state || strcmp(detail, j->last_detail) != 0;
    j->last_state = state;
    snprintf(j->last_detail, sizeof j->last_detail, "%s", detail);
    if (!changed)
        return;
    static const enum log_level levels[] = {LOG_INFO, LOG_WARN,  LOG_INFO, LOG_INFO,
                                            LOG_WARN, LOG_ERROR, LOG_ERROR};
    const char *what = state == JOBS_INDEXER_HALTED
                           ? "INDEXER HALTED: reorg deeper than CONFIRMATIONS; operator action "
                             "needed (check the node, then restart)"
                           : "indexer state";
    log_write(&s->log, levels[state], what,
              LOG_KVS(log_str("state", jobs_indexer_state_name(state)), log_str("detail", detail)));
}

static void ix_metrics(struct st *s, const struct ix_job *j, const struct indexer_poll_report *rep)
{
    struct st_metrics *m = &s->m;
    struct indexer_progress p;
    indexer_progress(&p, &j->ix);
    http_metric_set(m->ix_head, (int64_t)rep->head);
    if (p.has_indexed)
        http_metric_set(m->ix_indexed, (int64_t)p.indexed_block);
    if (p.has_confirmed)
        http_metric_set(m->ix_confirmed, (int64_t)p.confirmed_through);
    http_metric_add(m->ix_revenue_seen, rep->events_seen);
    http_metric_add(m->ix_revenue_confirmed, rep->events_confirmed);
    http_metric_add(m->ix_revenue_orphaned, rep->events_orphaned);
    http_metric_add(m->ix_chain_seen, rep->chain_events_seen);
    http_metric_add(m->ix_chain_confirmed, rep->chain_events_confirmed);
    http_metric_add(m->ix_chain_orphaned, rep->chain_events_orphaned);
    http_metric_add(m->ix_reorgs, rep->reorgs);
}

/* Takes the leader lock and loads the cursor; the delay until the next round. */
static uint32_t ix_setup(struct jobs_env *env, struct ix_job *j)
{
    struct st *s = env->s;
    struct indexer_config cfg;
    indexer_config_default(&cfg);
    cfg.chain_id = s->cfg.chain_id;
    cfg.vault = s->vault;
    cfg.start_block = s->tune.indexer_start_block;
    cfg.confirmations = s->cfg.confirmations <= INDEXER_CONFIRMATIONS_MAX
                            ? (uint32_t)s->cfg.confirmations
                            : INDEXER_CONFIRMATIONS_MAX + 1; /* refused by indexer_init */
    cfg.blocks_per_poll_max = JOBS_INDEXER_BLOCKS_PER_POLL;
    cfg.log = &s->log;
    struct err e = {0};
    enum indexer_result r = indexer_init(&j->ix, env->pc, env->rpc, &cfg, &e);
    if (r == INDEXER_ERR_NOT_LEADER) {
        ix_report(s, j, JOBS_INDEXER_STANDBY, "another process leads the indexer");
        return s->tune.indexer_leader_retry_ms;
    }
    if (r != INDEXER_OK) {
        http_metric_add(s->m.ix_errors, 1);
        ix_report(s, j, r == INDEXER_ERR_BAD_INPUT ? JOBS_INDEXER_INVALID : JOBS_INDEXER_FAILING,
                  e.msg);
        return s->tune.indexer_retry_ms;
    }
    j->ready = true;
    j->generation = env->generation;
    ix_report(s, j, JOBS_INDEXER_LEADING, "leading");
    return 0;
}

/* One poll; the delay until the next round. */
static uint32_t ix_poll(struct jobs_env *env, struct ix_job *j)
{
    struct st *s = env->s;
    struct indexer_poll_report rep;
    struct err e = {0};
    enum indexer_result r = indexer_poll(&j->ix, &rep, &e);
    http_metric_add(s->m.ix_polls, 1);
    if (r == INDEXER_OK) {
        ix_metrics(s, j, &rep);
        ix_report(s, j, JOBS_INDEXER_LEADING, "leading");
        return rep.caught_up ? s->tune.indexer_poll_ms : 0;
    }
    http_metric_add(s->m.ix_errors, 1);
    if (r == INDEXER_ERR_DEEP_REORG) {
        j->halt_logged_ms = clock_now_ms();
        ix_report(s, j, JOBS_INDEXER_HALTED, e.msg);
        return s->tune.indexer_retry_ms;
    }
    ix_report(s, j, JOBS_INDEXER_FAILING, e.msg);
    if (env->pc->conn == NULL || PQstatus(env->pc->conn) != CONNECTION_OK)
        j->ready = false; /* the session, and its lock, are gone: set up again */
    return s->tune.indexer_retry_ms;
}

uint32_t jobs_indexer_run(struct jobs_env *env, void **state)
{
    struct st *s = env->s;
    struct ix_job *j = *state;
    if (j == NULL) {
        j = calloc(1, sizeof *j);
        if (j == NULL)
            return s->tune.indexer_retry_ms;
        j->last_state = JOBS_INDEXER_STARTING;
        *state = j;
    }
    if (!s->cfg.vault_address_set) {
        ix_report(s, j, JOBS_INDEXER_OFF, "VAULT_ADDRESS is not set: not indexing");
        return JOBS_INDEXER_OFF_MS;
    }
    if (j->ready && j->generation != env->generation)
        j->ready = false; /* reconnected: the old session's lock is gone */
    if (!j->ready)
        return ix_setup(env, j);
    if (indexer_halted(&j->ix)) {
        uint64_t now = clock_now_ms();
        if (now - j->halt_logged_ms >= JOBS_HALT_REMIND_MS) {
            j->halt_logged_ms = now;
            log_write(&s->log, LOG_ERROR, "indexer still halted",
                      LOG_KVS(log_str("detail", j->last_detail)));
        }
        return s->tune.indexer_retry_ms;
    }
    return ix_poll(env, j);
}

void jobs_indexer_release(struct jobs_env *env, void *state)
{
    struct ix_job *j = state;
    if (j->ready && j->generation == env->generation)
        indexer_release(&j->ix);
    free(j);
}
