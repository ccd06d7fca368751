/*
 * put_recorder.h - a TCP proxy on 127.0.0.1 that forwards every connection
 * to a target port unchanged and records the bytes the client sent, so a
 * test can compare what a server stored or serves with what a client (ffmpeg
 * -method PUT) really sent on the wire, not with the server's own copy.
 *
 * put_recorder_start() listens on a free port (r->port) and accepts on a
 * thread; each connection gets its own forwarding thread (clients such as
 * ffmpeg's HLS muxer keep several uploads open at once) recording the
 * client's bytes in memory. put_recorder_stop() stops accepting, waits for
 * the connections to end (at most PUT_RECORDER_IDLE_MS of silence each) and
 * parses the recordings into requests: method, path and body (Content-Length
 * or chunked transfer coding), in connection order, several per connection.
 * put_recorder_last_body() finds the body of the last request for a path.
 *
 * Ownership: `struct put_recorder` is caller-allocated (static: it is
 * large); put_recorder_free() releases the recordings and requests. Failing
 * to start is a broken test machine: it aborts.
 * Limits: PUT_RECORDER_CONNS_MAX connections, PUT_RECORDER_CONN_BYTES_MAX
 * bytes recorded per connection (more is forwarded, not recorded),
 * PUT_RECORDER_REQUESTS_MAX requests, paths of PUT_RECORDER_PATH_BYTES_MAX.
 */
#ifndef TESTS_PUT_RECORDER_H
#define TESTS_PUT_RECORDER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define PUT_RECORDER_CONNS_MAX 512
#define PUT_RECORDER_CONN_BYTES_MAX ((size_t)64 << 20)
#define PUT_RECORDER_REQUESTS_MAX 1024
#define PUT_RECORDER_PATH_BYTES_MAX 256
#define PUT_RECORDER_IDLE_MS 30000
#define PUT_RECORDER_POLL_MS 50
#define PUT_RECORDER_CHUNK_BYTES 65536

struct put_recorder_conn {
    int client_fd;
    uint16_t target_port;
    uint8_t *data; /* the client's bytes */
    size_t len, cap;
    pthread_t thread;
};

struct put_recorder_request {
    char method[16];
    char path[PUT_RECORDER_PATH_BYTES_MAX + 1];
    const uint8_t *body; /* points into a connection's recording */
    size_t body_len;
};

struct put_recorder {
    int fd;
    uint16_t port, target_port;
    pthread_t thread;
    atomic_bool stop;
    size_t conn_count; /* accept thread only, read after stop */
    struct put_recorder_conn conns[PUT_RECORDER_CONNS_MAX];
    size_t request_count;
    struct put_recorder_request requests[PUT_RECORDER_REQUESTS_MAX];
};

static inline void put_recorder_send_all(int fd, const uint8_t *data, size_t len)
{
    for (int i = 0; i < 1000000 && len > 0; i++) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        data += n;
        len -= (size_t)n;
    }
}

static inline void put_recorder_keep(struct put_recorder_conn *c, const uint8_t *data, size_t n)
{
    if (c->len + n > PUT_RECORDER_CONN_BYTES_MAX)
        return;
    if (c->len + n > c->cap) {
        size_t cap = c->cap * 2 > c->len + n ? c->cap * 2 : c->len + n + 65536;
        uint8_t *grown = realloc(c->data, cap);
        if (grown == NULL)
            abort();
        c->data = grown;
        c->cap = cap;
    }
    memcpy(c->data + c->len, data, n);
    c->len += n;
}

static inline int put_recorder_connect(uint16_t port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Forwards both ways until both sides closed (or PUT_RECORDER_IDLE_MS idle). */
static inline void *put_recorder_conn_main(void *arg)
{
    struct put_recorder_conn *c = arg;
    int fds[2] = {c->client_fd, put_recorder_connect(c->target_port)};
    bool open[2] = {true, fds[1] >= 0};
    uint8_t chunk[PUT_RECORDER_CHUNK_BYTES];
    for (int idle_ms = 0; (open[0] || open[1]) && idle_ms < PUT_RECORDER_IDLE_MS;) {
        struct pollfd p[2] = {{open[0] ? fds[0] : -1, POLLIN, 0},
                              {open[1] ? fds[1] : -1, POLLIN, 0}};
        int ready = poll(p, 2, PUT_RECORDER_POLL_MS);
        idle_ms = ready == 0 ? idle_ms + PUT_RECORDER_POLL_MS : 0;
        for (int s = 0; ready > 0 && s < 2; s++) {
            if (!open[s] || p[s].revents == 0)
                continue;
            ssize_t n = recv(fds[s], chunk, sizeof chunk, 0);
            if (n <= 0) {
                open[s] = false;
                if (open[1 - s])
                    shutdown(fds[1 - s], SHUT_WR);
                continue;
            }
            if (s == 0)
                put_recorder_keep(c, chunk, (size_t)n);
            put_recorder_send_all(fds[1 - s], chunk, (size_t)n);
        }
        if (!open[1] && open[0]) /* the server closed: so does the client side */
            open[0] = false;
    }
    close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    return NULL;
}

static inline void *put_recorder_main(void *arg)
{
    struct put_recorder *r = arg;
    while (!atomic_load(&r->stop)) {
        struct pollfd p = {r->fd, POLLIN, 0};
        if (poll(&p, 1, PUT_RECORDER_POLL_MS) <= 0)
            continue;
        int c = accept(r->fd, NULL, NULL);
        if (c < 0)
            continue;
        if (r->conn_count == PUT_RECORDER_CONNS_MAX) {
            close(c);
            continue;
        }
        struct put_recorder_conn *conn = &r->conns[r->conn_count];
        memset(conn, 0, sizeof *conn);
        conn->client_fd = c;
        conn->target_port = r->target_port;
        if (pthread_create(&conn->thread, NULL, put_recorder_conn_main, conn) != 0)
            abort();
        r->conn_count++;
    }
    return NULL;
}

static inline void put_recorder_start(struct put_recorder *r, uint16_t target_port)
{
    memset(r, 0, sizeof *r);
    r->target_port = target_port;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (r->fd < 0 || bind(r->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(r->fd, 64) != 0 ||
        getsockname(r->fd, (struct sockaddr *)&a, &alen) != 0)
        abort();
    r->port = ntohs(a.sin_port);
    atomic_store(&r->stop, false);
    if (pthread_create(&r->thread, NULL, put_recorder_main, r) != 0)
        abort();
}

/* The end of the header block of data[0..len) (just past CRLF CRLF), or 0. */
static inline size_t put_recorder_head_end(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i + 4 <= len; i++)
        if (memcmp(data + i, "\r\n\r\n", 4) == 0)
            return i + 4;
    return 0;
}

/* Decodes a chunked body in place at data[0..len): *used the bytes consumed,
 * returns the decoded length, or SIZE_MAX when malformed or incomplete. */
static inline size_t put_recorder_dechunk(uint8_t *data, size_t len, size_t *used)
{
    size_t in = 0, out = 0;
    for (int guard = 0; guard < 1000000; guard++) {
        char *end = NULL;
        if (in >= len)
            return SIZE_MAX;
        unsigned long size = strtoul((const char *)data + in, &end, 16);
        const uint8_t *eol = memchr(data + in, '\n', len - in);
        if (end == (const char *)data + in || eol == NULL)
            return SIZE_MAX;
        in = (size_t)(eol - data) + 1;
        if (size == 0) {
            const uint8_t *last = memchr(data + in, '\n', len - in); /* trailer end */
            *used = last == NULL ? len : (size_t)(last - data) + 1;
            return out;
        }
        if (in + size + 2 > len)
            return SIZE_MAX;
        memmove(data + out, data + in, size);
        out += size;
        in += size + 2;
    }
    return SIZE_MAX;
}

/* Parses the requests of one connection's recording into r->requests. */
static inline void put_recorder_parse_conn(struct put_recorder *r, struct put_recorder_conn *c)
{
    size_t at = 0;
    while (at < c->len && r->request_count < PUT_RECORDER_REQUESTS_MAX) {
        uint8_t *head = c->data + at;
        size_t head_len = put_recorder_head_end(head, c->len - at);
        if (head_len == 0)
            return;
        struct put_recorder_request *q = &r->requests[r->request_count];
        char line[PUT_RECORDER_PATH_BYTES_MAX + 64];
        size_t line_len = (size_t)((uint8_t *)memchr(head, '\r', head_len) - head);
        if (line_len >= sizeof line)
            return;
        memcpy(line, head, line_len);
        line[line_len] = '\0';
        if (sscanf(line, "%15s %256s", q->method, q->path) != 2)
            return;
        head[head_len - 1] = '\0'; /* the headers as one string, for strcasestr */
        const char *cl = strcasestr((const char *)head, "\r\ncontent-length:");
        bool chunked = strcasestr((const char *)head, "\r\ntransfer-encoding: chunked") != NULL;
        uint8_t *body = head + head_len;
        size_t avail = c->len - at - head_len, used = 0;
        q->body = body;
        if (chunked) {
            q->body_len = put_recorder_dechunk(body, avail, &used);
            if (q->body_len == SIZE_MAX)
                return;
        } else {
            q->body_len = cl != NULL ? (size_t)strtoull(cl + 17, NULL, 10) : 0;
            if (q->body_len > avail)
                return;
            used = q->body_len;
        }
        r->request_count++;
        at += head_len + used;
    }
}

/* Stops accepting, waits for every connection to end and parses them. */
static inline void put_recorder_stop(struct put_recorder *r)
{
    atomic_store(&r->stop, true);
    pthread_join(r->thread, NULL);
    close(r->fd);
    for (size_t i = 0; i < r->conn_count; i++)
        pthread_join(r->conns[i].thread, NULL);
    for (size_t i = 0; i < r->conn_count; i++)
        put_recorder_parse_conn(r, &r->conns[i]);
}

/* The last recorded request with this method and path, or NULL. */
static inline const struct put_recorder_request *
put_recorder_last(const struct put_recorder *r, const char *method, const char *path)
{
    for (size_t i = r->request_count; i > 0; i--) {
        const struct put_recorder_request *q = &r->requests[i - 1];
        if (strcmp(q->method, method) == 0 && strcmp(q->path, path) == 0)
            return q;
    }
    return NULL;
}

static inline void put_recorder_free(struct put_recorder *r)
{
    for (size_t i = 0; i < r->conn_count; i++)
        free(r->conns[i].data);
    r->conn_count = 0;
    r->request_count = 0;
}

#endif
