/* rpc.c - see rpc.h. Layers: transport (curl, retries) -> pure parsers
 * (envelope, batch, quantities, receipts) -> typed wrappers. */
#include "rpc.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "hex.h"

_Static_assert(RPC_CURL_ERROR_BYTES >= CURL_ERROR_SIZE, "curl error buffer too small");

struct rpc_sink {
    struct buf *body;
    bool too_large;
};

static size_t rpc_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata);
static enum rpc_result rpc_check_options(const struct rpc_options *opt, struct err *e);
static enum rpc_result rpc_map_curl(struct rpc_client *c, CURLcode cr, bool too_large,
                                    bool *transient, struct err *e);
static enum rpc_result rpc_post_once(struct rpc_client *c, const char *req, size_t req_len,
                                     struct buf *resp, bool *transient, struct err *e);
static enum rpc_result rpc_post(struct rpc_client *c, const char *req, size_t req_len,
                                struct buf *resp, struct err *e);
static void rpc_prefix_err(struct err *e, const char *what, uint32_t attempts);
static bool rpc_method_ok(const char *method);
static enum rpc_result rpc_request_object(json_t **req_out, uint64_t id, const char *method,
                                          json_t *params, struct err *e);
static enum rpc_result rpc_serialize(char **text_out, size_t *len_out, const json_t *req,
                                     struct err *e);
static bool rpc_depth_ok(const char *body, size_t len, unsigned depth_max);
static enum rpc_result rpc_load_json(json_t **out, const char *body, size_t len, struct err *e);
static void rpc_copy_error_data(struct rpc_remote_error *re, const json_t *data);
static enum rpc_result rpc_parse_error_object(struct rpc_remote_error *remote_out,
                                              const json_t *error, struct err *e);
static enum rpc_result rpc_parse_envelope(json_t **result_out, struct rpc_remote_error *remote_out,
                                          bool *id_null, json_int_t *id_out, const json_t *obj,
                                          struct err *e);
static enum rpc_result rpc_batch_match(struct rpc_batch_item *items, size_t items_len,
                                       const json_t *arr, uint64_t id_first, struct err *e);
static void rpc_batch_clear(struct rpc_batch_item *items, size_t items_len);
static enum rpc_result rpc_get_fixed_hex(uint8_t *out, size_t out_len, const json_t *obj,
                                         const char *key, bool *present, struct err *e);
static enum rpc_result rpc_get_u64(uint64_t *out, const json_t *obj, const char *key,
                                   struct err *e);
static enum rpc_result rpc_u256_from_json(struct u256 *out, const json_t *v, const char *what,
                                          struct err *e);
static enum rpc_result rpc_check_block_tag(const char *tag, struct err *e);
static void rpc_hex_address(char out[43], const uint8_t address[20]);
static enum rpc_result rpc_call_quantity(struct rpc_client *c, uint64_t *out, const char *method,
                                         json_t *params, struct err *e);
static enum rpc_result rpc_decode_result_bytes(uint8_t *out, size_t out_cap, size_t *out_len,
                                               const json_t *result, struct err *e);

/* ---- transport ---------------------------------------------------------------- */

static size_t rpc_write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct rpc_sink *sink = userdata;
    size_t n = size * nmemb;
    enum buf_result r = buf_append(sink->body, ptr, n);
    if (r == BUF_ERR_TOO_BIG)
        sink->too_large = true;
    return r == BUF_OK ? n : 0; /* 0 aborts the transfer */
}

enum rpc_result rpc_global_init(struct err *e)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return err_set(e, RPC_ERR_TRANSPORT, "curl_global_init failed");
    return RPC_OK;
}

void rpc_options_default(struct rpc_options *opt)
{
    opt->connect_timeout_ms = RPC_CONNECT_TIMEOUT_MS_DEFAULT;
    opt->total_timeout_ms = RPC_TOTAL_TIMEOUT_MS_DEFAULT;
    opt->response_bytes_max = RPC_RESPONSE_BYTES_MAX;
    opt->retries_max = RPC_RETRIES_DEFAULT;
    opt->backoff_initial_ms = RPC_BACKOFF_INITIAL_MS_DEFAULT;
    opt->backoff_max_ms = RPC_BACKOFF_MAX_MS_DEFAULT;
}

static enum rpc_result rpc_check_options(const struct rpc_options *opt, struct err *e)
{
    if (opt->connect_timeout_ms < 1 || opt->connect_timeout_ms > RPC_TIMEOUT_MS_MAX ||
        opt->total_timeout_ms < 1 || opt->total_timeout_ms > RPC_TIMEOUT_MS_MAX)
        return err_set(e, RPC_ERR_BAD_INPUT, "rpc timeouts must be 1..%d ms", RPC_TIMEOUT_MS_MAX);
    if (opt->response_bytes_max < 1 || opt->response_bytes_max > RPC_RESPONSE_BYTES_MAX)
        return err_set(e, RPC_ERR_BAD_INPUT, "rpc response_bytes_max must be 1..%zu",
                       RPC_RESPONSE_BYTES_MAX);
    if (opt->retries_max > RPC_RETRIES_MAX)
        return err_set(e, RPC_ERR_BAD_INPUT, "rpc retries_max %u above maximum %d",
                       opt->retries_max, RPC_RETRIES_MAX);
    if (opt->backoff_max_ms > RPC_BACKOFF_MS_MAX || opt->backoff_initial_ms > opt->backoff_max_ms)
        return err_set(e, RPC_ERR_BAD_INPUT, "rpc backoff must satisfy initial <= max <= %d ms",
                       RPC_BACKOFF_MS_MAX);
    return RPC_OK;
}

enum rpc_result rpc_client_init(struct rpc_client *c, const char *url,
                                const struct rpc_options *opt, struct err *e)
{
    ASSERT(c != NULL && url != NULL);
    memset(c, 0, sizeof *c);
    if (opt != NULL)
        c->opt = *opt;
    else
        rpc_options_default(&c->opt);
    enum rpc_result r = rpc_check_options(&c->opt, e);
    if (r != RPC_OK)
        return r;
    size_t url_len = strnlen(url, RPC_URL_BYTES_MAX + 1);
    if (url_len > RPC_URL_BYTES_MAX)
        return err_set(e, RPC_ERR_BAD_INPUT, "rpc url too long: more than %d bytes",
                       RPC_URL_BYTES_MAX);
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return err_set(e, RPC_ERR_BAD_INPUT, "rpc url must start with http:// or https://");
    memcpy(c->url, url, url_len + 1);
    c->next_id = 1;
    CURL *h = curl_easy_init();
    c->curl = h;
    const char *hdrs[] = {"Content-Type: application/json", "Accept: application/json", "Expect:"};
    for (size_t i = 0; h != NULL && i < 3; i++) {
        struct curl_slist *l = curl_slist_append(c->headers, hdrs[i]);
        if (l == NULL)
            break;
        c->headers = l;
    }
    if (h == NULL || c->headers == NULL) {
        rpc_client_release(c);
        return err_set(e, RPC_ERR_NOMEM, "rpc client init failed: out of memory");
    }
    int bad = 0;
    bad += curl_easy_setopt(h, CURLOPT_URL, c->url) != CURLE_OK;
    bad += curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers) != CURLE_OK;
    bad += curl_easy_setopt(h, CURLOPT_POST, 1L) != CURLE_OK;
    bad += curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad += curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad += curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad +=
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->opt.connect_timeout_ms) != CURLE_OK;
    bad += curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->opt.total_timeout_ms) != CURLE_OK;
    bad += curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->opt.response_bytes_max) !=
           CURLE_OK;
    bad += curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, rpc_write_cb) != CURLE_OK;
    bad += curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_error) != CURLE_OK;
    bad += curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
    bad += curl_easy_setopt(h, CURLOPT_USERAGENT, "rights-rpc/1") != CURLE_OK;
    if (bad != 0) {
        rpc_client_release(c);
        return err_set(e, RPC_ERR_BAD_INPUT, "rpc client init failed: curl rejected an option");
    }
    return RPC_OK;
}

void rpc_client_release(struct rpc_client *c)
{
    if (c == NULL)
        return;
    if (c->curl != NULL)
        curl_easy_cleanup(c->curl);
    c->curl = NULL;
    curl_slist_free_all(c->headers); /* NULL-safe */
    c->headers = NULL;
}

enum rpc_result rpc_client_set_timeout_ms(struct rpc_client *c, uint32_t timeout_ms,
                                          struct err *e)
{
    ASSERT(c != NULL && c->curl != NULL);
    if (timeout_ms < 1 || timeout_ms > RPC_TIMEOUT_MS_MAX)
        return err_set(e, RPC_ERR_BAD_INPUT, "rpc timeout %u ms outside 1..%d", timeout_ms,
                       RPC_TIMEOUT_MS_MAX);
    if (curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms) != CURLE_OK)
        return err_set(e, RPC_ERR_BAD_INPUT, "rpc timeout: curl rejected %u ms", timeout_ms);
    c->opt.total_timeout_ms = timeout_ms;
    return RPC_OK;
}

static enum rpc_result rpc_map_curl(struct rpc_client *c, CURLcode cr, bool too_large,
                                    bool *transient, struct err *e)
{
    const char *detail = c->curl_error[0] != '\0' ? c->curl_error : curl_easy_strerror(cr);
    if (too_large || cr == CURLE_FILESIZE_EXCEEDED)
        return err_set(e, RPC_ERR_TOO_LARGE, "response larger than %zu bytes",
                       c->opt.response_bytes_max);
    switch (cr) {
    case CURLE_OPERATION_TIMEDOUT:
        *transient = true;
        return err_set(e, RPC_ERR_TIMEOUT, "timed out: %s", detail);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        *transient = true;
        return err_set(e, RPC_ERR_TRANSPORT, "transport error: %s", detail);
    default:
        return err_set(e, RPC_ERR_TRANSPORT, "transport error: %s", detail);
    }
}

static enum rpc_result rpc_post_once(struct rpc_client *c, const char *req, size_t req_len,
                                     struct buf *resp, bool *transient, struct err *e)
{
    CURL *h = c->curl;
    struct rpc_sink sink = {resp, false};
    buf_reset(resp);
    c->curl_error[0] = '\0';
    *transient = false;
    int bad = 0;
    bad += curl_easy_setopt(h, CURLOPT_POSTFIELDS, req) != CURLE_OK;
    bad += curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req_len) != CURLE_OK;
    bad += curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink) != CURLE_OK;
    if (bad != 0)
        return err_set(e, RPC_ERR_TRANSPORT, "transport error: curl rejected the request");
    CURLcode cr = curl_easy_perform(h);
    c->attempts_total++;
    long status = 0;
    if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
        status = 0;
    c->last_http_status = status;
    if (cr != CURLE_OK)
        return rpc_map_curl(c, cr, sink.too_large, transient, e);
    if (status != 200) {
        *transient = status == 429 || status == 502 || status == 503 || status == 504;
        return err_set(e, RPC_ERR_HTTP_STATUS, "http status %ld", status);
    }
    return RPC_OK;
}

/* Retries transient failures with doubling, capped backoff. */
static enum rpc_result rpc_post(struct rpc_client *c, const char *req, size_t req_len,
                                struct buf *resp, struct err *e)
{
    uint32_t delay_ms = c->opt.backoff_initial_ms;
    c->last_attempts = 0;
    for (uint32_t attempt = 0; attempt <= RPC_RETRIES_MAX; attempt++) {
        bool transient = false;
        c->last_attempts++;
        enum rpc_result r = rpc_post_once(c, req, req_len, resp, &transient, e);
        if (r == RPC_OK || !transient || attempt >= c->opt.retries_max)
            return r;
        clock_sleep_ms(delay_ms);
        delay_ms = delay_ms > c->opt.backoff_max_ms / 2 ? c->opt.backoff_max_ms : delay_ms * 2;
    }
    ASSERT(!"retry loop exceeded RPC_RETRIES_MAX");
    return RPC_ERR_TRANSPORT;
}

static void rpc_prefix_err(struct err *e, const char *what, uint32_t attempts)
{
    if (e == NULL)
        return;
    char tmp[ERR_MSG_MAX];
    memcpy(tmp, e->msg, sizeof tmp);
    tmp[sizeof tmp - 1] = '\0';
    if (attempts > 1)
        err_set(e, e->code, "rpc %s failed after %u attempts: %s", what, attempts, tmp);
    else
        err_set(e, e->code, "rpc %s failed: %s", what, tmp);
}

/* ---- requests ------------------------------------------------------------------ */

static bool rpc_method_ok(const char *method)
{
    size_t n = strnlen(method, RPC_METHOD_BYTES_MAX + 1);
    if (n == 0 || n > RPC_METHOD_BYTES_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = method[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_'))
            return false;
    }
    return true;
}

/* Steals params in every case. */
static enum rpc_result rpc_request_object(json_t **req_out, uint64_t id, const char *method,
                                          json_t *params, struct err *e)
{
    *req_out = NULL;
    if (method == NULL || !rpc_method_ok(method)) {
        json_decref(params);
        return err_set(e, RPC_ERR_BAD_INPUT, "invalid method name: want 1..%d of [A-Za-z0-9_]",
                       RPC_METHOD_BYTES_MAX);
    }
    if (params == NULL)
        params = json_array();
    if (params == NULL)
        return err_set(e, RPC_ERR_NOMEM, "out of memory building params");
    if (!json_is_array(params) && !json_is_object(params)) {
        json_decref(params);
        return err_set(e, RPC_ERR_BAD_INPUT, "params must be a json array or object");
    }
    json_t *req = json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", (json_int_t)id,
                            "method", method, "params", params);
    if (req == NULL)
        return err_set(e, RPC_ERR_NOMEM, "out of memory building request");
    *req_out = req;
    return RPC_OK;
}

static enum rpc_result rpc_serialize(char **text_out, size_t *len_out, const json_t *req,
                                     struct err *e)
{
    char *text = json_dumps(req, JSON_COMPACT);
    if (text == NULL)
        return err_set(e, RPC_ERR_NOMEM, "out of memory serialising request");
    size_t len = strlen(text);
    if (len > RPC_REQUEST_BYTES_MAX) {
        free(text);
        return err_set(e, RPC_ERR_BAD_INPUT, "request too large: %zu bytes (max %zu)", len,
                       RPC_REQUEST_BYTES_MAX);
    }
    *text_out = text;
    *len_out = len;
    return RPC_OK;
}

enum rpc_result rpc_call(struct rpc_client *c, const char *method, json_t *params,
                         json_t **result_out, struct err *e)
{
    ASSERT(c != NULL && c->curl != NULL && result_out != NULL);
    *result_out = NULL;
    json_t *req = NULL;
    char *text = NULL;
    size_t text_len = 0;
    struct buf resp;
    buf_init(&resp, c->opt.response_bytes_max);
    c->last_attempts = 0;
    uint64_t id = c->next_id++;
    enum rpc_result r = rpc_request_object(&req, id, method, params, e);
    if (r == RPC_OK)
        r = rpc_serialize(&text, &text_len, req, e);
    if (r == RPC_OK)
        r = rpc_post(c, text, text_len, &resp, e);
    if (r == RPC_OK)
        r = rpc_parse_response(result_out, &c->last_remote,
                               resp.data != NULL ? (const char *)resp.data : "", resp.len, id, e);
    if (r != RPC_OK)
        rpc_prefix_err(e, method != NULL && rpc_method_ok(method) ? method : "(invalid)",
                       c->last_attempts);
    json_decref(req);
    free(text);
    buf_release(&resp);
    return r;
}

enum rpc_result rpc_batch(struct rpc_client *c, struct rpc_batch_item *items, size_t items_len,
                          struct err *e)
{
    ASSERT(c != NULL && c->curl != NULL && items != NULL);
    enum rpc_result r = RPC_OK;
    json_t *arr = json_array();
    char *text = NULL;
    size_t text_len = 0;
    struct buf resp;
    buf_init(&resp, c->opt.response_bytes_max);
    c->last_attempts = 0;
    uint64_t id_first = c->next_id;
    c->next_id += items_len;
    for (size_t i = 0; i < items_len; i++) {
        json_t *req = NULL;
        json_t *params = items[i].params;
        items[i].params = NULL;
        items[i].result = NULL;
        if (r == RPC_OK && (items_len > RPC_BATCH_CALLS_MAX || arr == NULL))
            r = err_set(e, arr == NULL ? RPC_ERR_NOMEM : RPC_ERR_BAD_INPUT,
                        "batch of %zu calls (must be 1..%d)", items_len, RPC_BATCH_CALLS_MAX);
        if (r != RPC_OK) {
            json_decref(params); /* stolen even on failure */
            continue;
        }
        r = rpc_request_object(&req, id_first + i, items[i].method, params, e);
        if (r == RPC_OK && json_array_append_new(arr, req) != 0)
            r = err_set(e, RPC_ERR_NOMEM, "out of memory building batch");
    }
    if (r == RPC_OK && items_len == 0)
        r = err_set(e, RPC_ERR_BAD_INPUT, "batch of 0 calls (must be 1..%d)", RPC_BATCH_CALLS_MAX);
    if (r == RPC_OK)
        r = rpc_serialize(&text, &text_len, arr, e);
    if (r == RPC_OK)
        r = rpc_post(c, text, text_len, &resp, e);
    if (r == RPC_OK)
        r = rpc_parse_batch_response(items, items_len,
                                     resp.data != NULL ? (const char *)resp.data : "", resp.len,
                                     id_first, e);
    if (r != RPC_OK)
        rpc_prefix_err(e, "batch", c->last_attempts);
    json_decref(arr);
    free(text);
    buf_release(&resp);
    return r;
}

/* ---- pure parsing ---------------------------------------------------------------- */

/* Bracket depth outside strings; jansson itself recurses up to 2048 levels. */
static bool rpc_depth_ok(const char *body, size_t len, unsigned depth_max)
{
    unsigned depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char ch = body[i];
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = false;
        } else if (ch == '"') {
            in_str = true;
        } else if (ch == '[' || ch == '{') {
            if (++depth > depth_max)
                return false;
        } else if ((ch == ']' || ch == '}') && depth > 0) {
            depth--;
        }
    }
    return true;
}

static enum rpc_result rpc_load_json(json_t **out, const char *body, size_t len, struct err *e)
{
    if (len > RPC_RESPONSE_BYTES_MAX)
        return err_set(e, RPC_ERR_TOO_LARGE, "response larger than %zu bytes",
                       RPC_RESPONSE_BYTES_MAX);
    if (!rpc_depth_ok(body, len, RPC_JSON_DEPTH_MAX))
        return err_set(e, RPC_ERR_BAD_RESPONSE, "response json nested deeper than %d",
                       RPC_JSON_DEPTH_MAX);
    json_error_t je;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (j == NULL)
        return err_set(e, RPC_ERR_BAD_RESPONSE, "malformed json at line %d column %d: %.80s",
                       je.line, je.column, je.text);
    *out = j;
    return RPC_OK;
}

/* Keeps "0x..." revert data; geth/anvil send a string, some nodes {data: "0x.."}. */
static void rpc_copy_error_data(struct rpc_remote_error *re, const json_t *data)
{
    re->data_hex[0] = '\0';
    re->data_truncated = false;
    if (json_is_object(data))
        data = json_object_get(data, "data");
    if (!json_is_string(data))
        return;
    const char *s = json_string_value(data);
    size_t n = json_string_length(data);
    if (n < 2 || s[0] != '0' || s[1] != 'x' || (n - 2) % 2 != 0 || !hex_is_digits(s + 2, n - 2))
        return;
    if (n > RPC_ERROR_DATA_HEX_MAX) {
        n = RPC_ERROR_DATA_HEX_MAX; /* even: 2 + an even number of digits */
        re->data_truncated = true;
    }
    memcpy(re->data_hex, s, n);
    re->data_hex[n] = '\0';
}

static enum rpc_result rpc_parse_error_object(struct rpc_remote_error *remote_out,
                                              const json_t *error, struct err *e)
{
    const json_t *code = json_object_get(error, "code");
    const json_t *msg = json_object_get(error, "message");
    if (!json_is_object(error) || !json_is_integer(code) || !json_is_string(msg))
        return err_set(e, RPC_ERR_BAD_RESPONSE,
                       "error member needs an integer code and a string message");
    struct rpc_remote_error *re = malloc(sizeof *re);
    if (re == NULL)
        return err_set(e, RPC_ERR_NOMEM, "out of memory parsing error");
    re->code = (int64_t)json_integer_value(code);
    snprintf(re->message, sizeof re->message, "%s", json_string_value(msg));
    rpc_copy_error_data(re, json_object_get(error, "data"));
    bool reverted = re->code == 3 || strncmp(re->message, "execution reverted", 18) == 0;
    enum rpc_result r;
    if (reverted)
        r = err_set(e, RPC_ERR_EXECUTION_REVERTED,
                    "execution reverted (code %" PRId64 "): '%.120s'", re->code, re->message);
    else
        r = err_set(e, RPC_ERR_REMOTE, "remote error %" PRId64 ": '%.120s'", re->code, re->message);
    if (remote_out != NULL)
        *remote_out = *re;
    free(re);
    return r;
}

/* Validates one response object. Returns RPC_OK (result set), a remote
 * error, or RPC_ERR_BAD_RESPONSE. *id_null tells whether the id was null. */
static enum rpc_result rpc_parse_envelope(json_t **result_out, struct rpc_remote_error *remote_out,
                                          bool *id_null, json_int_t *id_out, const json_t *obj,
                                          struct err *e)
{
    *result_out = NULL;
    if (!json_is_object(obj))
        return err_set(e, RPC_ERR_BAD_RESPONSE, "response is not a json object");
    const json_t *ver = json_object_get(obj, "jsonrpc");
    if (!json_is_string(ver) || json_string_length(ver) != 3 ||
        strcmp(json_string_value(ver), "2.0") != 0)
        return err_set(e, RPC_ERR_BAD_RESPONSE, "response jsonrpc version is not '2.0'");
    const json_t *id = json_object_get(obj, "id");
    if (id == NULL)
        return err_set(e, RPC_ERR_BAD_RESPONSE, "response has no id");
    if (!json_is_null(id) && !json_is_integer(id))
        return err_set(e, RPC_ERR_BAD_RESPONSE, "response id is not an integer");
    *id_null = json_is_null(id);
    *id_out = *id_null ? 0 : json_integer_value(id);
    const json_t *error = json_object_get(obj, "error");
    const json_t *result = json_object_get(obj, "result");
    if (error != NULL && result != NULL)
        return err_set(e, RPC_ERR_BAD_RESPONSE, "response has both result and error");
    if (error != NULL)
        return rpc_parse_error_object(remote_out, error, e);
    if (*id_null)
        return err_set(e, RPC_ERR_BAD_RESPONSE, "response id is null");
    if (result == NULL)
        return err_set(e, RPC_ERR_BAD_RESPONSE, "response has no result");
    *result_out = json_incref((json_t *)result);
    return RPC_OK;
}

enum rpc_result rpc_parse_response(json_t **result_out, struct rpc_remote_error *remote_out,
                                   const char *body, size_t body_len, uint64_t id_expected,
                                   struct err *e)
{
    ASSERT(result_out != NULL && body != NULL);
    *result_out = NULL;
    json_t *root = NULL;
    enum rpc_result r = rpc_load_json(&root, body, body_len, e);
    if (r != RPC_OK)
        return r;
    json_t *result = NULL;
    bool id_null = false;
    json_int_t id = 0;
    r = rpc_parse_envelope(&result, remote_out, &id_null, &id, root, e);
    bool answered = r == RPC_OK || r == RPC_ERR_REMOTE || r == RPC_ERR_EXECUTION_REVERTED;
    if (answered && !id_null && (id < 0 || (uint64_t)id != id_expected)) {
        json_decref(result);
        result = NULL;
        r = err_set(e, RPC_ERR_BAD_RESPONSE, "response id %lld does not match request id %" PRIu64,
                    (long long)id, id_expected);
    }
    *result_out = result;
    json_decref(root);
    return r;
}

static void rpc_batch_clear(struct rpc_batch_item *items, size_t items_len)
{
    for (size_t i = 0; i < items_len; i++) {
        json_decref(items[i].result);
        items[i].result = NULL;
        items[i].code = RPC_ERR_BAD_RESPONSE;
    }
}

static enum rpc_result rpc_batch_match(struct rpc_batch_item *items, size_t items_len,
                                       const json_t *arr, uint64_t id_first, struct err *e)
{
    bool seen[RPC_BATCH_CALLS_MAX] = {false};
    size_t n = json_array_size(arr);
    if (n > items_len)
        return err_set(e, RPC_ERR_BAD_RESPONSE, "batch response has %zu answers for %zu calls", n,
                       items_len);
    for (size_t k = 0; k < n; k++) {
        json_t *result = NULL;
        bool id_null = false;
        json_int_t id = 0;
        struct err item_e = {0};
        enum rpc_result r =
            rpc_parse_envelope(&result, NULL, &id_null, &id, json_array_get(arr, k), &item_e);
        if (r == RPC_ERR_BAD_RESPONSE || r == RPC_ERR_NOMEM)
            return err_set(e, r, "batch answer %zu: %s", k, item_e.msg);
        if (id_null || id < 0 || (uint64_t)id < id_first || (uint64_t)id - id_first >= items_len) {
            json_decref(result);
            return err_set(e, RPC_ERR_BAD_RESPONSE, "unknown id %lld in batch response",
                           (long long)id);
        }
        size_t idx = (size_t)((uint64_t)id - id_first);
        if (seen[idx]) {
            json_decref(result);
            return err_set(e, RPC_ERR_BAD_RESPONSE, "duplicate id %lld in batch response",
                           (long long)id);
        }
        seen[idx] = true;
        items[idx].code = r;
        items[idx].result = result;
        if (r != RPC_OK) /* parse again to fill the item's own remote error */
            (void)rpc_parse_error_object(&items[idx].remote,
                                         json_object_get(json_array_get(arr, k), "error"), NULL);
    }
    for (size_t i = 0; i < items_len; i++)
        if (!seen[i])
            return err_set(e, RPC_ERR_BAD_RESPONSE, "batch response is missing id %" PRIu64,
                           id_first + i);
    return RPC_OK;
}

enum rpc_result rpc_parse_batch_response(struct rpc_batch_item *items, size_t items_len,
                                         const char *body, size_t body_len, uint64_t id_first,
                                         struct err *e)
{
    ASSERT(items != NULL && body != NULL);
    ASSERT(items_len >= 1 && items_len <= RPC_BATCH_CALLS_MAX);
    for (size_t i = 0; i < items_len; i++) {
        items[i].result = NULL;
        items[i].code = RPC_ERR_BAD_RESPONSE;
    }
    json_t *root = NULL;
    enum rpc_result r = rpc_load_json(&root, body, body_len, e);
    if (r != RPC_OK)
        return r;
    if (json_is_object(root)) { /* the node rejected the batch as a whole */
        json_t *result = NULL;
        bool id_null = false;
        json_int_t id = 0;
        r = rpc_parse_envelope(&result, NULL, &id_null, &id, root, e);
        json_decref(result);
        if (r == RPC_OK)
            r = err_set(e, RPC_ERR_BAD_RESPONSE, "batch response is not an array");
        json_decref(root);
        return r;
    }
    if (!json_is_array(root))
        r = err_set(e, RPC_ERR_BAD_RESPONSE, "batch response is not an array");
    else
        r = rpc_batch_match(items, items_len, root, id_first, e);
    json_decref(root);
    if (r != RPC_OK) {
        rpc_batch_clear(items, items_len);
        return r;
    }
    for (size_t i = 0; i < items_len; i++) {
        if (items[i].code != RPC_OK)
            return err_set(
                e, items[i].code, "batch call %zu%s%s: remote error %" PRId64 ": '%.100s'", i,
                items[i].method != NULL ? " " : "", items[i].method != NULL ? items[i].method : "",
                items[i].remote.code, items[i].remote.message);
    }
    return RPC_OK;
}

enum rpc_result rpc_parse_quantity_u64(uint64_t *out, const json_t *value, struct err *e)
{
    ASSERT(out != NULL);
    const char *s = json_string_value(value);
    size_t n = s != NULL ? json_string_length(value) : 0;
    if (s == NULL || n < 3 || n > 18 || s[0] != '0' || s[1] != 'x' || !hex_is_digits(s + 2, n - 2))
        return err_set(e, RPC_ERR_BAD_RESPONSE,
                       "invalid quantity '%.24s': want 0x and 1..16 hex digits",
                       s != NULL ? s : "(not a string)");
    uint64_t v = 0;
    for (size_t i = 2; i < n; i++)
        v = (v << 4) | (uint64_t)hex_digit_value(s[i]); /* digits validated above */
    *out = v;
    return RPC_OK;
}

/* ---- receipts -------------------------------------------------------------------- */

/* "0x" + exactly 2*out_len digits. present==NULL: required; else null/absent allowed. */
static enum rpc_result rpc_get_fixed_hex(uint8_t *out, size_t out_len, const json_t *obj,
                                         const char *key, bool *present, struct err *e)
{
    const json_t *v = json_object_get(obj, key);
    if (present != NULL) {
        *present = !(v == NULL || json_is_null(v));
        if (!*present)
            return RPC_OK;
    }
    const char *s = json_string_value(v);
    if (s == NULL || hex_decode_exact(out, out_len, s, json_string_length(v), NULL) != HEX_OK ||
        s[0] != '0' || s[1] != 'x')
        return err_set(e, RPC_ERR_BAD_RESPONSE, "receipt field '%s' is not %zu hex bytes", key,
                       out_len);
    return RPC_OK;
}

static enum rpc_result rpc_get_u64(uint64_t *out, const json_t *obj, const char *key, struct err *e)
{
    if (rpc_parse_quantity_u64(out, json_object_get(obj, key), NULL) != RPC_OK)
        return err_set(e, RPC_ERR_BAD_RESPONSE, "receipt field '%s' is not a quantity", key);
    return RPC_OK;
}

static enum rpc_result rpc_u256_from_json(struct u256 *out, const json_t *v, const char *what,
                                          struct err *e)
{
    const char *s = json_string_value(v);
    if (s == NULL || u256_from_hex(out, s, json_string_length(v), NULL) != U256_OK)
        return err_set(e, RPC_ERR_BAD_RESPONSE, "%s is not a 256-bit quantity", what);
    return RPC_OK;
}

enum rpc_result rpc_parse_receipt(struct rpc_receipt *out, const json_t *result, struct err *e)
{
    ASSERT(out != NULL);
    if (result == NULL || json_is_null(result))
        return err_set(e, RPC_ERR_NO_RECEIPT, "no receipt yet");
    if (!json_is_object(result))
        return err_set(e, RPC_ERR_BAD_RESPONSE, "receipt is not a json object");
    struct rpc_receipt r;
    memset(&r, 0, sizeof r);
    enum rpc_result rc = RPC_OK;
    if (rc == RPC_OK)
        rc = rpc_get_fixed_hex(r.transaction_hash, 32, result, "transactionHash", NULL, e);
    if (rc == RPC_OK)
        rc = rpc_get_fixed_hex(r.block_hash, 32, result, "blockHash", NULL, e);
    if (rc == RPC_OK)
        rc = rpc_get_u64(&r.block_number, result, "blockNumber", e);
    if (rc == RPC_OK)
        rc = rpc_get_u64(&r.transaction_index, result, "transactionIndex", e);
    if (rc == RPC_OK)
        rc = rpc_get_u64(&r.status, result, "status", e);
    if (rc == RPC_OK)
        rc = rpc_get_u64(&r.gas_used, result, "gasUsed", e);
    if (rc == RPC_OK)
        rc = rpc_get_fixed_hex(r.from, 20, result, "from", NULL, e);
    if (rc == RPC_OK)
        rc = rpc_get_fixed_hex(r.to, 20, result, "to", &r.has_to, e);
    if (rc == RPC_OK)
        rc = rpc_get_fixed_hex(r.contract_address, 20, result, "contractAddress",
                               &r.has_contract_address, e);
    const json_t *price = json_object_get(result, "effectiveGasPrice");
    if (rc == RPC_OK && price != NULL)
        rc = rpc_u256_from_json(&r.effective_gas_price_wei, price, "effectiveGasPrice", e);
    json_t *logs = json_object_get(result, "logs");
    if (rc == RPC_OK && !json_is_array(logs))
        rc = err_set(e, RPC_ERR_BAD_RESPONSE, "receipt field 'logs' is not an array");
    if (rc != RPC_OK)
        return rc;
    r.logs = json_incref(logs);
    *out = r;
    return RPC_OK;
}

void rpc_receipt_release(struct rpc_receipt *r)
{
    if (r == NULL)
        return;
    json_decref(r->logs);
    r->logs = NULL;
}

/* ---- wrappers ---------------------------------------------------------------------- */

static enum rpc_result rpc_check_block_tag(const char *tag, struct err *e)
{
    static const char *const tags[] = {"latest", "pending", "earliest", "safe", "finalized"};
    if (tag != NULL) {
        for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
            if (strcmp(tag, tags[i]) == 0)
                return RPC_OK;
        size_t n = strnlen(tag, 19);
        if (n >= 3 && n <= 18 && tag[0] == '0' && tag[1] == 'x' && hex_is_digits(tag + 2, n - 2))
            return RPC_OK;
    }
    return err_set(e, RPC_ERR_BAD_INPUT, "invalid block tag '%.20s'", tag != NULL ? tag : "");
}

static void rpc_hex_address(char out[43], const uint8_t address[20])
{
    int rc = hex_encode_0x(out, 43, address, 20);
    ASSERT(rc == 0);
}

/* Steals params. */
static enum rpc_result rpc_call_quantity(struct rpc_client *c, uint64_t *out, const char *method,
                                         json_t *params, struct err *e)
{
    json_t *result = NULL;
    enum rpc_result r = rpc_call(c, method, params, &result, e);
    if (r != RPC_OK)
        return r;
    struct err pe = {0};
    r = rpc_parse_quantity_u64(out, result, &pe);
    if (r != RPC_OK)
        err_set(e, r, "rpc %s: %s", method, pe.msg);
    json_decref(result);
    return r;
}

enum rpc_result rpc_chain_id(struct rpc_client *c, uint64_t *chain_id_out, struct err *e)
{
    return rpc_call_quantity(c, chain_id_out, "eth_chainId", NULL, e);
}

enum rpc_result rpc_block_number(struct rpc_client *c, uint64_t *block_out, struct err *e)
{
    return rpc_call_quantity(c, block_out, "eth_blockNumber", NULL, e);
}

enum rpc_result rpc_get_transaction_count(struct rpc_client *c, uint64_t *nonce_out,
                                          const uint8_t address[20], const char *block_tag,
                                          struct err *e)
{
    ASSERT(address != NULL);
    if (rpc_check_block_tag(block_tag, e) != RPC_OK)
        return RPC_ERR_BAD_INPUT;
    char addr[43];
    rpc_hex_address(addr, address);
    return rpc_call_quantity(c, nonce_out, "eth_getTransactionCount",
                             json_pack("[ss]", addr, block_tag), e);
}

enum rpc_result rpc_get_balance(struct rpc_client *c, struct u256 *balance_wei_out,
                                const uint8_t address[20], const char *block_tag, struct err *e)
{
    ASSERT(address != NULL && balance_wei_out != NULL);
    if (rpc_check_block_tag(block_tag, e) != RPC_OK)
        return RPC_ERR_BAD_INPUT;
    char addr[43];
    rpc_hex_address(addr, address);
    json_t *result = NULL;
    enum rpc_result r =
        rpc_call(c, "eth_getBalance", json_pack("[ss]", addr, block_tag), &result, e);
    if (r == RPC_OK)
        r = rpc_u256_from_json(balance_wei_out, result, "eth_getBalance result", e);
    json_decref(result);
    return r;
}

enum rpc_result rpc_send_raw_transaction(struct rpc_client *c, uint8_t tx_hash_out[32],
                                         const char *raw_tx_hex, struct err *e)
{
    ASSERT(tx_hash_out != NULL && raw_tx_hex != NULL);
    size_t n = strnlen(raw_tx_hex, 2 + 2 * RPC_RAW_TX_BYTES_MAX + 1);
    if (n > 2 + 2 * RPC_RAW_TX_BYTES_MAX)
        return err_set(e, RPC_ERR_BAD_INPUT, "raw transaction larger than %zu bytes",
                       RPC_RAW_TX_BYTES_MAX);
    if (n < 4 || raw_tx_hex[0] != '0' || raw_tx_hex[1] != 'x' || n % 2 != 0 ||
        !hex_is_digits(raw_tx_hex + 2, n - 2))
        return err_set(e, RPC_ERR_BAD_INPUT, "raw transaction is not 0x-prefixed even-length hex");
    json_t *result = NULL;
    enum rpc_result r =
        rpc_call(c, "eth_sendRawTransaction", json_pack("[s]", raw_tx_hex), &result, e);
    if (r != RPC_OK)
        return r;
    const char *s = json_string_value(result);
    if (s == NULL || json_string_length(result) != 66 || s[0] != '0' || s[1] != 'x' ||
        hex_decode_exact(tx_hash_out, 32, s, 66, NULL) != HEX_OK)
        r = err_set(e, RPC_ERR_BAD_RESPONSE, "rpc eth_sendRawTransaction: result is not a hash");
    json_decref(result);
    return r;
}

enum rpc_result rpc_get_transaction_receipt(struct rpc_client *c, struct rpc_receipt *out,
                                            const uint8_t tx_hash[32], struct err *e)
{
    ASSERT(tx_hash != NULL && out != NULL);
    char hash[67];
    int rc = hex_encode_0x(hash, sizeof hash, tx_hash, 32);
    ASSERT(rc == 0);
    json_t *result = NULL;
    enum rpc_result r =
        rpc_call(c, "eth_getTransactionReceipt", json_pack("[s]", hash), &result, e);
    if (r != RPC_OK)
        return r;
    r = rpc_parse_receipt(out, result, e);
    if (r == RPC_ERR_NO_RECEIPT)
        err_set(e, r, "no receipt yet for transaction %s", hash);
    json_decref(result);
    return r;
}

enum rpc_result rpc_wait_receipt(struct rpc_client *c, struct rpc_receipt *out,
                                 const uint8_t tx_hash[32], uint32_t timeout_ms, uint32_t poll_ms,
                                 struct err *e)
{
    if (timeout_ms > RPC_WAIT_TIMEOUT_MS_MAX || poll_ms < 1 || poll_ms > timeout_ms)
        return err_set(e, RPC_ERR_BAD_INPUT, "wait receipt: want 1 <= poll_ms <= timeout_ms <= %u",
                       RPC_WAIT_TIMEOUT_MS_MAX);
    uint64_t deadline = clock_now_ms() + timeout_ms;
    uint64_t polls_max = (uint64_t)timeout_ms / poll_ms + 2;
    for (uint64_t i = 0; i < polls_max; i++) {
        enum rpc_result r = rpc_get_transaction_receipt(c, out, tx_hash, e);
        if (r != RPC_ERR_NO_RECEIPT)
            return r;
        uint64_t now = clock_now_ms();
        if (now >= deadline)
            break;
        uint64_t left = deadline - now;
        clock_sleep_ms(left < poll_ms ? (uint32_t)left : poll_ms);
    }
    return err_set(e, RPC_ERR_RECEIPT_TIMEOUT, "no receipt after %u ms", timeout_ms);
}

static enum rpc_result rpc_decode_result_bytes(uint8_t *out, size_t out_cap, size_t *out_len,
                                               const json_t *result, struct err *e)
{
    const char *s = json_string_value(result);
    size_t n = s != NULL ? json_string_length(result) : 0;
    if (s == NULL || n < 2 || s[0] != '0' || s[1] != 'x' || (n - 2) % 2 != 0 ||
        !hex_is_digits(s + 2, n - 2))
        return err_set(e, RPC_ERR_BAD_RESPONSE, "rpc eth_call: result is not 0x-prefixed hex");
    if ((n - 2) / 2 > out_cap)
        return err_set(e, RPC_ERR_TOO_LARGE, "rpc eth_call: result of %zu bytes exceeds %zu",
                       (n - 2) / 2, out_cap);
    if (n == 2) {
        *out_len = 0;
        return RPC_OK;
    }
    if (hex_decode(out, out_cap, out_len, s, n, NULL) != HEX_OK)
        return err_set(e, RPC_ERR_BAD_RESPONSE, "rpc eth_call: result is not decodable hex");
    return RPC_OK;
}

enum rpc_result rpc_eth_call(struct rpc_client *c, uint8_t *out, size_t out_cap, size_t *out_len,
                             const uint8_t *from, const uint8_t to[20], const uint8_t *data,
                             size_t data_len, const char *block_tag, struct err *e)
{
    ASSERT(out_len != NULL && to != NULL && (out != NULL || out_cap == 0));
    ASSERT(data != NULL || data_len == 0);
    if (data_len > RPC_CALL_DATA_BYTES_MAX)
        return err_set(e, RPC_ERR_BAD_INPUT, "eth_call data larger than %zu bytes",
                       RPC_CALL_DATA_BYTES_MAX);
    if (rpc_check_block_tag(block_tag, e) != RPC_OK)
        return RPC_ERR_BAD_INPUT;
    char *data_hex = malloc(2 * data_len + 3);
    if (data_hex == NULL)
        return err_set(e, RPC_ERR_NOMEM, "out of memory encoding eth_call data");
    int rc = hex_encode_0x(data_hex, 2 * data_len + 3, data_len > 0 ? data : (const uint8_t *)"",
                           data_len);
    ASSERT(rc == 0);
    char to_hex[43], from_hex[43];
    rpc_hex_address(to_hex, to);
    json_t *call = json_pack("{s:s, s:s}", "to", to_hex, "data", data_hex);
    free(data_hex);
    if (call != NULL && from != NULL) {
        rpc_hex_address(from_hex, from);
        if (json_object_set_new(call, "from", json_string(from_hex)) != 0) {
            json_decref(call);
            call = NULL;
        }
    }
    if (call == NULL)
        return err_set(e, RPC_ERR_NOMEM, "out of memory building eth_call");
    json_t *result = NULL;
    enum rpc_result r = rpc_call(c, "eth_call", json_pack("[os]", call, block_tag), &result, e);
    if (r == RPC_OK)
        r = rpc_decode_result_bytes(out, out_cap, out_len, result, e);
    json_decref(result);
    return r;
}

enum rpc_result rpc_view(struct rpc_client *c, uint8_t *out, size_t out_cap, size_t *out_len,
                         const uint8_t to[20], const char *signature, const struct abi_value *args,
                         size_t args_count, const char *block_tag, struct err *e)
{
    struct buf call;
    buf_init(&call, RPC_CALL_DATA_BYTES_MAX);
    enum rpc_result r = RPC_ERR_BAD_INPUT;
    if (abi_encode_call(&call, signature, args, args_count, e) == ABI_OK)
        r = rpc_eth_call(c, out, out_cap, out_len, NULL, to, call.data, call.len, block_tag, e);
    else if (e != NULL)
        e->code = RPC_ERR_BAD_INPUT;
    buf_release(&call);
    return r;
}

enum rpc_result rpc_view_word(struct rpc_client *c, uint8_t out[32], const uint8_t to[20],
                              const char *signature, const struct abi_value *args,
                              size_t args_count, const char *block_tag, struct err *e)
{
    size_t len = 0;
    enum rpc_result r = rpc_view(c, out, 32, &len, to, signature, args, args_count, block_tag, e);
    if (r == RPC_OK && len != 32)
        r = err_set(e, RPC_ERR_BAD_RESPONSE, "%s answered %zu bytes, not one word", signature, len);
    return r;
}

enum rpc_result rpc_fee_suggestion(struct rpc_client *c, struct rpc_fees *out, struct err *e)
{
    ASSERT(out != NULL);
    struct rpc_batch_item *items = calloc(2, sizeof *items);
    if (items == NULL)
        return err_set(e, RPC_ERR_NOMEM, "out of memory building fee batch");
    items[0].method = "eth_getBlockByNumber";
    items[0].params = json_pack("[sb]", "latest", 0);
    items[1].method = "eth_maxPriorityFeePerGas";
    enum rpc_result r = rpc_batch(c, items, 2, e);
    if (r == RPC_ERR_REMOTE && items[0].code == RPC_OK)
        r = RPC_OK; /* only the priority call failed: fall back below */
    struct rpc_fees f;
    memset(&f, 0, sizeof f);
    if (r == RPC_OK && !json_is_object(items[0].result))
        r = err_set(e, RPC_ERR_BAD_RESPONSE, "rpc fee suggestion: no latest block");
    if (r == RPC_OK)
        r = rpc_u256_from_json(&f.base_fee_wei, json_object_get(items[0].result, "baseFeePerGas"),
                               "latest block baseFeePerGas", e);
    if (r == RPC_OK && items[1].code == RPC_OK)
        r = rpc_u256_from_json(&f.priority_fee_wei, items[1].result, "eth_maxPriorityFeePerGas", e);
    else if (r == RPC_OK)
        f.priority_fee_wei = u256_from_u64(RPC_PRIORITY_FEE_FALLBACK_WEI);
    struct u256 two = u256_from_u64(2);
    if (r == RPC_OK && (u256_mul(&f.max_fee_wei, &f.base_fee_wei, &two) != U256_OK ||
                        u256_add(&f.max_fee_wei, &f.max_fee_wei, &f.priority_fee_wei) != U256_OK))
        r = err_set(e, RPC_ERR_BAD_RESPONSE, "rpc fee suggestion: max fee overflows 256 bits");
    if (r == RPC_OK)
        *out = f;
    json_decref(items[0].result);
    json_decref(items[1].result);
    free(items);
    return r;
}
