/* respool.c - see respool.h. */
#include "respool.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static bool respool_copy_url(char *dst, size_t dst_size, const char *src);
static void respool_deadline(struct timespec *ts, uint32_t wait_ms);

static bool respool_copy_url(char *dst, size_t dst_size, const char *src)
{
    size_t n = strnlen(src, dst_size);
    if (n == dst_size)
        return false;
    memcpy(dst, src, n + 1);
    return true;
}

/* CLOCK_MONOTONIC deadline wait_ms from now (the condition uses that clock). */
static void respool_deadline(struct timespec *ts, uint32_t wait_ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(wait_ms / 1000u);
    ts->tv_nsec += (long)(wait_ms % 1000u) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

enum respool_result respool_init(struct respool *p, size_t size, const char *database_url,
                                 const char *rpc_url, uint32_t rpc_timeout_ms, struct err *e)
{
    memset(p, 0, sizeof *p);
    if (size == 0 || size > RESPOOL_SLOTS_MAX)
        return (enum respool_result)err_set(e, RESPOOL_ERR_BAD_INPUT, "pool size %zu outside 1..%d",
                                            size, RESPOOL_SLOTS_MAX);
    if (!respool_copy_url(p->database_url, sizeof p->database_url, database_url) ||
        (rpc_url != NULL && !respool_copy_url(p->rpc_url, sizeof p->rpc_url, rpc_url)))
        return (enum respool_result)err_set(e, RESPOOL_ERR_BAD_INPUT, "connection URL too long");
    if (rpc_timeout_ms > RPC_TIMEOUT_MS_MAX)
        return (enum respool_result)err_set(e, RESPOOL_ERR_BAD_INPUT, "rpc timeout %u ms above %d",
                                            rpc_timeout_ms, RPC_TIMEOUT_MS_MAX);
    p->size = size;
    p->rpc_timeout_ms = rpc_timeout_ms;
    pthread_condattr_t attr;
    ASSERT(pthread_condattr_init(&attr) == 0);
    ASSERT(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0);
    ASSERT(pthread_cond_init(&p->freed, &attr) == 0);
    pthread_condattr_destroy(&attr);
    ASSERT(pthread_mutex_init(&p->mu, NULL) == 0);
    return RESPOOL_OK;
}

enum respool_result respool_acquire(struct respool_slot **out, struct respool *p, uint32_t wait_ms,
                                    struct err *e)
{
    *out = NULL;
    if (wait_ms > RESPOOL_WAIT_MS_MAX)
        return (enum respool_result)err_set(e, RESPOOL_ERR_BAD_INPUT, "wait %u ms above %u",
                                            wait_ms, RESPOOL_WAIT_MS_MAX);
    struct timespec deadline;
    respool_deadline(&deadline, wait_ms);
    ASSERT(pthread_mutex_lock(&p->mu) == 0);
    for (;;) {
        for (size_t i = 0; i < p->size; i++) {
            if (!p->busy[i]) {
                p->busy[i] = true;
                *out = &p->slots[i];
                ASSERT(pthread_mutex_unlock(&p->mu) == 0);
                return RESPOOL_OK;
            }
        }
        int rc = pthread_cond_timedwait(&p->freed, &p->mu, &deadline);
        if (rc == ETIMEDOUT)
            break;
        ASSERT(rc == 0);
    }
    ASSERT(pthread_mutex_unlock(&p->mu) == 0);
    return (enum respool_result)err_set(e, RESPOOL_ERR_BUSY, "all %zu connections busy for %u ms",
                                        p->size, wait_ms);
}

void respool_release(struct respool *p, struct respool_slot *s)
{
    ASSERT(s >= p->slots && s < p->slots + p->size);
    size_t i = (size_t)(s - p->slots);
    ASSERT(pthread_mutex_lock(&p->mu) == 0);
    ASSERT(p->busy[i]);
    p->busy[i] = false;
    ASSERT(pthread_cond_signal(&p->freed) == 0);
    ASSERT(pthread_mutex_unlock(&p->mu) == 0);
}

enum respool_result respool_pg(struct pg_session **out, struct respool_slot *s,
                               const struct respool *p, struct err *e)
{
    *out = NULL;
    if (s->pg.conn != NULL && (s->pg_broken || PQstatus(s->pg.conn) != CONNECTION_OK))
        pg_release(&s->pg);
    s->pg_broken = false;
    if (s->pg.conn == NULL &&
        pg_connect(&s->pg, p->database_url, RESPOOL_PG_CONNECT_TIMEOUT_S, e) != PG_OK) {
        if (e != NULL)
            e->code = RESPOOL_ERR_PG; /* pg_connect's message is the cause */
        return RESPOOL_ERR_PG;
    }
    *out = &s->pg;
    return RESPOOL_OK;
}

enum respool_result respool_rpc(struct rpc_client **out, struct respool_slot *s,
                                const struct respool *p, struct err *e)
{
    *out = NULL;
    if (p->rpc_url[0] == '\0')
        return (enum respool_result)err_set(e, RESPOOL_ERR_BAD_INPUT, "pool has no rpc url");
    if (!s->rpc_ready) {
        struct rpc_options opt;
        rpc_options_default(&opt);
        if (p->rpc_timeout_ms != 0) {
            opt.total_timeout_ms = p->rpc_timeout_ms;
            if (opt.connect_timeout_ms > p->rpc_timeout_ms)
                opt.connect_timeout_ms = p->rpc_timeout_ms;
        }
        if (rpc_client_init(&s->rpc, p->rpc_url, &opt, e) != RPC_OK) {
            if (e != NULL)
                e->code = RESPOOL_ERR_RPC; /* rpc_client_init's message is the cause */
            return RESPOOL_ERR_RPC;
        }
        s->rpc_ready = true;
    }
    *out = &s->rpc;
    return RESPOOL_OK;
}

void respool_pg_failed(struct respool_slot *s, enum pg_code code)
{
    if (code == PG_ERR_CONNECTION || code == PG_ERR_CONNECT)
        s->pg_broken = true;
}

void respool_free(struct respool *p)
{
    for (size_t i = 0; i < p->size; i++) {
        pg_release(&p->slots[i].pg);
        if (p->slots[i].rpc_ready)
            rpc_client_release(&p->slots[i].rpc);
        p->slots[i].rpc_ready = false;
    }
    if (p->size > 0) {
        pthread_cond_destroy(&p->freed);
        pthread_mutex_destroy(&p->mu);
    }
    p->size = 0;
}
