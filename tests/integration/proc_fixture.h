/*
 * proc_fixture.h - child processes of an integration test that SIGKILLs a
 * service (test_settlement_crash.c, test_batch_crash.c): the real
 * settlement program BUILD_DIR/bin/settlement started with an environment
 * built here (struct proc_settlement), or any function of the test run in
 * a forked child; killed only with SIGKILL, from this thread or after a
 * delay from another one; plus the small clocks and ports such tests need.
 *
 * proc_start()       forks child number n; the child never outlives this
 *                    program (PR_SET_PDEATHSIG, checked against a parent
 *                    that died before it was set) and runs fn(ctx, n, port),
 *                    which must not return (exec or _exit).
 * proc_exec_settlement() the child's exec of the settlement program:
 *                    DATABASE_URL (with the schema as search_path and as
 *                    application_name, so that its sessions can be found
 *                    in pg_stat_activity, when one is named), ETH_RPC_URL
 *                    (this program's), CHAIN_ID 31337, VAULT_ADDRESS,
 *                    CONFIRMATIONS, AUTH_SECRET_FILE, SIWE_DOMAIN,
 *                    SETTLEMENT_LISTEN=127.0.0.1:<port>,
 *                    LOG_LEVEL=info, OPERATOR_KEY_FILE when set (else the
 *                    program's default applies); stdout and stderr appended
 *                    to <dir>/<log_name>-<n>.log.
 * proc_wait_listening() until the child accepts TCP connections on its
 *                    port (or dies, or PROC_LISTEN_WAIT_MS_MAX passed).
 * proc_make_dir()    api_make_dir() for such a test: the scratch directory,
 *                    its auth secret and the first child's (empty) log.
 * proc_alive()       false (a CHECK failure) when the child ended by itself:
 *                    a test kills its children, they never exit.
 * proc_kill()        SIGKILL and reap; the child must die of that SIGKILL.
 * proc_kill_after()  a thread that SIGKILLs pid after delay_ms (the caller
 *                    joins it with proc_killer_join(), then reaps with
 *                    proc_kill()), so the caller can act meanwhile.
 *
 * Environment: ETH_RPC_URL, BUILD_DIR (default "build"); run from the
 * repository root.
 *
 * Ownership: `struct proc` and `struct proc_killer` are caller-allocated
 * and hold no heap memory; `struct proc_settlement` borrows its strings,
 * which must live until proc_start() returns (the child copies them).
 * Failures are reported through harness.h CHECKs.
 *
 * Limits: paths PROC_PATH_BYTES, PROC_PORT_ATTEMPTS tries for a free port,
 * PROC_LISTEN_WAIT_MS_MAX for a child to listen (a hang guard).
 */
#ifndef TESTS_PROC_FIXTURE_H
#define TESTS_PROC_FIXTURE_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "api_client.h"
#include "chain_fixture.h"
#include "config.h"
#include "harness.h"
#include "hex.h"
#include "pg_fixture.h"
#include "sig.h"

#define PROC_PATH_BYTES 512
#define PROC_PORT_ATTEMPTS 10
#define PROC_SETTLEMENT_ENVS 10
#define PROC_LISTEN_WAIT_MS_MAX 30000u /* a hang guard, not a timed assertion */
#define PROC_LISTEN_STEP_MS 10u

struct proc {
    pid_t pid; /* 0: not running */
    uint16_t port;
};

/* The settlement program's settings (see the top). */
struct proc_settlement {
    const char *schema;            /* search_path and application_name; NULL: none */
    const struct address *vault;   /* VAULT_ADDRESS */
    unsigned confirmations;        /* CONFIRMATIONS */
    const char *secret_file;       /* AUTH_SECRET_FILE */
    const char *siwe_domain;       /* SIWE_DOMAIN */
    const char *operator_key_file; /* OPERATOR_KEY_FILE; NULL: not set */
    const char *dir;               /* where the logs go */
    const char *log_name;          /* <dir>/<log_name>-<n>.log */
};

struct proc_killer {
    pthread_t thread;
    pid_t pid;
    unsigned delay_ms;
    bool started;
};

/* What a forked child runs; must not return. */
typedef void proc_child_fn(void *ctx, int n, uint16_t port);

/* ---- clocks and ports ------------------------------------------------------------------- */

static inline void proc_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Monotonic milliseconds. */
static inline uint64_t proc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A uniform random delay below 1.25 times `mean_ms`. */
static inline unsigned proc_random_delay_ms(uint64_t *rng, uint64_t mean_ms)
{
    return (unsigned)(harness_rand(rng) % (mean_ms * 5 / 4 + 1));
}

/* A free TCP port on 127.0.0.1 (the kernel's pick, released at once), not
 * `other`; 0 after a failed CHECK. */
static inline uint16_t proc_free_port(uint16_t other)
{
    uint16_t port = 0;
    for (int attempt = 0; attempt < PROC_PORT_ATTEMPTS && (port == 0 || port == other); attempt++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a;
        socklen_t len = sizeof a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
            getsockname(fd, (struct sockaddr *)&a, &len) == 0)
            port = ntohs(a.sin_port);
        if (fd >= 0)
            close(fd);
    }
    CHECK_MSG(port != 0 && port != other, "no free port");
    return port != other ? port : 0;
}

/* api_make_dir(dir, prefix, secret) whose log is the first child's,
 * <dir>/<log_name>-0.log (announced as "# <label> log:"), left empty. */
static inline bool proc_make_dir(char *dir, size_t dir_size, char *secret, size_t secret_size,
                                 const char *prefix, const char *log_name, const char *label)
{
    char first[PROC_PATH_BYTES];
    FILE *log = NULL;
    snprintf(first, sizeof first, "%s-0.log", log_name);
    bool ok = api_make_dir(dir, dir_size, prefix, secret, secret_size, first, label, &log);
    if (log != NULL)
        fclose(log);
    CHECK_MSG(ok, "no scratch directory %s", dir);
    return ok;
}

/* ---- children ----------------------------------------------------------------------------- */

/* The settlement program with env's settings, listening on `port`; never
 * returns (exit code 5: no log file, 6: exec failed). */
static inline void proc_exec_settlement(const struct proc_settlement *env, int n, uint16_t port)
    __attribute__((noreturn));
static inline void proc_exec_settlement(const struct proc_settlement *env, int n, uint16_t port)
{
    static char envs[PROC_SETTLEMENT_ENVS][PROC_PATH_BYTES + CONFIG_DATABASE_URL_BYTES_MAX];
    char bin[PROC_PATH_BYTES], log_path[2 * PROC_PATH_BYTES], vault[ADDRESS_TEXT_SIZE];
    const char *build = config_lookup_env(NULL, "BUILD_DIR");
    const char *rpc_url = config_lookup_env(NULL, "ETH_RPC_URL");
    snprintf(bin, sizeof bin, "%s/bin/settlement", build != NULL && build[0] ? build : "build");
    snprintf(log_path, sizeof log_path, "%s/%s-%d.log", env->dir, env->log_name, n);
    address_format_lower(vault, env->vault);
    if (env->schema != NULL)
        snprintf(envs[0], sizeof envs[0],
                 "DATABASE_URL=%s%soptions=-csearch_path%%3D%s&application_name=%s",
                 pg_fixture_db_url, strchr(pg_fixture_db_url, '?') != NULL ? "&" : "?", env->schema,
                 env->schema);
    else
        snprintf(envs[0], sizeof envs[0], "DATABASE_URL=%s", pg_fixture_db_url);
    snprintf(envs[1], sizeof envs[1], "ETH_RPC_URL=%s", rpc_url != NULL ? rpc_url : "");
    snprintf(envs[2], sizeof envs[2], "CHAIN_ID=%u", CHAIN_ID_ANVIL);
    snprintf(envs[3], sizeof envs[3], "VAULT_ADDRESS=%s", vault);
    snprintf(envs[4], sizeof envs[4], "CONFIRMATIONS=%u", env->confirmations);
    snprintf(envs[5], sizeof envs[5], "AUTH_SECRET_FILE=%s", env->secret_file);
    snprintf(envs[6], sizeof envs[6], "SIWE_DOMAIN=%s", env->siwe_domain);
    snprintf(envs[7], sizeof envs[7], "SETTLEMENT_LISTEN=127.0.0.1:%u", (unsigned)port);
    snprintf(envs[8], sizeof envs[8], "LOG_LEVEL=info");
    snprintf(envs[9], sizeof envs[9], "OPERATOR_KEY_FILE=%s",
             env->operator_key_file != NULL ? env->operator_key_file : "");
    char *envp[PROC_SETTLEMENT_ENVS + 1];
    for (size_t i = 0; i < PROC_SETTLEMENT_ENVS; i++)
        envp[i] = envs[i];
    envp[PROC_SETTLEMENT_ENVS - (env->operator_key_file == NULL)] = NULL;
    char *const argv[2] = {bin, NULL};
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
        _exit(5);
    execve(bin, argv, envp);
    _exit(6);
}

/* Forks child number n, which runs fn(ctx, n, port); *p = its pid and port
 * (pid 0 after a failed CHECK). Exit code 7: the child could not tie its
 * life to this program's. */
static inline void proc_start(struct proc *p, int n, uint16_t port, proc_child_fn *fn, void *ctx)
{
    p->port = port;
    fflush(stdout); /* the child must not repeat our buffered output */
    pid_t parent = getpid();
    p->pid = fork();
    if (p->pid == 0) {
        /* never outlive this program, whatever ends it */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(7);
        fn(ctx, n, port);
        _exit(8);
    }
    CHECK_MSG(p->pid > 0, "fork: %s", strerror(errno));
    if (p->pid < 0)
        p->pid = 0;
}

/* False (a CHECK failure) when child p ended by itself; it is then reaped
 * and p->pid set to 0. `logs` names where its output is. */
static inline bool proc_alive(struct proc *p, const char *logs)
{
    int status = 0;
    if (p->pid <= 0 || waitpid(p->pid, &status, WNOHANG) != p->pid)
        return true;
    CHECK_MSG(0, "child %ld ended by itself: status 0x%x (logs in %s)", (long)p->pid,
              (unsigned)status, logs);
    p->pid = 0;
    return false;
}

/* SIGKILLs p (if it runs) and reaps it: it must die of our SIGKILL. */
static inline void proc_kill(struct proc *p, const char *logs)
{
    int status = 0;
    if (p->pid <= 0)
        return;
    kill(p->pid, SIGKILL);
    pid_t r = waitpid(p->pid, &status, 0);
    CHECK_MSG(r == p->pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
              "child %ld ended by itself: status 0x%x (logs in %s)", (long)p->pid, (unsigned)status,
              logs);
    p->pid = 0;
}

/* True once 127.0.0.1:p->port accepts a connection; false (a CHECK
 * failure) when p ended or after PROC_LISTEN_WAIT_MS_MAX. */
static inline bool proc_wait_listening(struct proc *p, const char *logs)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(p->port);
    for (unsigned waited = 0; waited < PROC_LISTEN_WAIT_MS_MAX; waited += PROC_LISTEN_STEP_MS) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool up = fd >= 0 && connect(fd, (const struct sockaddr *)&a, sizeof a) == 0;
        if (fd >= 0)
            close(fd);
        if (up)
            return true;
        if (!proc_alive(p, logs))
            return false;
        proc_sleep_ms(PROC_LISTEN_STEP_MS);
    }
    CHECK_MSG(0, "child %ld does not listen on port %u after %u ms (logs in %s)", (long)p->pid,
              (unsigned)p->port, PROC_LISTEN_WAIT_MS_MAX, logs);
    return false;
}

static inline void *proc_killer_main(void *arg)
{
    const struct proc_killer *k = arg;
    proc_sleep_ms(k->delay_ms);
    kill(k->pid, SIGKILL);
    return NULL;
}

/* Starts a thread that SIGKILLs p's process after delay_ms (p is not
 * reaped: proc_killer_join(), then proc_kill()). */
static inline void proc_kill_after(struct proc_killer *k, const struct proc *p, unsigned delay_ms)
{
    k->pid = p->pid;
    k->delay_ms = delay_ms;
    k->started = p->pid > 0 && pthread_create(&k->thread, NULL, proc_killer_main, k) == 0;
    CHECK(k->started);
}

static inline void proc_killer_join(struct proc_killer *k)
{
    if (k->started)
        pthread_join(k->thread, NULL);
    k->started = false;
}

#endif
