/*
 * fuzz_rpc_receipt.c - rpc_parse_receipt() and rpc_parse_quantity_u64() on
 * arbitrary JSON.
 *
 * Input: byte 0 bit 0 says whether the rest is a whole response (then
 * rpc_parse_response() with id 1 unwraps it) or the receipt object itself
 * (loaded here with jansson). Properties (LSan checks the references):
 *   - rpc_parse_receipt() returns OK, NO_RECEIPT (exactly for null) or
 *     BAD_RESPONSE, with e set on error;
 *   - OK: logs is a new reference to the object's "logs" array (released
 *     with rpc_receipt_release(), which is idempotent); every field equals
 *     what an independent reading of its JSON string gives (hex bytes,
 *     quantities); to/contractAddress are present exactly when non-null;
 *   - rpc_parse_quantity_u64() on every member of the object (and the whole
 *     value): OK exactly for a string "0x" + 1..16 hex digits, and then the
 *     value equals u256_from_hex() of the same text.
 */
#include <ctype.h>

#include "fuzz.h"
#include "hex.h"
#include "rpc.h"

static void rpc_check_quantity(const json_t *v);
static void rpc_check_hex_field(const json_t *obj, const char *key, const uint8_t *got, size_t len,
                                bool present);
static void rpc_check_u64_field(const json_t *obj, const char *key, uint64_t got);
static void rpc_check_receipt(const json_t *result);

static void rpc_check_quantity(const json_t *v)
{
    const char *s = json_string_value(v);
    size_t n = s != NULL ? json_string_length(v) : 0;
    bool want = s != NULL && n >= 3 && n <= 18 && s[0] == '0' && s[1] == 'x';
    for (size_t i = 2; want && i < n; i++)
        want = isxdigit((unsigned char)s[i]) != 0;
    uint64_t q = 0x5c5c5c5c5c5c5c5cULL;
    struct err e;
    fuzz_err_prime(&e);
    enum rpc_result r = rpc_parse_quantity_u64(&q, v, &e);
    FUZZ_CHECK(r == RPC_OK || r == RPC_ERR_BAD_RESPONSE);
    FUZZ_CHECK((r == RPC_OK) == want);
    if (r != RPC_OK) {
        FUZZ_CHECK(fuzz_err_is_set(&e, (int)r));
        return;
    }
    struct u256 w;
    uint64_t w64 = 0;
    FUZZ_CHECK(u256_from_hex(&w, s, n, NULL) == U256_OK);
    FUZZ_CHECK(u256_to_u64(&w64, &w) && w64 == q);
}

/* "0x" + 2*len hex digits decoding to got[0..len), or absent/null when !present. */
static void rpc_check_hex_field(const json_t *obj, const char *key, const uint8_t *got, size_t len,
                                bool present)
{
    const json_t *v = json_object_get(obj, key);
    FUZZ_CHECK(present == !(v == NULL || json_is_null(v)));
    if (!present)
        return;
    const char *s = json_string_value(v);
    FUZZ_CHECK(s != NULL && json_string_length(v) == 2 + 2 * len && s[0] == '0' && s[1] == 'x');
    for (size_t i = 0; i < len; i++) {
        char pair[3] = {s[2 + 2 * i], s[3 + 2 * i], '\0'};
        FUZZ_CHECK(isxdigit((unsigned char)pair[0]) && isxdigit((unsigned char)pair[1]));
        FUZZ_CHECK(strtoul(pair, NULL, 16) == got[i]);
    }
}

static void rpc_check_u64_field(const json_t *obj, const char *key, uint64_t got)
{
    const json_t *v = json_object_get(obj, key);
    struct u256 w;
    uint64_t want = 0;
    const char *s = json_string_value(v);
    FUZZ_CHECK(s != NULL && json_string_length(v) <= 18);
    FUZZ_CHECK(u256_from_hex(&w, s, json_string_length(v), NULL) == U256_OK);
    FUZZ_CHECK(u256_to_u64(&want, &w) && want == got);
}

static void rpc_check_receipt(const json_t *result)
{
    struct rpc_receipt rc;
    memset(&rc, 0x5c, sizeof rc);
    struct err e;
    fuzz_err_prime(&e);
    enum rpc_result r = rpc_parse_receipt(&rc, result, &e);
    FUZZ_CHECK(r == RPC_OK || r == RPC_ERR_NO_RECEIPT || r == RPC_ERR_BAD_RESPONSE);
    FUZZ_CHECK((r == RPC_ERR_NO_RECEIPT) == (result == NULL || json_is_null(result)));
    FUZZ_CHECK(r == RPC_OK || fuzz_err_is_set(&e, (int)r));
    if (json_is_object(result)) {
        rpc_check_quantity(result);
        const char *key;
        json_t *member;
        json_object_foreach((json_t *)result, key, member) rpc_check_quantity(member);
    }
    if (r != RPC_OK)
        return;
    const json_t *logs = json_object_get(result, "logs");
    FUZZ_CHECK(rc.logs == logs && json_is_array(rc.logs) && logs->refcount >= 2);
    rpc_check_hex_field(result, "transactionHash", rc.transaction_hash, 32, true);
    rpc_check_hex_field(result, "blockHash", rc.block_hash, 32, true);
    rpc_check_hex_field(result, "from", rc.from, 20, true);
    rpc_check_hex_field(result, "to", rc.to, 20, rc.has_to);
    rpc_check_hex_field(result, "contractAddress", rc.contract_address, 20,
                        rc.has_contract_address);
    rpc_check_u64_field(result, "blockNumber", rc.block_number);
    rpc_check_u64_field(result, "transactionIndex", rc.transaction_index);
    rpc_check_u64_field(result, "status", rc.status);
    rpc_check_u64_field(result, "gasUsed", rc.gas_used);
    const json_t *price = json_object_get(result, "effectiveGasPrice");
    struct u256 want = u256_zero();
    if (price != NULL)
        FUZZ_CHECK(u256_from_hex(&want, json_string_value(price), json_string_length(price),
                                 NULL) == U256_OK);
    FUZZ_CHECK(u256_cmp(&want, &rc.effective_gas_price_wei) == 0);
    rpc_receipt_release(&rc);
    FUZZ_CHECK(rc.logs == NULL);
    rpc_receipt_release(&rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    json_t *result = NULL;
    if (data[0] & 1) {
        if (rpc_parse_response(&result, NULL, body, len, 1, NULL) != RPC_OK)
            return 0;
    } else {
        if (len > RPC_RESPONSE_BYTES_MAX)
            return 0;
        json_error_t je;
        result = json_loadb(body, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        if (result == NULL)
            return 0;
    }
    rpc_check_receipt(result);
    json_decref(result);
    return 0;
}
