/* test_respool.c - the per-request resource pool against the real
 * PostgreSQL of the runner (DATABASE_URL): lazy connection, exclusive slots,
 * a bounded wait when all are busy, reconnection after the server dropped a
 * session (pg_terminate_backend, what a restart does to every session), and
 * every bad-input path. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "harness.h"
#include "pg_fixture.h"
#include "respool.h"

static struct respool pool;

/* SELECT pg_backend_pid() on `pc`, or -1. */
static long backend_pid(struct pg_session *pc)
{
    PGresult *res = NULL;
    struct err e = {0};
    long pid = -1;
    if (pg_exec(pc, &res, "SELECT pg_backend_pid()", NULL, 0, &e) == PG_OK)
        pid = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return pid;
}

static void test_bad_input(void)
{
    static struct respool p;
    struct err e = {0};
    CHECK_INT(respool_init(&p, 0, pg_fixture_db_url, NULL, 0, &e), RESPOOL_ERR_BAD_INPUT);
    CHECK_INT(respool_init(&p, RESPOOL_SLOTS_MAX + 1, pg_fixture_db_url, NULL, 0, &e),
              RESPOOL_ERR_BAD_INPUT);
    CHECK_INT(respool_init(&p, 1, pg_fixture_db_url, NULL, RPC_TIMEOUT_MS_MAX + 1u, &e),
              RESPOOL_ERR_BAD_INPUT);
    static char long_url[CONFIG_DATABASE_URL_BYTES_MAX + 2];
    memset(long_url, 'x', sizeof long_url - 1);
    CHECK_INT(respool_init(&p, 1, long_url, NULL, 0, &e), RESPOOL_ERR_BAD_INPUT);
    CHECK_STR(e.msg, "connection URL too long");

    CHECK_INT(respool_init(&p, 1, pg_fixture_db_url, NULL, 0, &e), RESPOOL_OK);
    struct respool_slot *s = NULL;
    struct rpc_client *rpc = NULL;
    CHECK_INT(respool_acquire(&s, &p, RESPOOL_WAIT_MS_MAX + 1u, &e), RESPOOL_ERR_BAD_INPUT);
    CHECK(s == NULL);
    CHECK_INT(respool_acquire(&s, &p, 0, &e), RESPOOL_OK);
    CHECK_INT(respool_rpc(&rpc, s, &p, &e), RESPOOL_ERR_BAD_INPUT); /* no RPC URL */
    CHECK(rpc == NULL);
    respool_release(&p, s);
    respool_free(&p);
}

/* Slots are exclusive; a full pool makes the next caller wait, then fail. */
static void test_exclusive_and_bounded_wait(void)
{
    struct respool_slot *a = NULL, *b = NULL, *c = NULL;
    struct err e = {0};
    CHECK_INT(respool_acquire(&a, &pool, 0, &e), RESPOOL_OK);
    CHECK_INT(respool_acquire(&b, &pool, 0, &e), RESPOOL_OK);
    CHECK(a != NULL && b != NULL && a != b);
    uint64_t t0 = clock_now_ms();
    CHECK_INT(respool_acquire(&c, &pool, 200, &e), RESPOOL_ERR_BUSY);
    CHECK(clock_now_ms() - t0 >= 200); /* waited, did not fail at once */
    CHECK(c == NULL);
    CHECK_STR(e.msg, "all 2 connections busy for 200 ms");
    respool_release(&pool, b);
    CHECK_INT(respool_acquire(&c, &pool, 0, &e), RESPOOL_OK);
    CHECK(c == b);
    respool_release(&pool, a);
    respool_release(&pool, c);
}

struct waiter {
    struct respool_slot *got;
    enum respool_result r;
};

static void *wait_for_slot(void *arg)
{
    struct waiter *w = arg;
    struct err e = {0};
    w->r = respool_acquire(&w->got, &pool, 10000, &e);
    return NULL;
}

/* A waiting thread gets the slot as soon as it is released. */
static void test_release_wakes_waiter(void)
{
    struct respool_slot *a = NULL, *b = NULL;
    struct err e = {0};
    CHECK_INT(respool_acquire(&a, &pool, 0, &e), RESPOOL_OK);
    CHECK_INT(respool_acquire(&b, &pool, 0, &e), RESPOOL_OK);
    struct waiter w = {NULL, RESPOOL_ERR_BUSY};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, wait_for_slot, &w) == 0);
    clock_sleep_ms(100);
    respool_release(&pool, a);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_INT(w.r, RESPOOL_OK);
    CHECK(w.got == a);
    respool_release(&pool, w.got);
    respool_release(&pool, b);
}

/* The server drops the session (as a restart would): the query in flight
 * fails with PG_ERR_CONNECTION, and the slot's next user gets a new session. */
static void test_reconnects_after_server_drop(void)
{
    struct respool_slot *s = NULL;
    struct pg_session *pc = NULL, *killer = NULL;
    struct err e = {0};
    CHECK_INT(respool_acquire(&s, &pool, 0, &e), RESPOOL_OK);
    if (s == NULL)
        return;
    CHECK_INT(respool_pg(&pc, s, &pool, &e), RESPOOL_OK);
    long pid = pc ? backend_pid(pc) : -1;
    CHECK(pid > 0);

    struct respool_slot *k = NULL;
    CHECK_INT(respool_acquire(&k, &pool, 0, &e), RESPOOL_OK);
    CHECK_INT(respool_pg(&killer, k, &pool, &e), RESPOOL_OK);
    char pid_text[32];
    snprintf(pid_text, sizeof pid_text, "%ld", pid);
    const char *params[1] = {pid_text};
    CHECK_INT(pg_exec(killer, NULL, "SELECT pg_terminate_backend($1::int)", params, 1, &e), PG_OK);
    respool_release(&pool, k);

    enum pg_code r = pg_exec(pc, NULL, "SELECT 1", NULL, 0, &e);
    CHECK_INT(r, PG_ERR_CONNECTION);
    respool_pg_failed(s, r);
    CHECK_INT(respool_pg(&pc, s, &pool, &e), RESPOOL_OK);
    long again = pc ? backend_pid(pc) : -1;
    CHECK(again > 0 && again != pid);
    respool_release(&pool, s);
}

/* A wrong password or a server that is not there: RESPOOL_ERR_PG, the slot
 * stays usable for a later attempt, nothing is left connected. */
static void test_connect_failure_is_reported(void)
{
    static struct respool p;
    struct respool_slot *s = NULL;
    struct pg_session *pc = NULL;
    struct err e = {0};
    CHECK_INT(respool_init(&p, 1, "postgresql://nobody@127.0.0.1:1/none", NULL, 0, &e), RESPOOL_OK);
    CHECK_INT(respool_acquire(&s, &p, 0, &e), RESPOOL_OK);
    CHECK_INT(respool_pg(&pc, s, &p, &e), RESPOOL_ERR_PG);
    CHECK_INT(e.code, RESPOOL_ERR_PG);
    CHECK(pc == NULL && s->pg.conn == NULL);
    respool_release(&p, s);
    respool_free(&p);
}

int main(void)
{
    if (!pg_fixture_init("test_respool"))
        return 1;
    struct err e = {0};
    if (respool_init(&pool, 2, pg_fixture_db_url, NULL, 0, &e) != RESPOOL_OK) {
        printf("# %s\n0 passed, 1 failed\n", e.msg);
        return 1;
    }
    RUN(test_bad_input);
    RUN(test_exclusive_and_bounded_wait);
    RUN(test_release_wakes_waiter);
    RUN(test_reconnects_after_server_drop);
    RUN(test_connect_failure_is_reported);
    respool_free(&pool);
    return harness_finish();
}
