/* test_http.c - the HTTP layer against itself: a real server on
 * 127.0.0.1:0 in this process, libcurl as the client. Routing and
 * parameters, 404/405/400/414/413, problem bodies, request ids, files and
 * ranges, extra headers, /healthz, /metrics, the access log (captured from
 * the logger), 1,000 idle sockets from 127.0.0.2, a graceful stop, and every
 * config/route/metric rejection. Waits are hang guards only. */
#include "buf.h"
#include "clock.h"
#include "harness.h"
#include "http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEST_BODY_MAX ((size_t)4 << 20)
#define TEST_HEADERS_MAX ((size_t)64 << 10)
#define TEST_INGEST_MAX 1024
#define TEST_CURL_TIMEOUT_MS 20000L /* hang guard */
#define TEST_IDLE_SOCKETS 1000
#define TEST_PER_IP_MAX 16
#define TEST_POLL_TRIES 500 /* x 10 ms: hang guard for what completes asynchronously */

struct test_resp {
    CURLcode rc;
    long status;
    struct buf body;
    struct buf headers;
};

struct test_req {
    const char *method; /* NULL = GET */
    const char *path;   /* with the query */
    const char *headers[8];
    const void *body; /* sent when body_len > 0 or chunked */
    size_t body_len;
    bool chunked;
    bool path_as_is;
    uint16_t port; /* 0 = the main server */
};

struct test_upload {
    const uint8_t *data;
    size_t len, off;
};

static struct http_server *test_srv;
static uint16_t test_port;
static struct logger test_log;
static FILE *test_log_file;
static char test_dir[256];
static atomic_int test_health_mode;
static atomic_int test_slow_started;
static struct http_metric *test_allowed, *test_denied, *test_cache;

static void test_resp_init(struct test_resp *r);
static void test_resp_release(struct test_resp *r);
static void test_do(struct test_resp *out, const struct test_req *rq);
static bool test_header(const struct test_resp *r, const char *name, char *out, size_t out_size);
static json_t *test_json(const struct test_resp *r);
static bool test_is_problem(const struct test_resp *r, int status, const char *slug);
static bool test_metrics_wait(const char *line);
static size_t test_log_read(char *out, size_t out_cap);

/* ---- handlers --------------------------------------------------------------- */

static void h_access(struct http_response *resp, const struct http_request *req, void *ctx)
{
    (void)ctx;
    const char *q = http_request_query(req, "token");
    const char *bearer = http_request_bearer(req);
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:s, s:s}", "id", http_request_param(req, "id"),
                  "route", req->route, "path", req->path, "method", req->method, "token", q,
                  "bearer", bearer, "ip", req->peer_ip, "rid", req->request_id);
    http_reply_json(resp, 200, o);
}

static void h_access_delete(struct http_response *resp, const struct http_request *req, void *ctx)
{
    (void)req;
    (void)ctx;
    http_reply_empty(resp, 204);
}

static void h_tail(struct http_response *resp, const struct http_request *req, void *ctx)
{
    (void)ctx;
    http_reply_json(resp, 200,
                    json_pack("{s:s, s:s, s:i}", "id", http_request_param(req, "id"), "path",
                              http_request_param(req, "path"), "params", (int)req->params_len));
}

static void h_ingest(struct http_response *resp, const struct http_request *req, void *ctx)
{
    (void)ctx;
    bool nul = req->body[req->body_len] == '\0';
    http_reply_json(resp, 201,
                    json_pack("{s:i, s:b, s:s}", "len", (int)req->body_len, "nul", nul, "path",
                              http_request_param(req, "path")));
}

static void h_echo(struct http_response *resp, const struct http_request *req, void *ctx)
{
    (void)ctx;
    http_reply_bytes(resp, 200, "application/octet-stream", req->body, req->body_len);
}

static void h_file(struct http_response *resp, const struct http_request *req, void *ctx)
{
    (void)ctx;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", test_dir, http_request_param(req, "name"));
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        http_reply_error(resp, PROBLEM_NOT_FOUND, "no such file");
        return;
    }
    http_reply_header(resp, "Cache-Control", "public, max-age=60, immutable");
    http_reply_file(resp, fd, "video/mp2t");
}

static void h_pay(struct http_response *resp, const struct http_request *req, void *ctx)
{
    (void)req;
    (void)ctx;
    struct problem p;
    problem_init(&p, 402, "access-denied", "Access denied", "hold a pass or tip");
    struct err e = {0};
    enum problem_result rc = problem_set_member(
        &p, "requirements", json_pack("{s:s, s:[]}", "tip_min_wei", "1000", "passes"), &e);
    ASSERT(rc == PROBLEM_OK);
    http_reply_problem(resp, &p);
}

/* The fixed answers, by route: extra headers, a content type override, a
 * handler that sets nothing, and one that adds a header with a CRLF. */
static void h_fixed(struct http_response *resp, const struct http_request *req, void *ctx)
{
    (void)ctx;
    if (strcmp(req->route, "/redirect") == 0) {
        http_reply_header(resp, "Location", "/v1/streams/abc/access");
        http_reply_empty(resp, 302);
    } else if (strcmp(req->route, "/busy") == 0) {
        http_reply_header(resp, "Retry-After", "5");
        http_reply_header(resp, "Cache-Control", "no-store");
        http_reply_error(resp, PROBLEM_UNAVAILABLE, "rpc unreachable");
    } else if (strcmp(req->route, "/text") == 0) {
        http_reply_header(resp, "Content-Type", "text/plain; charset=utf-8"); /* before the body */
        http_reply_bytes(resp, 200, "application/octet-stream", "hello", 5);
    } else if (strcmp(req->route, "/badheader") == 0) {
        http_reply_header(resp, "Location", "/x\r\nSet-Cookie: evil=1");
        http_reply_empty(resp, 302);
    } /* "/nothing": no reply at all */
}

static void h_count(struct http_response *resp, const struct http_request *req, void *ctx)
{
    (void)req;
    (void)ctx;
    http_reply_json(resp, 200, json_pack("{s:b}", "ok", true));
}

static void h_slow(struct http_response *resp, const struct http_request *req, void *ctx)
{
    (void)req;
    (void)ctx;
    atomic_store(&test_slow_started, 1);
    clock_sleep_ms(300);
    http_reply_json(resp, 200, json_pack("{s:s}", "slow", "done"));
}

static enum http_health test_health(json_t *checks, void *ctx)
{
    (void)ctx;
    int mode = atomic_load(&test_health_mode);
    json_object_set_new(checks, "postgres", json_string(mode == 2 ? "down" : "ok"));
    json_object_set_new(checks, "rpc", json_string(mode >= 1 ? "down" : "ok"));
    return (enum http_health)mode;
}

static const struct http_route test_routes[] = {
    {"GET", "/v1/streams/{id}/access", h_access, 0},
    {"DELETE", "/v1/streams/{id}/access", h_access_delete, 0},
    {"GET", "/hls/{id}/{path*}", h_tail, 0},
    {"PUT", "/ingest/{id}/{path*}", h_ingest, TEST_INGEST_MAX},
    {"POST", "/echo", h_echo, 0},
    {"GET", "/files/{name}", h_file, 0},
    {"GET", "/redirect", h_fixed, 0},
    {"GET", "/busy", h_fixed, 0},
    {"GET", "/pay", h_pay, 0},
    {"GET", "/text", h_fixed, 0},
    {"GET", "/nothing", h_fixed, 0},
    {"GET", "/badheader", h_fixed, 0},
    {"GET", "/count", h_count, 0},
    {"GET", "/conc", h_count, 0},
    {"GET", "/slow", h_slow, 0},
    {"GET", "/", h_count, 0},
};

/* ---- client helpers --------------------------------------------------------- */

static void test_resp_init(struct test_resp *r)
{
    r->rc = CURLE_OK;
    r->status = 0;
    buf_init(&r->body, TEST_BODY_MAX);
    buf_init(&r->headers, TEST_HEADERS_MAX);
}

static void test_resp_release(struct test_resp *r)
{
    buf_release(&r->body);
    buf_release(&r->headers);
}

static size_t test_on_data(char *data, size_t size, size_t n, void *userdata)
{
    return buf_append(userdata, data, size * n) == BUF_OK ? size * n : 0;
}

static size_t test_on_read(char *out, size_t size, size_t n, void *userdata)
{
    struct test_upload *u = userdata;
    size_t want = size * n, left = u->len - u->off;
    size_t k = want < left ? want : left;
    memcpy(out, u->data + u->off, k);
    u->off += k;
    return k;
}

/* One request; out is initialised here and released by the caller. */
static void test_do(struct test_resp *out, const struct test_req *rq)
{
    test_resp_init(out);
    CURL *c = curl_easy_init();
    ASSERT(c != NULL);
    char url[8192];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", rq->port ? rq->port : test_port, rq->path);
    struct curl_slist *hl = NULL;
    for (size_t i = 0; i < 8 && rq->headers[i] != NULL; i++)
        hl = curl_slist_append(hl, rq->headers[i]);
    struct test_upload up = {rq->body, rq->body_len, 0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, TEST_CURL_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, test_on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, test_on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &out->headers);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, rq->path_as_is ? 1L : 0L);
    if (rq->body_len > 0 || rq->chunked) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, test_on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &up);
        if (!rq->chunked)
            curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->body_len);
    }
    if (rq->method != NULL && strcmp(rq->method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (rq->method != NULL)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
    out->rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hl);
}

/* The value of the last header `name` of the response (CRLF cut). */
static bool test_header(const struct test_resp *r, const char *name, char *out, size_t out_size)
{
    const char *p = r->headers.data != NULL ? (const char *)r->headers.data : "";
    size_t name_len = strlen(name);
    bool found = false;
    for (int guard = 0; *p != '\0' && guard < 1000; guard++) {
        const char *eol = strstr(p, "\r\n");
        size_t line_len = eol != NULL ? (size_t)(eol - p) : strlen(p);
        if (line_len > name_len && strncasecmp(p, name, name_len) == 0 && p[name_len] == ':') {
            const char *v = p + name_len + 1;
            v += strspn(v, " ");
            size_t v_len = line_len - (size_t)(v - p);
            snprintf(out, out_size, "%.*s", (int)v_len, v);
            found = true;
        }
        p += line_len + (eol != NULL ? 2 : 0);
    }
    return found;
}

static json_t *test_json(const struct test_resp *r)
{
    if (r->body.data == NULL)
        return NULL;
    return json_loadb((const char *)r->body.data, r->body.len, 0, NULL);
}

/* The answer is `status` with an application/problem+json body of the four
 * core members (type naming `slug`) and the same status inside. */
static bool test_is_problem(const struct test_resp *r, int status, const char *slug)
{
    char ct[128] = "";
    test_header(r, "Content-Type", ct, sizeof ct);
    json_t *o = test_json(r);
    char type[256];
    snprintf(type, sizeof type, "%s%s", PROBLEM_TYPE_BASE, slug);
    bool ok = r->status == status && strcmp(ct, PROBLEM_CONTENT_TYPE) == 0 && o != NULL &&
              json_is_string(json_object_get(o, "title")) &&
              json_is_string(json_object_get(o, "detail")) &&
              json_integer_value(json_object_get(o, "status")) == status &&
              strcmp(json_string_value(json_object_get(o, "type")), type) == 0;
    if (!ok)
        fprintf(stdout, "#   want problem %d %s, got %ld '%s' %.*s\n", status, slug, r->status, ct,
                (int)r->body.len, r->body.data != NULL ? (char *)r->body.data : "");
    json_decref(o);
    return ok;
}

/* Polls /metrics until `line` (a whole line) appears: metrics are recorded
 * when an exchange completes, which may trail the client's last byte. */
static bool test_metrics_wait(const char *line)
{
    char want[1024];
    snprintf(want, sizeof want, "\n%s\n", line);
    for (int i = 0; i < TEST_POLL_TRIES; i++) {
        struct test_resp r;
        test_do(&r, &(struct test_req){.path = "/metrics"});
        bool found = r.body.data != NULL && strstr((char *)r.body.data, want) != NULL;
        test_resp_release(&r);
        if (found)
            return true;
        clock_sleep_ms(10);
    }
    fprintf(stdout, "#   metrics line never appeared: %s\n", line);
    return false;
}

static size_t test_log_read(char *out, size_t out_cap)
{
    fflush(test_log_file);
    rewind(test_log_file);
    size_t n = fread(out, 1, out_cap - 1, test_log_file);
    out[n] = '\0';
    fseek(test_log_file, 0, SEEK_END);
    return n;
}

/* ---- tests -------------------------------------------------------------------- */

static void test_routing_params(void)
{
    struct test_resp r;
    test_do(&r,
            &(struct test_req){.path = "/v1/streams/abc%2Dd%20e/access?token=SECRET-q%2Bx+y&x=1",
                               .headers = {"Authorization: Bearer SECRET-b.1~+/x=="}});
    CHECK_INT(r.status, 200);
    json_t *o = test_json(&r);
    CHECK_STR(json_string_value(json_object_get(o, "id")), "abc-d e");
    CHECK_STR(json_string_value(json_object_get(o, "path")), "/v1/streams/abc-d e/access");
    CHECK_STR(json_string_value(json_object_get(o, "route")), "/v1/streams/{id}/access");
    CHECK_STR(json_string_value(json_object_get(o, "method")), "GET");
    CHECK_STR(json_string_value(json_object_get(o, "token")), "SECRET-q+x y");
    CHECK_STR(json_string_value(json_object_get(o, "bearer")), "SECRET-b.1~+/x==");
    CHECK_STR(json_string_value(json_object_get(o, "ip")), "127.0.0.1");
    json_decref(o);
    test_resp_release(&r);
    const char *not_bearer[] = {"Authorization: Basic dXNlcg==", "Authorization: Bearer",
                                "Authorization: Bearer a b",     "Authorization: Bearer a=b",
                                "Authorization: Bearer tok\"en", "X-Other: 1"};
    for (size_t i = 0; i < sizeof not_bearer / sizeof not_bearer[0]; i++) {
        test_do(&r, &(struct test_req){.path = "/v1/streams/s/access", .headers = {not_bearer[i]}});
        o = test_json(&r);
        CHECK_MSG(r.status == 200 && json_is_null(json_object_get(o, "bearer")), "case %zu", i);
        json_decref(o);
        test_resp_release(&r);
    }
    test_do(&r, &(struct test_req){.path = "/v1/streams/s/access",
                                   .headers = {"authorization: bEaReR   tok"}});
    o = test_json(&r);
    CHECK_STR(json_string_value(json_object_get(o, "bearer")), "tok");
    json_decref(o);
    test_resp_release(&r);
    test_do(&r, &(struct test_req){.path = "/"});
    CHECK_INT(r.status, 200);
    test_resp_release(&r);
}

static void test_tail_wildcard(void)
{
    struct {
        const char *path;
        long status;
        const char *tail;
    } cases[] = {
        {"/hls/s1/0/seg%5F1.ts?token=SECRET-t", 200, "0/seg_1.ts"},
        {"/hls/s1/master.m3u8", 200, "master.m3u8"},
        {"/hls/s1/a/b/c/d/e", 200, "a/b/c/d/e"},
        {"/hls/s1/a//b", 200, "a//b"},
        {"/hls/s1/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/18/19/20", 200,
         "1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/18/19/20"},
        {"/hls/s1/", 404, NULL},
        {"/hls/s1", 404, NULL},
        {"/hls//x", 404, NULL}, /* an empty {id} */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct test_resp r;
        test_do(&r, &(struct test_req){.path = cases[i].path});
        CHECK_MSG(r.status == cases[i].status, "%s: %ld", cases[i].path, r.status);
        json_t *o = test_json(&r);
        if (cases[i].tail != NULL) {
            CHECK_STR(json_string_value(json_object_get(o, "path")), cases[i].tail);
            CHECK_STR(json_string_value(json_object_get(o, "id")), "s1");
            CHECK_INT(json_integer_value(json_object_get(o, "params")), 2);
        } else {
            CHECK(test_is_problem(&r, 404, "not-found"));
        }
        json_decref(o);
        test_resp_release(&r);
    }
}

static void test_bad_paths(void)
{
    const char *bad[] = {"/hls/s1/%2e%2e/x", "/hls/s1/../x",  "/hls/s1/./x", "/hls/s1/a%2Fb",
                         "/hls/s1/a%2fb",    "/hls/s1/a%00b", "/hls/s1/%zz", "/hls/s1/a%4",
                         "/hls/s1/a%",       "/hls/s1/%0a",   "/hls/s1/%7F", "/hls/%2E%2E/x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct test_resp r;
        test_do(&r, &(struct test_req){.path = bad[i], .path_as_is = true});
        CHECK_MSG(test_is_problem(&r, 400, "bad-path"), "%s", bad[i]);
        test_resp_release(&r);
    }
}

static void test_not_found_and_method(void)
{
    struct test_resp r;
    test_do(&r, &(struct test_req){.path = "/nope?token=SECRET-nf"});
    CHECK(test_is_problem(&r, 404, "not-found"));
    test_resp_release(&r);
    test_do(&r, &(struct test_req){
                    .method = "POST", .path = "/v1/streams/x/access", .body = "{}", .body_len = 2});
    CHECK(test_is_problem(&r, 405, "method-not-allowed"));
    char allow[256] = "";
    CHECK(test_header(&r, "Allow", allow, sizeof allow));
    CHECK_STR(allow, "GET, HEAD, DELETE");
    test_resp_release(&r);
    test_do(&r,
            &(struct test_req){.method = "PUT", .path = "/healthz", .body = "x", .body_len = 1});
    CHECK(test_is_problem(&r, 405, "method-not-allowed"));
    CHECK(test_header(&r, "Allow", allow, sizeof allow));
    CHECK_STR(allow, "GET, HEAD");
    test_resp_release(&r);
    test_do(&r, &(struct test_req){.method = "DELETE", .path = "/v1/streams/x/access"});
    CHECK_INT(r.status, 204);
    test_resp_release(&r);
    test_do(&r, &(struct test_req){.method = "HEAD", .path = "/v1/streams/x/access"});
    CHECK_INT(r.status, 200);
    CHECK_INT(r.body.len, 0);
    test_resp_release(&r);
    char path[HTTP_URL_BYTES_DEFAULT + 64] = "/hls/s/";
    memset(path + 7, 'a', HTTP_URL_BYTES_DEFAULT);
    path[7 + HTTP_URL_BYTES_DEFAULT] = '\0';
    test_do(&r, &(struct test_req){.path = path});
    CHECK(test_is_problem(&r, 414, "uri-too-long"));
    test_resp_release(&r);
}

static void test_body_limits(void)
{
    static uint8_t body[TEST_INGEST_MAX * 8];
    memset(body, 'b', sizeof body);
    struct test_resp r;
    /* exactly the maximum, with a Content-Length and chunked */
    test_do(&r, &(struct test_req){.method = "PUT",
                                   .path = "/ingest/s/0/a.ts",
                                   .body = body,
                                   .body_len = TEST_INGEST_MAX,
                                   .headers = {"Expect:"}});
    json_t *o = test_json(&r);
    CHECK_INT(r.status, 201);
    CHECK_INT(json_integer_value(json_object_get(o, "len")), TEST_INGEST_MAX);
    CHECK(json_is_true(json_object_get(o, "nul")));
    json_decref(o);
    test_resp_release(&r);
    test_do(&r, &(struct test_req){.method = "PUT",
                                   .path = "/ingest/s/0/b.ts",
                                   .body = body,
                                   .body_len = 1000,
                                   .chunked = true});
    o = test_json(&r);
    CHECK_INT(r.status, 201);
    CHECK_INT(json_integer_value(json_object_get(o, "len")), 1000);
    json_decref(o);
    test_resp_release(&r);
    /* one byte over with a Content-Length: 413 before the body is read */
    const char *expect[] = {"Expect:", "Expect: 100-continue"};
    for (size_t i = 0; i < 2; i++) {
        test_do(&r, &(struct test_req){.method = "PUT",
                                       .path = "/ingest/s/0/c.ts",
                                       .body = body,
                                       .body_len = TEST_INGEST_MAX + 1,
                                       .headers = {expect[i]}});
        CHECK_MSG(test_is_problem(&r, 413, "body-too-large"), "%s", expect[i]);
        test_resp_release(&r);
    }
    /* chunked over the maximum: read and discarded, then 413 and close */
    test_do(&r, &(struct test_req){.method = "PUT",
                                   .path = "/ingest/s/0/d.ts",
                                   .body = body,
                                   .body_len = sizeof body,
                                   .chunked = true});
    CHECK(test_is_problem(&r, 413, "body-too-large"));
    char conn[64] = "";
    CHECK(test_header(&r, "Connection", conn, sizeof conn) && strcasecmp(conn, "close") == 0);
    test_resp_release(&r);
    /* far beyond what is worth discarding: the connection is closed unanswered */
    size_t huge_len = (size_t)HTTP_BODY_DRAIN_BYTES_MAX + 2 * TEST_INGEST_MAX + 65536;
    uint8_t *huge = calloc(1, huge_len);
    ASSERT(huge != NULL);
    test_do(&r, &(struct test_req){.method = "PUT",
                                   .path = "/ingest/s/0/e.ts",
                                   .body = huge,
                                   .body_len = huge_len,
                                   .chunked = true});
    CHECK_MSG(r.rc != CURLE_OK || r.status == 413, "rc %d status %ld", (int)r.rc, r.status);
    test_resp_release(&r);
    free(huge);
    /* the server keeps serving */
    test_do(&r,
            &(struct test_req){.method = "POST", .path = "/echo", .body = "ping", .body_len = 4});
    CHECK_INT(r.status, 200);
    CHECK(r.body.len == 4 && memcmp(r.body.data, "ping", 4) == 0);
    test_resp_release(&r);
}

static void test_problem_shape(void)
{
    struct test_resp r;
    test_do(&r, &(struct test_req){.path = "/pay"});
    CHECK(test_is_problem(&r, 402, "access-denied"));
    json_t *o = test_json(&r);
    CHECK_INT(json_object_size(o), 5);
    CHECK_STR(json_string_value(json_object_get(o, "title")), "Access denied");
    CHECK_STR(json_string_value(json_object_get(o, "detail")), "hold a pass or tip");
    CHECK_STR(json_string_value(json_object_get(json_object_get(o, "requirements"), "tip_min_wei")),
              "1000");
    json_decref(o);
    test_resp_release(&r);
}

static void test_request_ids(void)
{
    struct test_resp r;
    char rid[128];
    test_do(&r, &(struct test_req){.path = "/", .headers = {"X-Request-Id: abc-123.x:Y_z"}});
    CHECK(test_header(&r, "X-Request-Id", rid, sizeof rid));
    CHECK_STR(rid, "abc-123.x:Y_z");
    test_resp_release(&r);
    char long_id[HTTP_REQUEST_ID_BYTES_MAX + 32];
    snprintf(long_id, sizeof long_id, "X-Request-Id: %0*d", HTTP_REQUEST_ID_BYTES_MAX + 1, 7);
    const char *bad[] = {"X-Request-Id: bad id", "X-Request-Id: <script>", long_id, "X-None: 1"};
    char seen[4][128];
    for (size_t i = 0; i < 4; i++) {
        test_do(&r, &(struct test_req){.path = "/", .headers = {bad[i]}});
        CHECK(test_header(&r, "X-Request-Id", rid, sizeof rid));
        CHECK_MSG(strlen(rid) == 16 && strspn(rid, "0123456789abcdef") == 16, "got '%s'", rid);
        snprintf(seen[i], sizeof seen[i], "%s", rid);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(seen[j], rid) != 0);
        test_resp_release(&r);
    }
    test_do(&r, &(struct test_req){.path = "/v1/streams/s/access",
                                   .headers = {"X-Request-Id: handler-sees-it"}});
    json_t *o = test_json(&r);
    CHECK_STR(json_string_value(json_object_get(o, "rid")), "handler-sees-it");
    json_decref(o);
    test_resp_release(&r);
    test_do(&r, &(struct test_req){.path = "/nope", .headers = {"X-Request-Id: on-errors-too"}});
    CHECK(test_header(&r, "X-Request-Id", rid, sizeof rid));
    CHECK_STR(rid, "on-errors-too");
    test_resp_release(&r);
}

/* One ranged GET of data.bin (100 bytes 0..99): status, body, headers. */
static void test_range_case(const char *range, long status, size_t first, size_t len,
                            const char *content_range)
{
    char header[128];
    snprintf(header, sizeof header, "Range: %s", range);
    struct test_resp r;
    test_do(&r, &(struct test_req){.path = "/files/data.bin", .headers = {header}});
    CHECK_MSG(r.status == status, "%s: %ld", range, r.status);
    char v[128] = "";
    CHECK(test_header(&r, "Accept-Ranges", v, sizeof v) && strcmp(v, "bytes") == 0);
    CHECK(test_header(&r, "Content-Range", v, sizeof v) == (content_range != NULL));
    if (content_range != NULL)
        CHECK_STR(v, content_range);
    if (status == 416) {
        CHECK(test_is_problem(&r, 416, "range-not-satisfiable"));
    } else {
        CHECK(test_header(&r, "Content-Length", v, sizeof v) && (size_t)atol(v) == len);
        CHECK_MSG(r.body.len == len, "%s: %zu bytes", range, r.body.len);
        for (size_t i = 0; i < r.body.len && i < len; i++)
            CHECK(r.body.data[i] == (uint8_t)(first + i));
    }
    test_resp_release(&r);
}

static void test_files_and_ranges(void)
{
    struct test_resp r;
    test_do(&r, &(struct test_req){.path = "/files/data.bin?token=SECRET-f"});
    CHECK_INT(r.status, 200);
    CHECK_INT(r.body.len, 100);
    char v[128] = "";
    CHECK(test_header(&r, "Content-Type", v, sizeof v) && strcmp(v, "video/mp2t") == 0);
    CHECK(test_header(&r, "Content-Length", v, sizeof v) && strcmp(v, "100") == 0);
    CHECK(test_header(&r, "Cache-Control", v, sizeof v) &&
          strcmp(v, "public, max-age=60, immutable") == 0);
    CHECK(test_header(&r, "Accept-Ranges", v, sizeof v) && strcmp(v, "bytes") == 0);
    CHECK(!test_header(&r, "Content-Range", v, sizeof v));
    for (size_t i = 0; i < r.body.len; i++)
        CHECK(r.body.data[i] == (uint8_t)i);
    test_resp_release(&r);
    test_range_case("bytes=0-9", 206, 0, 10, "bytes 0-9/100");
    test_range_case("bytes=-5", 206, 95, 5, "bytes 95-99/100");
    test_range_case("bytes=10-", 206, 10, 90, "bytes 10-99/100");
    test_range_case("bytes=99-99", 206, 99, 1, "bytes 99-99/100");
    test_range_case("bytes=90-1000", 206, 90, 10, "bytes 90-99/100");
    test_range_case("bytes=-1000", 206, 0, 100, "bytes 0-99/100");
    test_range_case("bytes=100-", 416, 0, 0, "bytes */100");
    test_range_case("bytes=500-600", 416, 0, 0, "bytes */100");
    test_range_case("bytes=-0", 416, 0, 0, "bytes */100");
    test_range_case("bytes=0-9,20-29", 200, 0, 100, NULL);
    test_range_case("bytes=9-0", 200, 0, 100, NULL);
    test_range_case("items=0-9", 200, 0, 100, NULL);
    test_do(&r, &(struct test_req){.path = "/files/data.bin",
                                   .headers = {"Range: bytes=0-9", "If-Range: \"x\""}});
    CHECK_INT(r.status, 200);
    CHECK_INT(r.body.len, 100);
    test_resp_release(&r);
    test_do(&r, &(struct test_req){
                    .method = "HEAD", .path = "/files/data.bin", .headers = {"Range: bytes=0-9"}});
    CHECK_INT(r.status, 206);
    CHECK_INT(r.body.len, 0);
    CHECK(test_header(&r, "Content-Length", v, sizeof v) && strcmp(v, "10") == 0);
    test_resp_release(&r);
    test_do(&r, &(struct test_req){.path = "/files/empty.bin"});
    CHECK_INT(r.status, 200);
    CHECK_INT(r.body.len, 0);
    CHECK(test_header(&r, "Content-Length", v, sizeof v) && strcmp(v, "0") == 0);
    test_resp_release(&r);
    test_do(&r, &(struct test_req){.path = "/files/empty.bin", .headers = {"Range: bytes=-5"}});
    CHECK(test_is_problem(&r, 416, "range-not-satisfiable"));
    test_resp_release(&r);
    test_do(&r, &(struct test_req){.path = "/files/subdir"}); /* not a regular file */
    CHECK(test_is_problem(&r, 500, "internal"));
    test_resp_release(&r);
}

static void test_extra_headers(void)
{
    struct test_resp r;
    char v[256] = "";
    test_do(&r, &(struct test_req){.path = "/redirect"});
    CHECK_INT(r.status, 302);
    CHECK(test_header(&r, "Location", v, sizeof v) && strcmp(v, "/v1/streams/abc/access") == 0);
    test_resp_release(&r);
    test_do(&r, &(struct test_req){.path = "/busy"});
    CHECK(test_is_problem(&r, 503, "unavailable"));
    CHECK(test_header(&r, "Retry-After", v, sizeof v) && strcmp(v, "5") == 0);
    CHECK(test_header(&r, "Cache-Control", v, sizeof v) && strcmp(v, "no-store") == 0);
    test_resp_release(&r);
    test_do(&r, &(struct test_req){.path = "/text"});
    CHECK_INT(r.status, 200);
    CHECK(test_header(&r, "Content-Type", v, sizeof v) &&
          strcmp(v, "text/plain; charset=utf-8") == 0);
    CHECK(r.body.len == 5 && memcmp(r.body.data, "hello", 5) == 0);
    test_resp_release(&r);
}

static void test_handler_failures(void)
{
    struct test_resp r;
    char v[256];
    test_do(&r, &(struct test_req){.path = "/nothing", .headers = {"X-Request-Id: fail-nothing"}});
    CHECK(test_is_problem(&r, 500, "internal"));
    test_resp_release(&r);
    test_do(&r, &(struct test_req){.path = "/badheader", .headers = {"X-Request-Id: fail-header"}});
    CHECK(test_is_problem(&r, 500, "internal"));
    CHECK(!test_header(&r, "Set-Cookie", v, sizeof v));
    CHECK(!test_header(&r, "Location", v, sizeof v));
    test_resp_release(&r);
    static char log[1 << 20];
    test_log_read(log, sizeof log);
    CHECK(strstr(log, "msg=\"reply failed\" req=fail-nothing") != NULL);
    CHECK(strstr(log, "msg=\"reply failed\" req=fail-header") != NULL);
}

static void test_healthz(void)
{
    const char *want[] = {
        "{\"status\":\"ok\",\"checks\":{\"postgres\":\"ok\",\"rpc\":\"ok\"}}",
        "{\"status\":\"degraded\",\"checks\":{\"postgres\":\"ok\",\"rpc\":\"down\"}}",
        "{\"status\":\"down\",\"checks\":{\"postgres\":\"down\",\"rpc\":\"down\"}}"};
    long status[] = {200, 200, 503};
    for (int mode = 0; mode < 3; mode++) {
        atomic_store(&test_health_mode, mode);
        struct test_resp r;
        test_do(&r, &(struct test_req){.path = "/healthz"});
        CHECK_INT(r.status, status[mode]);
        CHECK(r.body.data != NULL && strcmp((char *)r.body.data, want[mode]) == 0);
        char v[128] = "";
        CHECK(test_header(&r, "Content-Type", v, sizeof v) && strcmp(v, "application/json") == 0);
        CHECK(test_header(&r, "Cache-Control", v, sizeof v) && strcmp(v, "no-store") == 0);
        test_resp_release(&r);
    }
    atomic_store(&test_health_mode, 0);
}

static void *test_conc_client(void *arg)
{
    (void)arg;
    for (int i = 0; i < 25; i++) {
        struct test_resp r;
        test_do(&r, &(struct test_req){.path = "/conc"});
        test_resp_release(&r);
    }
    return NULL;
}

static void test_metrics(void)
{
    for (int i = 0; i < 3; i++) {
        struct test_resp r;
        test_do(&r, &(struct test_req){.path = "/count?token=SECRET-m"});
        test_resp_release(&r);
    }
    pthread_t threads[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&threads[i], NULL, test_conc_client, NULL) == 0);
    for (int i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
    http_metric_add(test_allowed, 2);
    http_metric_add(test_denied, 1);
    http_metric_set(test_cache, 10);
    http_metric_adjust(test_cache, -3);
    CHECK_INT(http_metric_value(test_cache), 7);
    CHECK(
        test_metrics_wait("http_requests_total{method=\"GET\",route=\"/count\",status=\"200\"} 3"));
    CHECK(test_metrics_wait(
        "http_requests_total{method=\"GET\",route=\"/conc\",status=\"200\"} 100"));
    CHECK(test_metrics_wait(
        "http_request_duration_seconds_bucket{method=\"GET\",route=\"/count\",le=\"+Inf\"} 3"));
    CHECK(test_metrics_wait(
        "http_request_duration_seconds_count{method=\"GET\",route=\"/conc\"} 100"));
    CHECK(test_metrics_wait(
        "http_requests_total{method=\"any\",route=\"unmatched\",status=\"404\"} 5"));
    CHECK(test_metrics_wait("# TYPE access_decisions_total counter"));
    CHECK(test_metrics_wait("access_decisions_total{outcome=\"allowed\",via=\"pass\"} 2"));
    CHECK(test_metrics_wait("access_decisions_total{outcome=\"denied\"} 1"));
    CHECK(test_metrics_wait("cache_entries 7"));
    struct test_resp r;
    test_do(&r, &(struct test_req){.path = "/metrics"});
    char v[128] = "";
    CHECK(test_header(&r, "Content-Type", v, sizeof v) &&
          strcmp(v, HTTP_METRICS_CONTENT_TYPE) == 0);
    const char *text = r.body.data != NULL ? (const char *)r.body.data : "";
    const char *help = strstr(text, "# HELP access_decisions_total");
    CHECK(help != NULL && strstr(help + 1, "# HELP access_decisions_total") == NULL);
    CHECK(strstr(text, "# TYPE http_request_duration_seconds histogram\n") != NULL);
    CHECK(strstr(text, "SECRET") == NULL);
    test_resp_release(&r);
}

/* 1,000 idle sockets from 127.0.0.2 holding partial requests: the per-IP cap
 * refuses all but a few, and a viewer on 127.0.0.1 is still served. */
static void test_slowloris(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4 * TEST_IDLE_SOCKETS) {
        rl.rlim_cur = rl.rlim_max < 4 * TEST_IDLE_SOCKETS ? rl.rlim_max : 4 * TEST_IDLE_SOCKETS;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    static int fds[TEST_IDLE_SOCKETS];
    size_t connected = 0;
    struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.2", &src.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    dst.sin_port = htons(test_port);
    struct timeval tv = {.tv_sec = 5}; /* hang guard for connect() */
    for (size_t i = 0; i < TEST_IDLE_SOCKETS; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fds[i] < 0)
            break;
        setsockopt(fds[i], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (bind(fds[i], (struct sockaddr *)&src, sizeof src) != 0 ||
            connect(fds[i], (struct sockaddr *)&dst, sizeof dst) != 0)
            continue;
        connected++;
        static const char partial[] = "GET /count HTTP/1.1\r\nHost: x\r\nX-Slow: ";
        (void)send(fds[i], partial, sizeof partial - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    CHECK_INT(connected, TEST_IDLE_SOCKETS);
    /* count the sockets the server refused (closed at once) */
    size_t closed = 0;
    for (int round = 0; round < TEST_POLL_TRIES && closed < TEST_IDLE_SOCKETS - TEST_PER_IP_MAX;
         round++) {
        closed = 0;
        for (size_t i = 0; i < TEST_IDLE_SOCKETS; i++) {
            struct pollfd p = {.fd = fds[i], .events = POLLIN};
            if (fds[i] >= 0 && poll(&p, 1, 0) == 1)
                closed++;
        }
        if (closed < TEST_IDLE_SOCKETS - TEST_PER_IP_MAX)
            clock_sleep_ms(10);
    }
    CHECK_MSG(closed >= TEST_IDLE_SOCKETS - TEST_PER_IP_MAX, "only %zu refused", closed);
    struct test_resp r;
    test_do(&r, &(struct test_req){.path = "/v1/streams/viewer/access"});
    CHECK_INT(r.rc, CURLE_OK);
    CHECK_INT(r.status, 200);
    test_resp_release(&r);
    for (size_t i = 0; i < TEST_IDLE_SOCKETS; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
    }
}

static void test_access_log(void)
{
    struct test_resp r;
    test_do(&r, &(struct test_req){
                    .path = "/v1/streams/logged/access?token=SECRET-log",
                    .headers = {"X-Request-Id: log-line-1", "Authorization: Bearer SECRET-auth"}});
    CHECK_INT(r.status, 200);
    test_resp_release(&r);
    test_do(&r, &(struct test_req){.path = "/nope/%41?token=SECRET-404",
                                   .headers = {"X-Request-Id: log-line-2"}});
    test_resp_release(&r);
    /* both lines are written when the exchanges complete */
    static char log[1 << 22];
    const char *line2 = NULL;
    for (int i = 0; i < TEST_POLL_TRIES && line2 == NULL; i++) {
        test_log_read(log, sizeof log);
        line2 = strstr(log, "req=log-line-2 ");
        if (line2 == NULL)
            clock_sleep_ms(10);
    }
    const char *line1 = strstr(log, "req=log-line-1 ");
    CHECK(line1 != NULL && line2 != NULL);
    if (line1 == NULL || line2 == NULL)
        return;
    const char *want1 = "req=log-line-1 method=GET route=/v1/streams/{id}/access "
                        "path=/v1/streams/logged/access status=200 bytes=";
    CHECK(strncmp(line1, want1, strlen(want1)) == 0);
    const char *eol = strchr(line1, '\n');
    const char *dur = strstr(line1, " dur_ms=");
    const char *ip = strstr(line1, " ip=127.0.0.1");
    CHECK(dur != NULL && dur < eol && ip != NULL && ip < eol);
    const char *want2 = "req=log-line-2 method=GET route=unmatched path=/nope/%41 status=404 ";
    CHECK(strncmp(line2, want2, strlen(want2)) == 0);
    /* nothing of a query string or an Authorization header, in any line */
    CHECK(strstr(log, "SECRET") == NULL);
    CHECK(strstr(log, "token") == NULL);
    CHECK(strstr(log, "Bearer") == NULL);
}

static void *test_slow_client(void *arg)
{
    struct test_resp *r = arg;
    test_do(r, &(struct test_req){.path = "/slow", .port = test_port});
    return NULL;
}

/* stop waits for the request in flight, then refuses new connections. */
static void test_graceful_stop(void)
{
    struct test_resp r;
    pthread_t t;
    atomic_store(&test_slow_started, 0);
    CHECK(pthread_create(&t, NULL, test_slow_client, &r) == 0);
    for (int i = 0; i < TEST_POLL_TRIES && !atomic_load(&test_slow_started); i++)
        clock_sleep_ms(10);
    CHECK(atomic_load(&test_slow_started));
    http_server_stop(test_srv);
    pthread_join(t, NULL);
    CHECK_INT(r.status, 200);
    json_t *o = test_json(&r);
    CHECK_STR(json_string_value(json_object_get(o, "slow")), "done");
    json_decref(o);
    test_resp_release(&r);
    CHECK_INT(http_server_port(test_srv), 0);
    test_do(&r, &(struct test_req){.path = "/count"});
    CHECK(r.rc == CURLE_COULDNT_CONNECT);
    test_resp_release(&r);
    struct err e = {0};
    CHECK_INT(http_server_start(test_srv, &e), HTTP_ERR_STATE);
    http_server_stop(test_srv); /* idempotent */
}

static void test_range_parse(void)
{
    struct {
        const char *h;
        uint64_t size;
        enum http_range_result want;
        uint64_t first, last;
    } cases[] = {
        {NULL, 10, HTTP_RANGE_NONE, 0, 0},
        {"bytes=0-0", 10, HTTP_RANGE_OK, 0, 0},
        {"BYTES=2-", 10, HTTP_RANGE_OK, 2, 9},
        {"bytes=-3", 10, HTTP_RANGE_OK, 7, 9},
        {"bytes=-30", 10, HTTP_RANGE_OK, 0, 9},
        {"bytes=5-99999999999999999999999", 10, HTTP_RANGE_OK, 5, 9},
        {"bytes=10-", 10, HTTP_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=99999999999999999999999-", 10, HTTP_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=-0", 10, HTTP_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=0-", 0, HTTP_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=-1", 0, HTTP_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=-", 10, HTTP_RANGE_NONE, 0, 0},
        {"bytes=3-2", 10, HTTP_RANGE_NONE, 0, 0},
        {"bytes=0-1,3-4", 10, HTTP_RANGE_NONE, 0, 0},
        {"bytes= 0-1", 10, HTTP_RANGE_NONE, 0, 0},
        {"bytes=0-1 ", 10, HTTP_RANGE_NONE, 0, 0},
        {"bytes=a-1", 10, HTTP_RANGE_NONE, 0, 0},
        {"bytes 0-1", 10, HTTP_RANGE_NONE, 0, 0},
        {"", 10, HTTP_RANGE_NONE, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t first = 77, last = 77;
        enum http_range_result got = http_range_parse(&first, &last, cases[i].h, cases[i].size);
        CHECK_MSG(got == cases[i].want, "case %zu: %d", i, (int)got);
        if (got == HTTP_RANGE_OK)
            CHECK_MSG(first == cases[i].first && last == cases[i].last, "case %zu", i);
    }
}

/* Sets one config field out of its range; returns the field's name. */
static const char *test_config_bad(struct http_config *c, int i)
{
    http_config_default(c);
    switch (i) {
    case 0:
        c->threads = 0;
        return "threads";
    case 1:
        c->threads = HTTP_THREADS_MAX + 1;
        return "threads";
    case 2:
        c->connection_timeout_s = 0;
        return "connection_timeout_s";
    case 3:
        c->connections_max = c->threads - 1;
        return "connections_max";
    case 4:
        c->connections_per_ip_max = 0;
        return "connections_per_ip_max";
    case 5:
        c->connections_per_ip_max = c->connections_max + 1;
        return "connections_per_ip_max";
    case 6:
        c->connection_memory_bytes = HTTP_CONNECTION_MEMORY_BYTES_MIN - 1;
        return "connection_memory_bytes";
    case 7:
        c->url_bytes_max = c->connection_memory_bytes / 2 + 1;
        return "url_bytes_max";
    case 8:
        c->body_bytes_max = HTTP_BODY_BYTES_MAX + 1;
        return "body_bytes_max";
    default:
        c->drain_ms = HTTP_DRAIN_MS_MAX + 1;
        return "drain_ms";
    }
}

static void test_config_rejections(void)
{
    struct http_app app = {.log = &test_log};
    struct http_server *s = (struct http_server *)&app; /* must be reset to NULL */
    struct err e = {0};
    struct http_config cfg;
    for (int i = 0; i < 10; i++) {
        const char *field = test_config_bad(&cfg, i);
        CHECK_INT(http_server_new(&s, &cfg, &app, &e), HTTP_ERR_BAD_CONFIG);
        CHECK(s == NULL);
        char want[96];
        snprintf(want, sizeof want, "http %s out of range", field);
        CHECK_MSG(strstr(e.msg, want) != NULL, "%s", e.msg);
    }
    const char *bad_listen[] = {"nohost",       "127.0.0.1:",   ":80",  "127.0.0.1:65536",
                                "127.0.0.1:8x", "127.0.0.1:-1", "[::1]"};
    for (size_t i = 0; i < sizeof bad_listen / sizeof bad_listen[0]; i++) {
        http_config_default(&cfg);
        snprintf(cfg.listen, sizeof cfg.listen, "%s", bad_listen[i]);
        CHECK_MSG(http_server_new(&s, &cfg, &app, &e) == HTTP_ERR_BAD_LISTEN, "%s", bad_listen[i]);
        CHECK(s == NULL);
    }
    const char *good_listen[] = {"[::1]:0", "localhost:0", "0.0.0.0:8080"};
    for (size_t i = 0; i < sizeof good_listen / sizeof good_listen[0]; i++) {
        http_config_default(&cfg);
        snprintf(cfg.listen, sizeof cfg.listen, "%s", good_listen[i]);
        CHECK_MSG(http_server_new(&s, &cfg, &app, &e) == HTTP_OK, "%s: %s", good_listen[i], e.msg);
        http_server_free(s);
    }
    http_config_default(&cfg);
    struct http_app no_log = {0};
    CHECK_INT(http_server_new(&s, &cfg, &no_log, &e), HTTP_ERR_BAD_CONFIG);
}

static void test_route_rejections(void)
{
    struct http_route bad[] = {
        {"get", "/a", h_count, 0},
        {"GET", "a", h_count, 0},
        {"GET", NULL, h_count, 0},
        {NULL, "/a", h_count, 0},
        {"GET", "/a/{x*}/b", h_count, 0},
        {"GET", "/a/{X}", h_count, 0},
        {"GET", "/a/{x}/{x}", h_count, 0},
        {"GET", "/a/{x}/{x*}", h_count, 0},
        {"GET", "/a//b", h_count, 0},
        {"GET", "/a/", h_count, 0},
        {"GET", "/a b", h_count, 0},
        {"GET", "/a/{}", h_count, 0},
        {"GET", "/a/{*}", h_count, 0},
        {"GET", "/a/{x", h_count, 0},
        {"GET", "/a/x*", h_count, 0},
        {"GET", "/a?b", h_count, 0},
        {"GET", "/a%20", h_count, 0},
        {"GET", "/healthz", h_count, 0},
        {"POST", "/metrics", h_count, 0},
        {"GET", "/a", NULL, 0},
        {"GET", "/a", h_count, HTTP_BODY_BYTES_MAX + 1},
        {"GET", "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", h_count, 0},
        {"GET", "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17", h_count, 0},
        {"GETGETGETGETGETGE", "/a", h_count, 0},
    };
    struct http_config cfg;
    http_config_default(&cfg);
    struct http_server *s = NULL;
    struct err e = {0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct http_app app = {.routes = &bad[i], .routes_len = 1, .log = &test_log};
        CHECK_MSG(http_server_new(&s, &cfg, &app, &e) == HTTP_ERR_BAD_ROUTE, "case %zu", i);
        CHECK(s == NULL);
    }
    struct http_route twice[] = {{"GET", "/a/{x}", h_count, 0}, {"GET", "/a/{x}", h_count, 0}};
    struct http_app app = {.routes = twice, .routes_len = 2, .log = &test_log};
    CHECK_INT(http_server_new(&s, &cfg, &app, &e), HTTP_ERR_BAD_ROUTE);
    CHECK(strstr(e.msg, "listed twice") != NULL);
    twice[1].method = "PUT";
    CHECK_INT(http_server_new(&s, &cfg, &app, &e), HTTP_OK);
    http_server_free(s);
    struct http_route good[] = {{"GET", "/", h_count, 0},
                                {"GET", "/a/{b}/{c*}", h_count, 0},
                                {"GET", "/x/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h*}", h_count, 0},
                                {"PATCH", "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16", h_count, 0},
                                {"GET", "/a-b.c~d!$&'()+,;=:@", h_count, 0}};
    app = (struct http_app){.routes = good, .routes_len = 5, .log = &test_log};
    CHECK_MSG(http_server_new(&s, &cfg, &app, &e) == HTTP_OK, "%s", e.msg);
    http_server_free(s);
    static struct http_route many[HTTP_ROUTES_MAX + 1];
    for (size_t i = 0; i < HTTP_ROUTES_MAX + 1; i++)
        many[i] = (struct http_route){"GET", "/many", h_count, 0};
    app = (struct http_app){.routes = many, .routes_len = HTTP_ROUTES_MAX + 1, .log = &test_log};
    CHECK_INT(http_server_new(&s, &cfg, &app, &e), HTTP_ERR_BAD_ROUTE);
}

static void test_metric_rejections(void)
{
    struct http_config cfg;
    http_config_default(&cfg);
    struct http_app app = {.log = &test_log};
    struct http_server *s = NULL;
    struct err e = {0};
    CHECK_INT(http_server_new(&s, &cfg, &app, &e), HTTP_OK);
    if (s == NULL)
        return;
    struct http_metric *m = (struct http_metric *)&e; /* must be reset to NULL */
    const char *bad_names[] = {"",
                               "1abc",
                               "a-b",
                               "a b",
                               "http_requests_total",
                               "http_request_duration_seconds",
                               "a2345678901234567890123456789012345678901234567890123456789012345"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        CHECK_INT(http_metric_register(&m, s, HTTP_METRIC_COUNTER, bad_names[i], "", "h", &e),
                  HTTP_ERR_BAD_METRIC);
        CHECK(m == NULL);
    }
    const char *bad_labels[] = {"outcome=allowed", "outcome=\"a",    "=\"a\"",     "1a=\"x\"",
                                "a=\"x\",",        "a=\"x\"b=\"y\"", "a=\"x\\y\"", "a=\"x\ny\"",
                                ",a=\"x\"",        "a =\"x\""};
    for (size_t i = 0; i < sizeof bad_labels / sizeof bad_labels[0]; i++)
        CHECK_MSG(http_metric_register(&m, s, HTTP_METRIC_GAUGE, "g", bad_labels[i], "h", &e) ==
                      HTTP_ERR_BAD_METRIC,
                  "%s", bad_labels[i]);
    CHECK_INT(http_metric_register(&m, s, HTTP_METRIC_GAUGE, "g", "", "line\nbreak", &e),
              HTTP_ERR_BAD_METRIC);
    CHECK_INT(http_metric_register(&m, s, (enum http_metric_type)0, "g", "", "h", &e),
              HTTP_ERR_BAD_METRIC);
    CHECK_INT(http_metric_register(&m, s, HTTP_METRIC_GAUGE, "g", "a=\"x\",b=\"y:z/1\"", "h", &e),
              HTTP_OK);
    CHECK(m != NULL);
    CHECK_INT(http_metric_register(&m, s, HTTP_METRIC_GAUGE, "g", "a=\"x\",b=\"y:z/1\"", "h", &e),
              HTTP_ERR_METRIC_CONFLICT);
    CHECK_INT(http_metric_register(&m, s, HTTP_METRIC_COUNTER, "g", "", "h", &e),
              HTTP_ERR_METRIC_CONFLICT);
    CHECK(strstr(e.msg, "another type") != NULL);
    char name[32];
    for (int i = 1; i < HTTP_METRICS_SERIES_MAX; i++) {
        snprintf(name, sizeof name, "c%d", i);
        CHECK_INT(http_metric_register(&m, s, HTTP_METRIC_COUNTER, name, NULL, NULL, &e), HTTP_OK);
    }
    CHECK_INT(http_metric_register(&m, s, HTTP_METRIC_COUNTER, "last", "", "h", &e),
              HTTP_ERR_METRICS_FULL);
    http_server_free(s);
}

/* A second server on the busy port fails to start; a started one refuses
 * a second start. */
static void test_start_errors(void)
{
    struct http_config cfg;
    http_config_default(&cfg);
    snprintf(cfg.listen, sizeof cfg.listen, "127.0.0.1:%u", test_port);
    struct http_app app = {.log = &test_log};
    struct http_server *s = NULL;
    struct err e = {0};
    CHECK_INT(http_server_new(&s, &cfg, &app, &e), HTTP_OK);
    CHECK_INT(http_server_start(s, &e), HTTP_ERR_START);
    CHECK(strstr(e.msg, "cannot start the HTTP server on '127.0.0.1:") != NULL);
    CHECK_INT(http_server_port(s), 0);
    http_server_free(s);
    CHECK_INT(http_server_start(test_srv, &e), HTTP_ERR_STATE);
    static char log[1 << 22];
    test_log_read(log, sizeof log);
    CHECK(strstr(log, "msg=\"libmicrohttpd\" detail=") != NULL);
}

/* data.bin (bytes 0..99), empty.bin and a directory under a fresh dir. */
static void test_files_create(void)
{
    const char *base = getenv("TEST_TMPDIR");
    snprintf(test_dir, sizeof test_dir, "%s/test_http.XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    ASSERT(mkdtemp(test_dir) != NULL);
    char path[512];
    uint8_t data[100];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)i;
    snprintf(path, sizeof path, "%s/data.bin", test_dir);
    FILE *f = fopen(path, "wb");
    ASSERT(f != NULL && fwrite(data, 1, sizeof data, f) == sizeof data && fclose(f) == 0);
    snprintf(path, sizeof path, "%s/empty.bin", test_dir);
    f = fopen(path, "wb");
    ASSERT(f != NULL && fclose(f) == 0);
    snprintf(path, sizeof path, "%s/subdir", test_dir);
    ASSERT(mkdir(path, 0700) == 0);
}

static void test_files_remove(void)
{
    const char *names[] = {"data.bin", "empty.bin"};
    char path[512];
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", test_dir, names[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/subdir", test_dir);
    rmdir(path);
    rmdir(test_dir);
}

/* The shared server: 4 threads, TEST_PER_IP_MAX connections per address. */
static void test_server_start(void)
{
    struct http_config cfg;
    http_config_default(&cfg);
    cfg.connections_max = 4 * TEST_IDLE_SOCKETS;
    cfg.connections_per_ip_max = TEST_PER_IP_MAX;
    cfg.drain_ms = 5000;
    struct http_app app = {.routes = test_routes,
                           .routes_len = sizeof test_routes / sizeof test_routes[0],
                           .health = test_health,
                           .log = &test_log};
    struct err e = {0};
    ASSERT(http_server_new(&test_srv, &cfg, &app, &e) == HTTP_OK);
    ASSERT(http_metric_register(&test_allowed, test_srv, HTTP_METRIC_COUNTER,
                                "access_decisions_total", "outcome=\"allowed\",via=\"pass\"",
                                "Access decisions by outcome.", &e) == HTTP_OK);
    ASSERT(http_metric_register(&test_cache, test_srv, HTTP_METRIC_GAUGE, "cache_entries", "",
                                "Entries in the ownership cache.", &e) == HTTP_OK);
    ASSERT(http_metric_register(&test_denied, test_srv, HTTP_METRIC_COUNTER,
                                "access_decisions_total", "outcome=\"denied\"", "ignored",
                                &e) == HTTP_OK);
    CHECK_INT(http_server_port(test_srv), 0);
    ASSERT(http_server_start(test_srv, &e) == HTTP_OK);
    test_port = http_server_port(test_srv);
    ASSERT(test_port != 0);
}

int main(void)
{
    ASSERT(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK);
    test_log_file = tmpfile();
    ASSERT(test_log_file != NULL);
    log_init(&test_log, test_log_file, "test", LOG_INFO);
    test_files_create();
    test_server_start();
    RUN(test_range_parse);
    RUN(test_config_rejections);
    RUN(test_route_rejections);
    RUN(test_metric_rejections);
    RUN(test_routing_params);
    RUN(test_tail_wildcard);
    RUN(test_bad_paths);
    RUN(test_not_found_and_method);
    RUN(test_body_limits);
    RUN(test_problem_shape);
    RUN(test_request_ids);
    RUN(test_files_and_ranges);
    RUN(test_extra_headers);
    RUN(test_handler_failures);
    RUN(test_healthz);
    RUN(test_metrics); /* counts the 404s above: keep it after them */
    RUN(test_slowloris);
    RUN(test_access_log);
    RUN(test_start_errors);
    RUN(test_graceful_stop);
    http_server_free(test_srv);
    test_files_remove();
    fclose(test_log_file);
    curl_global_cleanup();
    return harness_finish();
}
