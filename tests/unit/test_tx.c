/*
 * test_tx.c - EIP-1559 transactions against `cast mktx` (tests/vectors/
 * tx_cast.txt, made by gen_tx_cast.sh).
 *
 * For every recorded transaction our raw bytes must be byte-identical to
 * cast's, the hash must equal cast keccak of them, cast's raw must decode
 * (field by field with the RLP decoder directly, and with tx_decode_signed)
 * and recover to the right sender. Then the decoder's rejection paths with
 * exact codes, and a seeded random sign/decode/recover model test.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "address.h"
#include "harness.h"
#include "hex.h"
#include "rlp.h"
#include "sig.h"
#include "tx.h"
#include "vectors.h"

#define VEC_PATH "tests/vectors/tx_cast.txt"
#define OUT_MAX ((size_t)1 << 20)

/* ---- vector file ---------------------------------------------------------------- */

static struct vec_file vecs; /* VEC_PATH, loaded by main() */

/* The value of `key=` on a line, or "" (and a failed check) when absent. */
static const char *vec_get(const struct vec_line *v, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 1; i < v->field_count; i++)
        if (strncmp(v->field[i], key, n) == 0 && v->field[i][n] == '=')
            return v->field[i] + n + 1;
    CHECK_MSG(false, "field '%s' missing", key);
    return "";
}

static struct u256 dec256(const char *text)
{
    struct u256 v = u256_zero();
    CHECK_MSG(u256_from_dec(&v, text, strlen(text), NULL) == U256_OK, "decimal '%s'", text);
    return v;
}

static uint64_t dec64(const char *text)
{
    struct u256 v = dec256(text);
    uint64_t out = 0;
    CHECK_MSG(u256_to_u64(&out, &v), "'%s' does not fit 64 bits", text);
    return out;
}

/* One recorded transaction: the fields as given to cast, and cast's output. */
struct cast_tx {
    const char *name;
    struct tx_eip1559 tx;
    struct sig_private_key key;
    struct address from;
    uint8_t *data;
    uint8_t *raw;
    size_t raw_len;
    uint8_t hash[32];
};

static bool cast_tx_load(struct cast_tx *c, const struct vec_line *v)
{
    memset(c, 0, sizeof *c);
    c->name = vec_get(v, "name");
    const char *key = vec_get(v, "key"), *from = vec_get(v, "from"), *to = vec_get(v, "to");
    bool ok = sig_private_key_from_hex(&c->key, key, strlen(key), NULL) == SIG_OK &&
              address_parse(&c->from, from, strlen(from), NULL) == ADDRESS_OK;
    c->tx.chain_id = dec64(vec_get(v, "chain"));
    c->tx.nonce = dec64(vec_get(v, "nonce"));
    c->tx.gas_limit = dec64(vec_get(v, "gas"));
    c->tx.max_fee_per_gas_wei = dec256(vec_get(v, "maxfee"));
    c->tx.max_priority_fee_per_gas_wei = dec256(vec_get(v, "tip"));
    c->tx.value_wei = dec256(vec_get(v, "value"));
    c->tx.has_to = strcmp(to, "create") != 0;
    if (c->tx.has_to)
        ok = ok && address_parse(&c->tx.to, to, strlen(to), NULL) == ADDRESS_OK;
    c->data = vec_hex_alloc(vec_get(v, "data"), &c->tx.data_len);
    c->tx.data = c->data;
    c->raw = vec_hex_alloc(vec_get(v, "raw"), &c->raw_len);
    const char *hash = vec_get(v, "hash");
    ok = ok && c->data != NULL && c->raw != NULL && vec_hex_exact(c->hash, 32, hash);
    return ok;
}

static void cast_tx_release(struct cast_tx *c)
{
    sig_private_key_wipe(&c->key);
    free(c->data);
    free(c->raw);
}

/* Walks raw with the RLP decoder alone and checks every field against tx. */
static void check_rlp_fields(const char *name, const uint8_t *raw, size_t raw_len,
                             const struct tx_eip1559 *tx)
{
    CHECK_MSG(raw_len > 1 && raw[0] == 0x02, "%s: type byte", name);
    struct rlp_item root, f[13];
    size_t n = 0;
    struct err e;
    err_clear(&e);
    CHECK_MSG(rlp_decode(&root, raw + 1, raw_len - 1, &e) == RLP_OK, "%s: %s", name, e.msg);
    CHECK_INT(root.kind, RLP_KIND_LIST);
    CHECK(rlp_list_items(f, 13, &n, &root, NULL) == RLP_OK);
    CHECK_INT(n, 12);
    if (n != 12)
        return;
    uint64_t u = 0;
    struct u256 w;
    CHECK(rlp_item_to_u64(&u, &f[0], NULL) == RLP_OK && u == tx->chain_id);
    CHECK(rlp_item_to_u64(&u, &f[1], NULL) == RLP_OK && u == tx->nonce);
    CHECK(rlp_item_to_u256(&w, &f[2], NULL) == RLP_OK &&
          u256_cmp(&w, &tx->max_priority_fee_per_gas_wei) == 0);
    CHECK(rlp_item_to_u256(&w, &f[3], NULL) == RLP_OK &&
          u256_cmp(&w, &tx->max_fee_per_gas_wei) == 0);
    CHECK(rlp_item_to_u64(&u, &f[4], NULL) == RLP_OK && u == tx->gas_limit);
    CHECK_INT(f[5].kind, RLP_KIND_STRING);
    CHECK_INT(f[5].payload_len, tx->has_to ? 20 : 0);
    CHECK(!tx->has_to || memcmp(f[5].payload, tx->to.bytes, 20) == 0);
    CHECK(rlp_item_to_u256(&w, &f[6], NULL) == RLP_OK && u256_cmp(&w, &tx->value_wei) == 0);
    CHECK(f[7].kind == RLP_KIND_STRING && f[7].payload_len == tx->data_len);
    CHECK(tx->data_len == 0 || memcmp(f[7].payload, tx->data, tx->data_len) == 0);
    CHECK(f[8].kind == RLP_KIND_LIST && f[8].payload_len == 0);
    CHECK(rlp_item_to_u64(&u, &f[9], NULL) == RLP_OK && u <= 1);
    CHECK(rlp_item_to_u256(&w, &f[10], NULL) == RLP_OK && !u256_is_zero(&w));
    CHECK(rlp_item_to_u256(&w, &f[11], NULL) == RLP_OK && !u256_is_zero(&w));
}

/* ---- against cast ----------------------------------------------------------------------- */

static void test_cast_vectors(void)
{
    size_t count = 0, creates = 0, calls = 0;
    for (size_t i = 0; i < vecs.line_count; i++) {
        if (strcmp(vecs.line[i].field[0], "tx") != 0)
            continue;
        struct cast_tx c;
        CHECK_MSG(cast_tx_load(&c, &vecs.line[i]), "line %zu", i);
        count++;
        creates += !c.tx.has_to;
        calls += c.tx.has_to && c.tx.data_len > 0;

        struct buf b;
        buf_init(&b, OUT_MAX);
        struct err e;
        err_clear(&e);
        CHECK_MSG(tx_sign(&b, &c.tx, &c.key, &e) == TX_OK, "%s: %s", c.name, e.msg);
        CHECK_MSG(b.len == c.raw_len && c.raw != NULL && memcmp(b.data, c.raw, c.raw_len) == 0,
                  "%s: our raw transaction differs from cast mktx (%zu vs %zu bytes)", c.name,
                  b.len, c.raw_len);
        uint8_t h[32];
        tx_hash(h, b.data, b.len);
        CHECK_MSG(memcmp(h, c.hash, 32) == 0, "%s: transaction hash", c.name);
        check_rlp_fields(c.name, b.data, b.len, &c.tx);

        /* cast's bytes decode back to the same fields and sender */
        struct tx_eip1559 back;
        struct tx_signature sig;
        CHECK_MSG(tx_decode_signed(&back, &sig, c.raw, c.raw_len, &e) == TX_OK, "%s: %s", c.name,
                  e.msg);
        CHECK_MSG(tx_eip1559_equal(&back, &c.tx), "%s: decoded fields differ", c.name);
        CHECK(back.data_len == 0 ||
              (back.data > c.raw && back.data + back.data_len <= c.raw + c.raw_len));
        struct address sender;
        CHECK_MSG(tx_recover_sender(&sender, &back, &sig, &e) == TX_OK, "%s: %s", c.name, e.msg);
        CHECK_MSG(address_eq(&sender, &c.from), "%s: wrong sender", c.name);
        buf_release(&b);
        cast_tx_release(&c);
    }
    CHECK_INT(count, 12);
    CHECK_INT(creates, 2);
    CHECK_INT(calls, 4);
}

/* The recorded calldata is what our ABI encoder produces for the same call. */
static void test_cast_calldata_matches_abi(void)
{
    for (size_t i = 0; i < vecs.line_count; i++) {
        const struct vec_line *v = &vecs.line[i];
        if (strcmp(vec_get(v, "name"), "call_transfer") != 0)
            continue;
        struct address a1;
        CHECK(address_parse(&a1, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", 42, NULL) ==
              ADDRESS_OK);
        struct abi_value args[] = {abi_value_address(&a1), abi_value_u64(12345)};
        struct buf b;
        buf_init(&b, OUT_MAX);
        CHECK(abi_encode_call(&b, "transfer(address,uint256)", args, 2, NULL) == ABI_OK);
        size_t len = 0;
        uint8_t *want = vec_hex_alloc(vec_get(v, "data"), &len);
        CHECK(want != NULL && len == b.len && memcmp(want, b.data, len) == 0);
        free(want);
        buf_release(&b);
        return;
    }
    CHECK_MSG(false, "vector call_transfer missing");
}

/* ---- decoder rejections ------------------------------------------------------------------ */

/* A valid signed transaction to mutate: the first vector, signed by us. */
static void first_signed(struct buf *b, struct cast_tx *c)
{
    for (size_t i = 0; i < vecs.line_count; i++)
        if (strcmp(vecs.line[i].field[0], "tx") == 0) {
            CHECK(cast_tx_load(c, &vecs.line[i]));
            buf_init(b, OUT_MAX);
            CHECK(tx_sign(b, &c->tx, &c->key, NULL) == TX_OK);
            return;
        }
}

/* Builds 0x02 || rlp(list of `count` items) where item k is items[k] (already
 * encoded, given as hex). */
static enum tx_result decode_built(const char *const *items, size_t count, struct err *e)
{
    struct buf b;
    buf_init(&b, OUT_MAX);
    struct rlp_list l;
    CHECK(buf_append_byte(&b, 0x02) == BUF_OK);
    CHECK(rlp_list_begin(&l, &b) == RLP_OK);
    for (size_t i = 0; i < count; i++) {
        uint8_t tmp[64];
        size_t n = 0;
        CHECK(hex_decode(tmp, sizeof tmp, &n, items[i], strlen(items[i]), NULL) == HEX_OK);
        CHECK(buf_append(&b, tmp, n) == BUF_OK);
    }
    CHECK(rlp_list_end(&l, &b) == RLP_OK);
    struct tx_eip1559 tx;
    struct tx_signature sig;
    err_clear(e);
    enum tx_result r = tx_decode_signed(&tx, &sig, b.data, b.len, e);
    buf_release(&b);
    return r;
}

/* decode_built() of the 12 items of `items` with item `index` replaced by
 * `item_hex`: one bad field in an otherwise valid transaction. */
static enum tx_result decode_replaced(const char *const items[12], size_t index,
                                      const char *item_hex, struct err *e)
{
    const char *changed[12];
    memcpy(changed, items, sizeof changed);
    changed[index] = item_hex;
    return decode_built(changed, 12, e);
}

static void test_decode_rejections(void)
{
    struct buf b;
    struct cast_tx c;
    first_signed(&b, &c);
    struct tx_eip1559 tx;
    struct tx_signature sig;
    struct err e;
    CHECK_INT(tx_decode_signed(&tx, &sig, b.data, b.len, &e), TX_OK);
    CHECK_INT(tx_decode_signed(&tx, &sig, b.data, 0, &e), TX_ERR_NOT_EIP1559);
    CHECK_INT(tx_decode_signed(&tx, &sig, b.data + 1, b.len - 1, &e), TX_ERR_NOT_EIP1559);
    CHECK_MSG(strstr(e.msg, "legacy") != NULL, "message: %s", e.msg);
    b.data[0] = 0x01;
    CHECK_INT(tx_decode_signed(&tx, &sig, b.data, b.len, &e), TX_ERR_NOT_EIP1559);
    b.data[0] = 0x02;
    CHECK_INT(tx_decode_signed(&tx, &sig, b.data, b.len - 1, &e), TX_ERR_RLP);
    CHECK_MSG(strstr(e.msg, "malformed transaction: truncated rlp") != NULL, "message: %s", e.msg);
    CHECK(buf_append_byte(&b, 0x00) == BUF_OK);
    CHECK_INT(tx_decode_signed(&tx, &sig, b.data, b.len, &e), TX_ERR_RLP);
    uint8_t *big = calloc(TX_RAW_BYTES_MAX + 1, 1);
    big[0] = 0x02;
    CHECK_INT(tx_decode_signed(&tx, &sig, big, TX_RAW_BYTES_MAX + 1, &e), TX_ERR_RAW_TOO_BIG);
    free(big);
    buf_release(&b);
    cast_tx_release(&c);

    /* hand-built field lists: chainId nonce tip fee gas to value data al yParity r s */
    const char *ok[] = {"827a69",
                        "80",
                        "01",
                        "02",
                        "825208",
                        "94"
                        "70997970c51812dc3a010c7d01b50e0d17dc79c8",
                        "01",
                        "80",
                        "c0",
                        "80",
                        "01",
                        "01"};
    CHECK_INT(decode_built(ok, 12, &e), TX_OK);
    CHECK_INT(decode_built(ok, 11, &e), TX_ERR_FIELD_COUNT);
    CHECK_MSG(strstr(e.msg, "got 11") != NULL, "message: %s", e.msg);
    const char *thirteen[13];
    memcpy(thirteen, ok, sizeof ok);
    thirteen[12] = "80";
    CHECK_INT(decode_built(thirteen, 13, &e), TX_ERR_FIELD_COUNT);
    /* nonce 0 must be 0x80 */
    CHECK_INT(decode_replaced(ok, 1, "00", &e), TX_ERR_BAD_FIELD);
    CHECK_MSG(strstr(e.msg, "field 'nonce'") != NULL && strstr(e.msg, "leading zero") != NULL,
              "message: %s", e.msg);
    /* chainId wider than 64 bits */
    CHECK_INT(decode_replaced(ok, 0, "89010203040506070809", &e), TX_ERR_BAD_FIELD);
    CHECK_MSG(strstr(e.msg, "'chainId'") != NULL, "message: %s", e.msg);
    /* a 19-byte to */
    const char *to_19 = "93"
                        "70997970c51812dc3a010c7d01b50e0d17dc79";
    CHECK_INT(decode_replaced(ok, 5, to_19, &e), TX_ERR_BAD_FIELD);
    CHECK_MSG(strstr(e.msg, "'to'") != NULL, "message: %s", e.msg);
    /* data as a list */
    CHECK_INT(decode_replaced(ok, 7, "c0", &e), TX_ERR_BAD_FIELD);
    CHECK_MSG(strstr(e.msg, "'data'") != NULL, "message: %s", e.msg);
    /* access list as a string, then a non-empty access list */
    CHECK_INT(decode_replaced(ok, 8, "80", &e), TX_ERR_BAD_FIELD);
    CHECK_INT(decode_replaced(ok, 8, "c3c10180", &e), TX_ERR_ACCESS_LIST);
    /* yParity 2 */
    CHECK_INT(decode_replaced(ok, 9, "02", &e), TX_ERR_BAD_SIGNATURE);
    CHECK_MSG(strstr(e.msg, "yParity: 2") != NULL, "message: %s", e.msg);
    /* a 33-byte s */
    const char *s_33 = "a1"
                       "010000000000000000000000000000000000000000000000000000000000000000";
    CHECK_INT(decode_replaced(ok, 11, s_33, &e), TX_ERR_BAD_FIELD);
    CHECK_MSG(strstr(e.msg, "field 's'") != NULL, "message: %s", e.msg);
}

/* Signatures that decode but must not recover. */
static void test_recover_rejections(void)
{
    struct buf b;
    struct cast_tx c;
    first_signed(&b, &c);
    struct tx_eip1559 tx;
    struct tx_signature sig;
    struct address a;
    struct err e;
    CHECK_INT(tx_decode_signed(&tx, &sig, b.data, b.len, NULL), TX_OK);
    CHECK_INT(tx_recover_sender(&a, &tx, &sig, NULL), TX_OK);
    CHECK(address_eq(&a, &c.from));
    /* high s: n - s with the parity flipped */
    static const uint8_t n[32] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48,
        0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
    };
    struct tx_signature hi = sig;
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = (int)n[i] - (int)sig.s[i] - borrow;
        borrow = d < 0;
        hi.s[i] = (uint8_t)(d < 0 ? d + 256 : d);
    }
    hi.y_parity ^= 1;
    CHECK_INT(tx_recover_sender(&a, &tx, &hi, &e), TX_ERR_BAD_SIGNATURE);
    CHECK_MSG(strstr(e.msg, "high-s") != NULL, "message: %s", e.msg);
    struct tx_signature zero = sig;
    memset(zero.r, 0, 32);
    CHECK_INT(tx_recover_sender(&a, &tx, &zero, &e), TX_ERR_BAD_SIGNATURE);
    struct tx_signature parity = sig;
    parity.y_parity = 2;
    CHECK_INT(tx_recover_sender(&a, &tx, &parity, &e), TX_ERR_BAD_SIGNATURE);
    /* a changed field recovers a different sender */
    tx.nonce++;
    enum tx_result r = tx_recover_sender(&a, &tx, &sig, NULL);
    CHECK(r == TX_ERR_BAD_SIGNATURE || (r == TX_OK && !address_eq(&a, &c.from)));
    buf_release(&b);
    cast_tx_release(&c);
}

static void test_sign_limits(void)
{
    struct buf b;
    struct cast_tx c;
    first_signed(&b, &c);
    size_t full = b.len;
    struct err e;
    /* output too small: fails and leaves the buffer as it was */
    struct buf small;
    buf_init(&small, full - 1);
    CHECK(buf_append_byte(&small, 0xaa) == BUF_OK);
    CHECK_INT(tx_sign(&small, &c.tx, &c.key, &e), TX_ERR_BUF_TOO_BIG);
    CHECK_INT(small.len, 1);
    CHECK_INT(small.data[0], 0xaa);
    buf_release(&small);
    buf_init(&small, full);
    CHECK_INT(tx_sign(&small, &c.tx, &c.key, &e), TX_OK);
    CHECK(small.len == full && memcmp(small.data, b.data, full) == 0);
    buf_release(&small);
    /* data at and above the maximum */
    uint8_t *data = calloc(TX_DATA_BYTES_MAX + 1, 1);
    struct tx_eip1559 tx = c.tx;
    tx.data = data;
    tx.data_len = TX_DATA_BYTES_MAX + 1;
    uint8_t h[32];
    CHECK_INT(tx_signing_hash(h, &tx, &e), TX_ERR_DATA_TOO_BIG);
    CHECK_MSG(strstr(e.msg, "131073") != NULL, "message: %s", e.msg);
    buf_reset(&b);
    CHECK_INT(tx_sign(&b, &tx, &c.key, &e), TX_ERR_DATA_TOO_BIG);
    CHECK_INT(b.len, 0);
    tx.data_len = TX_DATA_BYTES_MAX;
    CHECK_INT(tx_sign(&b, &tx, &c.key, &e), TX_OK);
    CHECK(b.len <= TX_RAW_BYTES_MAX);
    struct tx_eip1559 back;
    struct tx_signature sig;
    CHECK_INT(tx_decode_signed(&back, &sig, b.data, b.len, &e), TX_OK);
    CHECK_INT(back.data_len, TX_DATA_BYTES_MAX);
    free(data);
    /* priority fee above max fee */
    tx = c.tx;
    tx.max_priority_fee_per_gas_wei = u256_from_u64(3000000000);
    CHECK_INT(tx_signing_hash(h, &tx, &e), TX_ERR_BAD_FEES);
    CHECK_MSG(strstr(e.msg, "3000000000 wei above max fee 2000000000 wei") != NULL, "message: %s",
              e.msg);
    tx.max_priority_fee_per_gas_wei = tx.max_fee_per_gas_wei; /* equal is fine */
    CHECK_INT(tx_signing_hash(h, &tx, &e), TX_OK);
    /* an invalid key is refused */
    struct sig_private_key zero;
    memset(&zero, 0, sizeof zero);
    buf_reset(&b);
    CHECK_INT(tx_sign(&b, &c.tx, &zero, &e), TX_ERR_SIGN);
    CHECK_INT(b.len, 0);
    buf_release(&b);
    cast_tx_release(&c);
}

/* ---- random model test ------------------------------------------------------------------- */

static void test_random_round_trip(void)
{
    uint64_t rng = harness_seed();
    static uint8_t data[2048];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)harness_rand(&rng);
    static const size_t lens[] = {0, 1, 55, 56, 200, 2048};
    struct buf b;
    buf_init(&b, OUT_MAX);
    int short_rs = 0;
    for (int iter = 0; iter < 1500; iter++) {
        struct sig_private_key key;
        uint8_t raw_key[32];
        do {
            for (int i = 0; i < 32; i++)
                raw_key[i] = (uint8_t)harness_rand(&rng);
        } while (sig_private_key_from_bytes(&key, raw_key, NULL) != SIG_OK);
        struct tx_eip1559 tx;
        memset(&tx, 0, sizeof tx);
        tx.chain_id = harness_rand(&rng) >> (harness_rand(&rng) % 64);
        tx.nonce = harness_rand(&rng) >> (harness_rand(&rng) % 64);
        tx.gas_limit = harness_rand(&rng) >> (harness_rand(&rng) % 64);
        struct u256 fee = {{harness_rand(&rng), harness_rand(&rng) >> 32, 0, 0}};
        tx.max_fee_per_gas_wei = fee;
        tx.max_priority_fee_per_gas_wei = u256_from_u64(fee.limb[0] >> (harness_rand(&rng) % 64));
        struct u256 value = {{harness_rand(&rng), harness_rand(&rng), harness_rand(&rng),
                              harness_rand(&rng) >> (harness_rand(&rng) % 64)}};
        tx.value_wei = value;
        tx.has_to = harness_rand(&rng) % 4 != 0;
        for (int i = 0; i < 20; i++)
            tx.to.bytes[i] = tx.has_to ? (uint8_t)harness_rand(&rng) : 0;
        tx.data_len = lens[harness_rand(&rng) % 6];
        tx.data = tx.data_len ? data : NULL;
        buf_reset(&b);
        struct err e;
        CHECK_MSG(tx_sign(&b, &tx, &key, &e) == TX_OK, "iteration %d: %s", iter, e.msg);
        check_rlp_fields("random", b.data, b.len, &tx);
        struct tx_eip1559 back;
        struct tx_signature sig;
        CHECK_MSG(tx_decode_signed(&back, &sig, b.data, b.len, &e) == TX_OK, "iteration %d: %s",
                  iter, e.msg);
        CHECK_MSG(tx_eip1559_equal(&back, &tx), "iteration %d: fields differ", iter);
        short_rs += sig.r[0] == 0 || sig.s[0] == 0;
        struct address want, got;
        CHECK(sig_private_key_address(&want, &key, NULL) == SIG_OK);
        CHECK(tx_recover_sender(&got, &back, &sig, NULL) == TX_OK && address_eq(&got, &want));
        sig_private_key_wipe(&key);
    }
    /* r or s with a leading zero byte must have been encoded minimally */
    CHECK_MSG(short_rs > 0, "no signature with a short r or s in 1500 (seed-dependent)");
    buf_release(&b);
}

int main(void)
{
    if (!vec_file_require(&vecs, VEC_PATH))
        return harness_finish();
    RUN(test_cast_vectors);
    RUN(test_cast_calldata_matches_abi);
    RUN(test_decode_rejections);
    RUN(test_recover_rejections);
    RUN(test_sign_limits);
    RUN(test_random_round_trip);
    vec_file_release(&vecs);
    return harness_finish();
}
