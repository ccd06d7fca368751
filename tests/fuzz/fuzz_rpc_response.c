/*
 * fuzz_rpc_response.c - rpc_parse_response() and rpc_parse_batch_response()
 * on arbitrary response bodies.
 *
 * Input: byte 0 picks the mode: bit 0 single (0) or batch (1); bits 1-2 the
 * expected id / first id (0..3); bits 3-4 the batch size minus one. The rest
 * is the body. Properties (LSan checks that every reference is released):
 *   single: the result is one of the documented codes (OK, TOO_LARGE,
 *     BAD_RESPONSE, REMOTE, EXECUTION_REVERTED) with e set on error and the
 *     same result without remote_out or e; *result_out is a new reference
 *     exactly on OK (released here) and NULL otherwise; a remote error
 *     fills remote_out with a NUL-terminated message and revert data that is
 *     "" or "0x" + an even number of hex digits within the maximum.
 *   batch: the same codes; OK means every item is OK with a result; on
 *     BAD_RESPONSE/TOO_LARGE no item keeps a result; on a remote error either
 *     the whole batch was rejected (no results) or every item is OK with a
 *     result or a remote error without one, and the code is the first
 *     failing item's.
 */
#include "fuzz.h"
#include "rpc.h"

#define RPC_FUZZ_BATCH_MAX 4

static bool rpc_is_parse_code(enum rpc_result r);
static bool rpc_is_remote(enum rpc_result r);
static void rpc_check_remote(const struct rpc_remote_error *re);
static void fuzz_rpc_single(const char *body, size_t len, uint64_t id);
static void fuzz_rpc_batch(const char *body, size_t len, uint64_t id_first, size_t n);

static bool rpc_is_parse_code(enum rpc_result r)
{
    return r == RPC_OK || r == RPC_ERR_TOO_LARGE || r == RPC_ERR_BAD_RESPONSE ||
           r == RPC_ERR_REMOTE || r == RPC_ERR_EXECUTION_REVERTED;
}

static bool rpc_is_remote(enum rpc_result r)
{
    return r == RPC_ERR_REMOTE || r == RPC_ERR_EXECUTION_REVERTED;
}

static void rpc_check_remote(const struct rpc_remote_error *re)
{
    FUZZ_CHECK(memchr(re->message, '\0', sizeof re->message) != NULL);
    size_t n = strnlen(re->data_hex, sizeof re->data_hex);
    FUZZ_CHECK(n < sizeof re->data_hex && n <= RPC_ERROR_DATA_HEX_MAX);
    if (n == 0) {
        FUZZ_CHECK(!re->data_truncated);
        return;
    }
    FUZZ_CHECK(n >= 2 && n % 2 == 0 && re->data_hex[0] == '0' && re->data_hex[1] == 'x');
    for (size_t i = 2; i < n; i++) {
        char c = re->data_hex[i];
        FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
    }
    FUZZ_CHECK(!re->data_truncated || n == RPC_ERROR_DATA_HEX_MAX);
}

static void fuzz_rpc_single(const char *body, size_t len, uint64_t id)
{
    json_t *result = (json_t *)&result; /* must be overwritten */
    struct rpc_remote_error *re = malloc(sizeof *re);
    FUZZ_CHECK(re != NULL);
    memset(re, 0x7f, sizeof *re);
    struct err e;
    fuzz_err_prime(&e);
    enum rpc_result r = rpc_parse_response(&result, re, body, len, id, &e);
    FUZZ_CHECK(rpc_is_parse_code(r));
    FUZZ_CHECK((r == RPC_OK) == (result != NULL));
    FUZZ_CHECK(r == RPC_OK || fuzz_err_is_set(&e, (int)r));
    if (rpc_is_remote(r))
        rpc_check_remote(re);
    json_decref(result);
    free(re);

    json_t *again = NULL;
    FUZZ_CHECK(rpc_parse_response(&again, NULL, body, len, id, NULL) == r);
    json_decref(again);
}

static void fuzz_rpc_batch(const char *body, size_t len, uint64_t id_first, size_t n)
{
    static const char *const methods[RPC_FUZZ_BATCH_MAX] = {"eth_chainId", NULL, "eth_call",
                                                            "eth_getBlockByNumber"};
    struct rpc_batch_item items[RPC_FUZZ_BATCH_MAX];
    memset(items, 0, sizeof items);
    for (size_t i = 0; i < n; i++) {
        items[i].method = methods[i];
        items[i].result = (json_t *)&items[i]; /* must be overwritten */
        items[i].code = RPC_ERR_TRANSPORT;
    }
    struct err e;
    fuzz_err_prime(&e);
    enum rpc_result r = rpc_parse_batch_response(items, n, body, len, id_first, &e);
    FUZZ_CHECK(rpc_is_parse_code(r));
    FUZZ_CHECK(r == RPC_OK || fuzz_err_is_set(&e, (int)r));
    bool any_result = false, whole_batch = true;
    enum rpc_result first_fail = RPC_OK;
    for (size_t i = 0; i < n; i++) {
        any_result |= items[i].result != NULL;
        whole_batch &= items[i].result == NULL && items[i].code == RPC_ERR_BAD_RESPONSE;
        if (items[i].code != RPC_OK && first_fail == RPC_OK)
            first_fail = items[i].code;
    }
    if (r == RPC_OK) {
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(items[i].code == RPC_OK && items[i].result != NULL);
    } else if (!rpc_is_remote(r)) {
        FUZZ_CHECK(!any_result);
    } else if (!whole_batch) {
        for (size_t i = 0; i < n; i++) {
            FUZZ_CHECK(items[i].code == RPC_OK || rpc_is_remote(items[i].code));
            FUZZ_CHECK((items[i].code == RPC_OK) == (items[i].result != NULL));
            if (rpc_is_remote(items[i].code))
                rpc_check_remote(&items[i].remote);
        }
        FUZZ_CHECK(first_fail == r);
    }
    for (size_t i = 0; i < n; i++)
        json_decref(items[i].result);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    const char *body = (const char *)data + 1;
    uint64_t id = (uint64_t)((mode >> 1) & 3);
    if (mode & 1)
        fuzz_rpc_batch(body, size - 1, id, 1 + (size_t)((mode >> 3) & 3));
    else
        fuzz_rpc_single(body, size - 1, id);
    return 0;
}
