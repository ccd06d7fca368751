/*
 * http_fixture.h - an in-test HTTP/1.1 server on 127.0.0.1 for the unit
 * tests of the rpc client and of what is built on it (test_rpc.c poses as a
 * misbehaving transport, test_txsend.c as a hostile node).
 *
 * One thread accepts connections one at a time, reads one request (headers
 * plus a Content-Length body), counts it, hands the body to the test's
 * handler, which writes the whole answer on the socket (http_fixture_reply()
 * or anything else), and closes the connection.
 *
 * Ownership: `struct http_fixture` is caller-allocated (make it static: it
 * holds the request buffer). http_fixture_start() binds a free port and
 * starts the thread; http_fixture_stop() joins it and closes the socket.
 * The handler runs on the server thread: whatever it shares with the test is
 * guarded by f->mu. A failure to start is a broken test machine: it aborts.
 *
 * Limits: a request (head and body) of at most HTTP_FIXTURE_REQUEST_BYTES_MAX
 * bytes (a larger one is closed unanswered and not counted); each request
 * must arrive within HTTP_FIXTURE_RECV_TIMEOUT_S; reads per request at most
 * HTTP_FIXTURE_RECV_CALLS_MAX; the stop flag is polled every
 * HTTP_FIXTURE_POLL_MS.
 */
#ifndef TESTS_HTTP_FIXTURE_H
#define TESTS_HTTP_FIXTURE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define HTTP_FIXTURE_REQUEST_BYTES_MAX (64 * 1024)
#define HTTP_FIXTURE_RECV_TIMEOUT_S 5
#define HTTP_FIXTURE_RECV_CALLS_MAX 1000
#define HTTP_FIXTURE_POLL_MS 50
#define HTTP_FIXTURE_HEAD_BYTES_MAX 256

struct http_fixture {
    int fd;
    uint16_t port;
    pthread_t thread;
    pthread_mutex_t mu;  /* guards what the handler shares with the test */
    atomic_int requests; /* requests read; the test may reset it */
    atomic_bool stop;
    /* Answers one request whose body is body[0..body_len) (NUL-terminated). */
    void (*handle)(struct http_fixture *f, int fd, const char *body, size_t body_len);
    void *ctx;                                        /* the handler's */
    char request[HTTP_FIXTURE_REQUEST_BYTES_MAX + 1]; /* server thread only */
};

static inline void http_fixture_send_all(int fd, const char *data, size_t len)
{
    for (int i = 0; i < 100000 && len > 0; i++) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return; /* the client went away */
        data += n;
        len -= (size_t)n;
    }
}

/* A complete answer with `status`, a JSON content type and `body`. */
static inline void http_fixture_reply(int fd, int status, const char *body)
{
    char head[HTTP_FIXTURE_HEAD_BYTES_MAX];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, strlen(body));
    if (n < 0 || (size_t)n >= sizeof head)
        abort();
    http_fixture_send_all(fd, head, (size_t)n);
    http_fixture_send_all(fd, body, strlen(body));
}

/* Reads one request into f->request; *body_out points at its body. */
static inline bool http_fixture_read_request(struct http_fixture *f, int fd, const char **body_out,
                                             size_t *body_len_out)
{
    char *buf = f->request;
    size_t len = 0;
    for (int i = 0; i < HTTP_FIXTURE_RECV_CALLS_MAX && len < HTTP_FIXTURE_REQUEST_BYTES_MAX; i++) {
        ssize_t n = recv(fd, buf + len, HTTP_FIXTURE_REQUEST_BYTES_MAX - len, 0);
        if (n <= 0)
            return false;
        len += (size_t)n;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end == NULL)
            continue;
        char *cl = strcasestr(buf, "content-length:");
        size_t want = cl != NULL && cl < end ? (size_t)strtoul(cl + 15, NULL, 10) : 0;
        size_t have = len - (size_t)(end + 4 - buf);
        if (have < want)
            continue;
        end[4 + want] = '\0';
        *body_out = end + 4;
        *body_len_out = want;
        return true;
    }
    return false;
}

static inline void *http_fixture_main(void *arg)
{
    struct http_fixture *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd p = {f->fd, POLLIN, 0};
        if (poll(&p, 1, HTTP_FIXTURE_POLL_MS) <= 0)
            continue;
        int c = accept(f->fd, NULL, NULL);
        if (c < 0)
            continue;
        struct timeval tv = {HTTP_FIXTURE_RECV_TIMEOUT_S, 0};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        const char *body = NULL;
        size_t body_len = 0;
        if (http_fixture_read_request(f, c, &body, &body_len)) {
            atomic_fetch_add(&f->requests, 1);
            f->handle(f, c, body, body_len);
        }
        close(c);
    }
    return NULL;
}

/* Listens on 127.0.0.1 at a free port (f->port) and serves with `handle`. */
static inline void
http_fixture_start(struct http_fixture *f,
                   void (*handle)(struct http_fixture *, int, const char *, size_t), void *ctx)
{
    f->handle = handle;
    f->ctx = ctx;
    atomic_store(&f->requests, 0);
    atomic_store(&f->stop, false);
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    int one = 1;
    socklen_t alen = sizeof a;
    if (f->fd < 0 || setsockopt(f->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(f->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(f->fd, 16) != 0 ||
        getsockname(f->fd, (struct sockaddr *)&a, &alen) != 0)
        abort();
    f->port = ntohs(a.sin_port);
    if (pthread_mutex_init(&f->mu, NULL) != 0 ||
        pthread_create(&f->thread, NULL, http_fixture_main, f) != 0)
        abort();
}

static inline void http_fixture_stop(struct http_fixture *f)
{
    atomic_store(&f->stop, true);
    pthread_join(f->thread, NULL);
    close(f->fd);
    pthread_mutex_destroy(&f->mu);
}

/* "http://127.0.0.1:PORT/" into out[0..out_size). */
static inline void http_fixture_url(char *out, size_t out_size, const struct http_fixture *f)
{
    int n = snprintf(out, out_size, "http://127.0.0.1:%u/", (unsigned)f->port);
    if (n < 0 || (size_t)n >= out_size)
        abort();
}

#endif
