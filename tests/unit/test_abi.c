/*
 * test_abi.c - Solidity ABI encoder/decoder against vectors recorded from
 * foundry's cast (tests/vectors/abi_cast.txt, made by gen_abi_cast.sh).
 *
 * Every named vector's values are written out below, mirroring the
 * generator's arguments. Each is encoded and compared byte for byte with
 * cast, decoded back and compared value for value, and re-encoded. A seeded
 * random test round-trips random sequences and checks that every truncation
 * and random corruption is handled without a crash. Each decoder limit and
 * check is exercised for its exact result code.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "address.h"
#include "harness.h"
#include "hex.h"
#include "vectors.h"

#define VEC_PATH "tests/vectors/abi_cast.txt"
#define OUT_MAX ((size_t)4 << 20)

/* ---- vector file ---------------------------------------------------------------- */

static struct vec_file vecs; /* VEC_PATH, loaded by main() */

/* The hex (last field) of the vector `kind name`, or NULL. */
static const char *vec_find(const char *kind, const char *name)
{
    for (size_t i = 0; i < vecs.line_count; i++) {
        struct vec_line *v = &vecs.line[i];
        if (v->field_count == 3 && strcmp(v->field[0], kind) == 0 &&
            strcmp(v->field[1], name) == 0) {
            v->used = true;
            return v->field[2];
        }
    }
    fprintf(stdout, "#   vector '%s %s' missing from %s\n", kind, name, VEC_PATH);
    return NULL;
}

/* ---- shared values (mirror gen_abi_cast.sh) ---------------------------------------- */

static struct address A0, A1, A2;
static uint8_t H[6][32]; /* H[1] = 0x11..11, ..., H[5] = 0x55..55 */
static uint8_t HH12[64], HH23[64], HH12345[160];
static uint8_t B31[31], B32[32], B33[33], B70[70];
static char S100[101];
static const char UNICODE[] = "h\xc3\xa9llo w\xc3\xb6rld \xf0\x9f\x8e\xa5";

static bool values_init(void)
{
    bool ok =
        address_parse(&A0, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", 42, NULL) == ADDRESS_OK &&
        address_parse(&A1, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", 42, NULL) == ADDRESS_OK &&
        address_parse(&A2, "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", 42, NULL) == ADDRESS_OK;
    for (int i = 1; i <= 5; i++)
        memset(H[i], 0x11 * i, 32);
    memcpy(HH12, H[1], 32);
    memcpy(HH12 + 32, H[2], 32);
    memcpy(HH23, H[2], 32);
    memcpy(HH23 + 32, H[3], 32);
    for (int i = 0; i < 5; i++)
        memcpy(HH12345 + 32 * i, H[i + 1], 32);
    memset(B31, 0xaa, sizeof B31);
    memset(B32, 0xbb, sizeof B32);
    memset(B33, 0xcc, sizeof B33);
    memset(B70, 0xde, sizeof B70);
    for (int i = 0; i < 100; i++)
        S100[i] = (char)('0' + i % 10);
    return ok;
}

static struct u256 u256_max(void)
{
    struct u256 m = {{UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX}};
    return m;
}

/* ---- value comparison and typed skeletons ------------------------------------------- */

static bool value_equal(const struct abi_value *a, const struct abi_value *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case ABI_TYPE_UINT256:
        return u256_cmp(&a->as.uint256, &b->as.uint256) == 0;
    case ABI_TYPE_ADDRESS:
        return address_eq(&a->as.address, &b->as.address);
    case ABI_TYPE_BYTES32:
        return memcmp(a->as.bytes32, b->as.bytes32, 32) == 0;
    case ABI_TYPE_BOOL:
        return a->as.boolean == b->as.boolean;
    case ABI_TYPE_UINT8:
        return a->as.uint8 == b->as.uint8;
    case ABI_TYPE_BYTES:
    case ABI_TYPE_STRING:
        return a->as.bytes.len == b->as.bytes.len &&
               (a->as.bytes.len == 0 ||
                memcmp(a->as.bytes.data, b->as.bytes.data, a->as.bytes.len) == 0);
    case ABI_TYPE_BYTES32_ARRAY:
        return a->as.bytes32_array.count == b->as.bytes32_array.count &&
               (a->as.bytes32_array.count == 0 ||
                memcmp(a->as.bytes32_array.words, b->as.bytes32_array.words,
                       32 * a->as.bytes32_array.count) == 0);
    case ABI_TYPE_TUPLE:
        if (a->as.tuple.count != b->as.tuple.count)
            return false;
        for (size_t i = 0; i < a->as.tuple.count; i++)
            if (!value_equal(&a->as.tuple.items[i], &b->as.tuple.items[i]))
                return false;
        return true;
    }
    return false;
}

#define POOL_MAX 256
static struct abi_value pool[POOL_MAX];
static size_t pool_used;

/* dst[i] = a value of src[i]'s type with nothing else set (tuples from the pool). */
static bool skeleton(struct abi_value *dst, const struct abi_value *src, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        dst[i] = abi_value_of_type(src[i].type);
        if (src[i].type != ABI_TYPE_TUPLE)
            continue;
        size_t n = src[i].as.tuple.count;
        if (pool_used + n > POOL_MAX)
            return false;
        dst[i].as.tuple.items = &pool[pool_used];
        dst[i].as.tuple.count = n;
        pool_used += n;
        if (!skeleton(dst[i].as.tuple.items, src[i].as.tuple.items, n))
            return false;
    }
    return true;
}

/* Encodes `values`, compares with cast's bytes, decodes cast's bytes with a
 * typed skeleton, compares values, re-encodes the decoded values. */
static void check_encode_vector(const char *name, const struct abi_value *values, size_t count)
{
    const char *hex = vec_find("encode", name);
    CHECK_MSG(hex != NULL, "vector %s", name);
    if (hex == NULL)
        return;
    size_t want_len = 0;
    uint8_t *want = vec_hex_alloc(hex, &want_len);
    CHECK(want != NULL);
    struct buf b;
    buf_init(&b, OUT_MAX);
    struct err e;
    err_clear(&e);
    CHECK_MSG(abi_encode(&b, values, count, &e) == ABI_OK, "%s: %s", name, e.msg);
    CHECK_MSG(want != NULL && b.len == want_len && memcmp(b.data, want, want_len) == 0,
              "%s: our encoding differs from cast (%zu vs %zu bytes)", name, b.len, want_len);

    struct abi_value got[ABI_VALUES_MAX];
    pool_used = 0;
    CHECK(count <= ABI_VALUES_MAX && skeleton(got, values, count));
    CHECK_MSG(abi_decode(got, count, want, want_len, &e) == ABI_OK, "%s: %s", name, e.msg);
    for (size_t i = 0; i < count; i++)
        CHECK_MSG(value_equal(&got[i], &values[i]), "%s: decoded value %zu differs", name, i);
    buf_reset(&b);
    CHECK(abi_encode(&b, got, count, NULL) == ABI_OK);
    CHECK_MSG(b.len == want_len && memcmp(b.data, want, want_len) == 0,
              "%s: re-encoding of decoded values differs", name);
    buf_release(&b);
    free(want);
}

static void check_call_vector(const char *name, const char *signature,
                              const struct abi_value *values, size_t count)
{
    const char *hex = vec_find("calldata", name);
    CHECK_MSG(hex != NULL, "vector %s", name);
    if (hex == NULL)
        return;
    size_t want_len = 0;
    uint8_t *want = vec_hex_alloc(hex, &want_len);
    struct buf b;
    buf_init(&b, OUT_MAX);
    struct err e;
    err_clear(&e);
    CHECK_MSG(abi_encode_call(&b, signature, values, count, &e) == ABI_OK, "%s: %s", name, e.msg);
    CHECK_MSG(want != NULL && b.len == want_len && memcmp(b.data, want, want_len) == 0,
              "%s: calldata differs from cast", name);
    /* arguments decode back from after the selector */
    struct abi_value got[ABI_VALUES_MAX];
    pool_used = 0;
    CHECK(skeleton(got, values, count));
    CHECK(want_len >= 4 && abi_decode(got, count, want + 4, want_len - 4, NULL) == ABI_OK);
    for (size_t i = 0; i < count; i++)
        CHECK_MSG(value_equal(&got[i], &values[i]), "%s: decoded argument %zu differs", name, i);
    buf_release(&b);
    free(want);
}

/* ---- tests against cast --------------------------------------------------------------- */

static void test_cast_encode(void)
{
    struct u256 one = u256_from_u64(1), max = u256_max();
    struct abi_value mixed[] = {
        abi_value_uint256(&one),          abi_value_address(&A0),
        abi_value_bytes32_array(HH12, 2), abi_value_bytes((const uint8_t *)"\xde\xad\xbe\xef", 4),
        abi_value_string("hello", 5),     abi_value_bool(true),
    };
    check_encode_vector("mixed", mixed, 6);

    struct abi_value statics[] = {
        abi_value_uint256(&max), abi_value_address(&A1), abi_value_bytes32(H[3]),
        abi_value_bool(false),   abi_value_uint8(255),
    };
    check_encode_vector("static", statics, 5);

    struct abi_value empty[] = {abi_value_bytes(NULL, 0), abi_value_string("", 0),
                                abi_value_bytes32_array(NULL, 0)};
    check_encode_vector("empty_dynamic", empty, 3);

    struct abi_value leaf[] = {abi_value_address(&A2), abi_value_u64(1000000000000000000ULL)};
    check_encode_vector("settlement_leaf", leaf, 2);

    struct abi_value rec[] = {abi_value_u64(2), abi_value_u64(17), abi_value_bytes32(H[1])};
    check_encode_vector("recording_leaf", rec, 3);

    struct abi_value pad[] = {abi_value_bytes(B31, 31), abi_value_bytes(B32, 32),
                              abi_value_bytes(B33, 33)};
    check_encode_vector("bytes_padding", pad, 3);

    struct abi_value uni[] = {abi_value_string(UNICODE, strlen(UNICODE))};
    check_encode_vector("string_unicode", uni, 1);

    struct abi_value t1[] = {abi_value_u64(5), abi_value_address(&A0)};
    struct abi_value t2[] = {abi_value_bytes32(H[2]), abi_value_uint8(7)};
    struct abi_value tup[] = {abi_value_tuple(t1, 2), abi_value_bool(true), abi_value_tuple(t2, 2)};
    check_encode_vector("static_tuple", tup, 3);

    struct abi_value five[] = {abi_value_uint8(3), abi_value_bytes32_array(HH12345, 5),
                               abi_value_u64(42)};
    check_encode_vector("array_five", five, 3);

    struct abi_value longs[] = {abi_value_string(S100, 100), abi_value_bytes(B70, 70)};
    check_encode_vector("long_string", longs, 2);

    struct abi_value middle[] = {abi_value_bytes32_array(H[1], 1), abi_value_address(&A0),
                                 abi_value_string("x", 1)};
    check_encode_vector("dynamic_middle", middle, 3);
}

static void test_cast_calldata(void)
{
    struct abi_value claim[] = {abi_value_bytes32(H[1]), abi_value_address(&A1),
                                abi_value_u64(1000), abi_value_bytes32_array(HH23, 2)};
    check_call_vector("claim", "claim(bytes32,address,uint256,bytes32[])", claim, 4);
    struct abi_value settle[] = {abi_value_bytes32(H[1]), abi_value_bytes32(H[2]),
                                 abi_value_u64(5000)};
    check_call_vector("settle", "settle(bytes32,bytes32,uint256)", settle, 3);
    struct abi_value deposit[] = {abi_value_bytes32(H[3]), abi_value_uint8(1),
                                  abi_value_address(&A0)};
    check_call_vector("deposit", "deposit(bytes32,uint8,address)", deposit, 3);
    struct abi_value tip[] = {abi_value_bytes32(H[4])};
    check_call_vector("tip", "tip(bytes32)", tip, 1);
    struct abi_value transfer[] = {abi_value_address(&A1), abi_value_u64(12345)};
    check_call_vector("transfer", "transfer(address,uint256)", transfer, 2);
    struct abi_value anchor[] = {abi_value_bytes32(H[5]), abi_value_bytes32(H[1]),
                                 abi_value_u64(600)};
    check_call_vector("anchor_recording", "anchorRecording(bytes32,bytes32,uint256)", anchor, 3);
    struct abi_value claimed[] = {abi_value_bytes32(H[1]), abi_value_address(&A2)};
    check_call_vector("claimed", "claimed(bytes32,address)", claimed, 2);
    check_call_vector("unallocated", "unallocated()", NULL, 0);
}

static void test_cast_selectors_topics(void)
{
    size_t selectors = 0, topics = 0;
    for (size_t i = 0; i < vecs.line_count; i++) {
        struct vec_line *v = &vecs.line[i];
        bool is_sel = strcmp(v->field[0], "selector") == 0;
        bool is_topic = strcmp(v->field[0], "topic") == 0;
        if (!is_sel && !is_topic)
            continue;
        CHECK_INT(v->field_count, 3);
        if (v->field_count != 3)
            continue;
        v->used = true;
        uint8_t want[32], got[32];
        size_t n = is_sel ? 4 : 32;
        CHECK(vec_hex_exact(want, n, v->field[2]));
        if (is_sel) {
            abi_selector(got, v->field[1]);
            selectors++;
        } else {
            abi_event_topic(got, v->field[1]);
            topics++;
        }
        CHECK_MSG(memcmp(got, want, n) == 0, "%s %s", v->field[0], v->field[1]);
    }
    CHECK_INT(selectors, 20);
    CHECK_INT(topics, 7);
    uint8_t sel[4];
    abi_selector(sel, "transfer(address,uint256)");
    CHECK_MEM(sel, "\xa9\x05\x9c\xbb", 4);
}

/* Runs last: every vector in the file was checked by some test. */
static void test_cast_all_vectors_used(void)
{
    CHECK(vecs.line_count >= 46);
    for (size_t i = 0; i < vecs.line_count; i++)
        CHECK_MSG(vecs.line[i].used, "vector '%s %s' is not checked by any test",
                  vecs.line[i].field[0], vecs.line[i].field_count > 1 ? vecs.line[i].field[1] : "");
}

/* ---- strict decoder --------------------------------------------------------------------- */

/* The cast "mixed" vector: head uint256, address, off(bytes32[])=0xc0,
 * off(bytes)=0x120, off(string)=0x160, bool; tails [2,H1,H2] at 0xc0,
 * [4,deadbeef] at 0x120, [5,"hello"] at 0x160; 0x1a0 bytes in all. */
#define MIXED_LEN 0x1a0
static uint8_t *mixed_bytes(size_t *len)
{
    const char *hex = vec_find("encode", "mixed");
    return hex ? vec_hex_alloc(hex, len) : NULL;
}

static enum abi_result decode_mixed(const uint8_t *in, size_t in_len, struct err *e)
{
    struct abi_value v[6] = {
        abi_value_of_type(ABI_TYPE_UINT256),       abi_value_of_type(ABI_TYPE_ADDRESS),
        abi_value_of_type(ABI_TYPE_BYTES32_ARRAY), abi_value_of_type(ABI_TYPE_BYTES),
        abi_value_of_type(ABI_TYPE_STRING),        abi_value_of_type(ABI_TYPE_BOOL),
    };
    err_clear(e);
    return abi_decode(v, 6, in, in_len, e);
}

/* Copies `base`, sets the big-endian word at `offset` to `value`, decodes. */
static enum abi_result decode_mixed_with_word(const uint8_t *base, size_t len, size_t offset,
                                              uint64_t value, struct err *e)
{
    uint8_t *m = malloc(len);
    memcpy(m, base, len);
    memset(m + offset, 0, 32);
    for (int i = 0; i < 8; i++)
        m[offset + 31 - (size_t)i] = (uint8_t)(value >> (8 * i));
    enum abi_result r = decode_mixed(m, len, e);
    free(m);
    return r;
}

static enum abi_result decode_mixed_with_byte(const uint8_t *base, size_t len, size_t offset,
                                              uint8_t value, struct err *e)
{
    uint8_t *m = malloc(len);
    memcpy(m, base, len);
    m[offset] = value;
    enum abi_result r = decode_mixed(m, len, e);
    free(m);
    return r;
}

static void test_decode_offsets(void)
{
    size_t len = 0;
    uint8_t *in = mixed_bytes(&len);
    CHECK(in != NULL && len == MIXED_LEN);
    if (in == NULL || len != MIXED_LEN)
        return;
    struct err e;
    CHECK_INT(decode_mixed(in, len, &e), ABI_OK);
    CHECK_INT(decode_mixed_with_word(in, len, 0x40, 0xc1, &e), ABI_ERR_UNALIGNED_OFFSET);
    CHECK_MSG(strstr(e.msg, "offset at 64") != NULL, "message: %s", e.msg);
    CHECK_INT(decode_mixed_with_word(in, len, 0x40, MIXED_LEN, &e), ABI_ERR_BAD_OFFSET);
    CHECK_INT(decode_mixed_with_word(in, len, 0x40, 0x1000, &e), ABI_ERR_BAD_OFFSET);
    CHECK_INT(decode_mixed_with_word(in, len, 0x40, 0x20, &e), ABI_ERR_BAD_OFFSET); /* into head */
    CHECK_MSG(strstr(e.msg, "out of range") != NULL, "message: %s", e.msg);
    CHECK_INT(decode_mixed_with_word(in, len, 0x40, 0xa0, &e),
              ABI_ERR_BAD_OFFSET); /* last head word */
    CHECK_INT(decode_mixed_with_word(in, len, 0x40, 0xc0, &e), ABI_OK);
    /* offsets with bits far above the input size */
    CHECK_INT(decode_mixed_with_byte(in, len, 0x60, 0x80, &e), ABI_ERR_BAD_OFFSET); /* 2^255+.. */
    CHECK_INT(decode_mixed_with_byte(in, len, 0x40 + 23, 0x01, &e), ABI_ERR_BAD_OFFSET);
    /* the string offset may point at the bytes tail (aliasing is not an error) */
    CHECK_INT(decode_mixed_with_word(in, len, 0x80, 0x120, &e), ABI_OK);
    free(in);
}

static void test_decode_lengths(void)
{
    size_t len = 0;
    uint8_t *in = mixed_bytes(&len);
    if (in == NULL || len != MIXED_LEN)
        return;
    struct err e;
    /* bytes length word at 0x120: 96 bytes follow it */
    CHECK_INT(decode_mixed_with_word(in, len, 0x120, 0x61, &e), ABI_ERR_BAD_LENGTH);
    CHECK_MSG(strstr(e.msg, "abi bytes at offset 288") != NULL, "message: %s", e.msg);
    CHECK_INT(decode_mixed_with_word(in, len, 0x120, 0x60, &e), ABI_OK);
    CHECK_INT(decode_mixed_with_word(in, len, 0x120, 0x41, &e), ABI_ERR_DIRTY_PADDING); /* "ello" */
    CHECK_INT(decode_mixed_with_word(in, len, 0x120, 0x05, &e), ABI_OK);
    CHECK_INT(decode_mixed_with_byte(in, len, 0x120, 0x01, &e), ABI_ERR_BAD_LENGTH); /* 2^248+4 */
    /* string length word at 0x160: 32 bytes fit exactly ("hello" + 27 zero bytes) */
    CHECK_INT(decode_mixed_with_word(in, len, 0x160, 0x20, &e), ABI_OK);
    CHECK_INT(decode_mixed_with_word(in, len, 0x160, 0x21, &e), ABI_ERR_BAD_LENGTH);
    /* bytes32[] count at 0xc0: 6 words follow it */
    CHECK_INT(decode_mixed_with_word(in, len, 0xc0, 6, &e), ABI_OK); /* reads into later tails */
    CHECK_INT(decode_mixed_with_word(in, len, 0xc0, 7, &e), ABI_ERR_BAD_LENGTH);
    CHECK_MSG(strstr(e.msg, "bytes32[] at offset 192") != NULL, "message: %s", e.msg);
    CHECK_INT(decode_mixed_with_word(in, len, 0xc0, ABI_ARRAY_ITEMS_MAX + 1, &e),
              ABI_ERR_TOO_MANY_ITEMS);
    CHECK_MSG(strstr(e.msg, "4097") != NULL, "message: %s", e.msg);
    CHECK_INT(decode_mixed_with_byte(in, len, 0xc0, 0xff, &e), ABI_ERR_BAD_LENGTH);
    /* dirty padding after "deadbeef" and after "hello" */
    CHECK_INT(decode_mixed_with_byte(in, len, 0x140 + 4, 0x01, &e), ABI_ERR_DIRTY_PADDING);
    CHECK_INT(decode_mixed_with_byte(in, len, 0x180 + 31, 0x01, &e), ABI_ERR_DIRTY_PADDING);
    CHECK_MSG(strstr(e.msg, "abi string at offset 352") != NULL, "message: %s", e.msg);
    free(in);
}

static void test_decode_dirty_words(void)
{
    size_t len = 0;
    uint8_t *in = mixed_bytes(&len);
    if (in == NULL || len != MIXED_LEN)
        return;
    struct err e;
    CHECK_INT(decode_mixed_with_byte(in, len, 0x20, 0x01, &e), ABI_ERR_DIRTY_HIGH_BITS);
    CHECK_MSG(strstr(e.msg, "address word at offset 32") != NULL, "message: %s", e.msg);
    CHECK_INT(decode_mixed_with_byte(in, len, 0x20 + 11, 0x80, &e), ABI_ERR_DIRTY_HIGH_BITS);
    CHECK_INT(decode_mixed_with_byte(in, len, 0x20 + 12, 0x00, &e), ABI_OK);
    CHECK_INT(decode_mixed_with_word(in, len, 0xa0, 2, &e), ABI_ERR_DIRTY_HIGH_BITS); /* bool */
    CHECK_INT(decode_mixed_with_byte(in, len, 0xa0, 0x80, &e), ABI_ERR_DIRTY_HIGH_BITS);
    CHECK_INT(decode_mixed_with_word(in, len, 0xa0, 0, &e), ABI_OK);
    /* uint256 takes any word */
    CHECK_INT(decode_mixed_with_byte(in, len, 0, 0xff, &e), ABI_OK);
    free(in);

    /* uint8 with a bit above 8 bits */
    uint8_t w[64] = {0};
    w[31] = 0xff;
    w[63] = 0x01;
    struct abi_value v[2] = {abi_value_of_type(ABI_TYPE_UINT8), abi_value_of_type(ABI_TYPE_BOOL)};
    CHECK_INT(abi_decode(v, 2, w, 64, NULL), ABI_OK);
    CHECK_INT(v[0].as.uint8, 255);
    CHECK(v[1].as.boolean);
    w[30] = 0x01;
    CHECK_INT(abi_decode(v, 2, w, 64, &e), ABI_ERR_DIRTY_HIGH_BITS);
    CHECK_MSG(strstr(e.msg, "uint8 word at offset 0") != NULL, "message: %s", e.msg);
    /* ...also inside a static tuple */
    w[30] = 0;
    struct abi_value items[2] = {abi_value_of_type(ABI_TYPE_UINT8),
                                 abi_value_of_type(ABI_TYPE_ADDRESS)};
    struct abi_value tup = abi_value_tuple(items, 2);
    w[32] = 0x01;
    CHECK_INT(abi_decode(&tup, 1, w, 64, &e), ABI_ERR_DIRTY_HIGH_BITS);
    CHECK_MSG(strstr(e.msg, "address word at offset 32") != NULL, "message: %s", e.msg);
}

static void test_decode_sizes(void)
{
    size_t len = 0;
    uint8_t *in = mixed_bytes(&len);
    if (in == NULL || len != MIXED_LEN)
        return;
    struct err e;
    CHECK_INT(decode_mixed(in, 0xc0 - 32, &e), ABI_ERR_TRUNCATED);
    CHECK_MSG(strstr(e.msg, "160 bytes") != NULL, "message: %s", e.msg);
    CHECK_INT(decode_mixed(in, 0, &e), ABI_ERR_TRUNCATED);
    CHECK_INT(decode_mixed(in, len - 1, &e), ABI_ERR_UNALIGNED_LENGTH);
    CHECK_INT(decode_mixed(in, len - 32, &e), ABI_ERR_BAD_LENGTH); /* string data cut */
    /* trailing words are tolerated */
    uint8_t *longer = calloc(len + 64, 1);
    memcpy(longer, in, len);
    CHECK_INT(decode_mixed(longer, len + 64, &e), ABI_OK);
    free(longer);
    free(in);

    uint8_t *big = calloc(ABI_DECODE_BYTES_MAX + 32, 1);
    struct abi_value v = abi_value_of_type(ABI_TYPE_UINT256);
    CHECK_INT(abi_decode(&v, 1, big, ABI_DECODE_BYTES_MAX + 32, &e), ABI_ERR_INPUT_TOO_BIG);
    CHECK_INT(abi_decode(&v, 1, big, ABI_DECODE_BYTES_MAX, &e), ABI_OK);
    /* the largest bytes value that fits in the maximum input */
    big[31] = 0x20;
    size_t n = ABI_DECODE_BYTES_MAX - 64;
    for (int i = 0; i < 8; i++)
        big[63 - i] = (uint8_t)(n >> (8 * i));
    struct abi_value bv = abi_value_of_type(ABI_TYPE_BYTES);
    CHECK_INT(abi_decode(&bv, 1, big, ABI_DECODE_BYTES_MAX, &e), ABI_OK);
    CHECK_INT(bv.as.bytes.len, n);
    CHECK(bv.as.bytes.data == big + 64);
    free(big);

    struct abi_value many[ABI_VALUES_MAX + 1];
    for (size_t i = 0; i < ABI_VALUES_MAX + 1; i++)
        many[i] = abi_value_of_type(ABI_TYPE_UINT256);
    uint8_t zeros[32 * (ABI_VALUES_MAX + 1)] = {0};
    CHECK_INT(abi_decode(many, ABI_VALUES_MAX + 1, zeros, sizeof zeros, &e),
              ABI_ERR_TOO_MANY_VALUES);
    CHECK_INT(abi_decode(many, ABI_VALUES_MAX, zeros, sizeof zeros, &e), ABI_OK);
}

static void test_decode_topic(void)
{
    uint8_t topic[32] = {0};
    memcpy(topic + 12, A0.bytes, 20);
    struct abi_value v = abi_value_of_type(ABI_TYPE_ADDRESS);
    CHECK_INT(abi_decode_topic(&v, topic, NULL), ABI_OK);
    CHECK(address_eq(&v.as.address, &A0));
    topic[0] = 1;
    struct err e;
    CHECK_INT(abi_decode_topic(&v, topic, &e), ABI_ERR_DIRTY_HIGH_BITS);
    v = abi_value_of_type(ABI_TYPE_STRING);
    CHECK_INT(abi_decode_topic(&v, topic, &e), ABI_ERR_BAD_TYPE);
    v = abi_value_of_type(ABI_TYPE_BYTES32);
    CHECK_INT(abi_decode_topic(&v, topic, &e), ABI_OK);
    CHECK_MEM(v.as.bytes32, topic, 32);
}

/* ---- encoder limits and type checks ---------------------------------------------------- */

static void test_encode_errors(void)
{
    struct err e;
    struct buf b;
    buf_init(&b, 63);
    struct abi_value two[] = {abi_value_u64(1), abi_value_u64(2)};
    CHECK_INT(abi_encode(&b, two, 2, &e), ABI_ERR_BUF_TOO_BIG);
    CHECK_INT(e.code, ABI_ERR_BUF_TOO_BIG);
    buf_release(&b);

    buf_init(&b, OUT_MAX);
    /* dynamic value inside a tuple */
    struct abi_value inner[] = {abi_value_string("x", 1)};
    struct abi_value tup = abi_value_tuple(inner, 1);
    CHECK_INT(abi_encode(&b, &tup, 1, &e), ABI_ERR_BAD_TYPE);
    CHECK_MSG(strstr(e.msg, "'string' inside a tuple") != NULL, "message: %s", e.msg);
    CHECK_INT(b.len, 0);
    /* tuples nested too deep */
    struct abi_value lvl[ABI_TUPLE_DEPTH_MAX + 2];
    lvl[ABI_TUPLE_DEPTH_MAX + 1] = abi_value_u64(1);
    for (int i = ABI_TUPLE_DEPTH_MAX; i >= 0; i--)
        lvl[i] = abi_value_tuple(&lvl[i + 1], 1);
    CHECK_INT(abi_encode(&b, &lvl[1], 1, &e), ABI_OK); /* depth exactly the maximum */
    CHECK_INT(b.len, 32);
    CHECK_INT(abi_encode(&b, &lvl[0], 1, &e), ABI_ERR_BAD_TYPE);
    /* too many values / items, too big */
    struct abi_value many[ABI_VALUES_MAX + 1];
    for (size_t i = 0; i < ABI_VALUES_MAX + 1; i++)
        many[i] = abi_value_u64(i);
    CHECK_INT(abi_encode(&b, many, ABI_VALUES_MAX + 1, &e), ABI_ERR_TOO_MANY_VALUES);
    struct abi_value arr = abi_value_bytes32_array(HH12, ABI_ARRAY_ITEMS_MAX + 1);
    CHECK_INT(abi_encode(&b, &arr, 1, &e), ABI_ERR_TOO_MANY_ITEMS);
    struct abi_value huge = abi_value_bytes(B70, ABI_VALUE_BYTES_MAX + 1);
    CHECK_INT(abi_encode(&b, &huge, 1, &e), ABI_ERR_VALUE_TOO_BIG);
    struct abi_value bad = abi_value_of_type((enum abi_type)42);
    CHECK_INT(abi_encode(&b, &bad, 1, &e), ABI_ERR_BAD_TYPE);
    CHECK_INT(b.len, 32);

    /* the call signature must match the arguments */
    buf_reset(&b);
    struct abi_value tip[] = {abi_value_bytes32(H[4])};
    CHECK_INT(abi_encode_call(&b, "tip(uint256)", tip, 1, &e), ABI_ERR_SIGNATURE);
    CHECK_MSG(strstr(e.msg, "'tip(uint256)'") != NULL && strstr(e.msg, "'(bytes32)'") != NULL,
              "message: %s", e.msg);
    CHECK_INT(abi_encode_call(&b, "tip(bytes32, uint256)", tip, 1, &e), ABI_ERR_SIGNATURE);
    CHECK_INT(abi_encode_call(&b, "tip", tip, 1, &e), ABI_ERR_SIGNATURE);
    CHECK_INT(abi_encode_call(&b, "(bytes32)", tip, 1, &e), ABI_ERR_SIGNATURE);
    CHECK_INT(b.len, 0);
    struct abi_value t1[] = {abi_value_u64(5), abi_value_address(&A0)};
    struct abi_value tt[] = {abi_value_tuple(t1, 2), abi_value_bytes32_array(NULL, 0)};
    CHECK_INT(abi_format_types(&b, tt, 2, &e), ABI_OK);
    CHECK_STR((const char *)b.data, "((uint256,address),bytes32[])");
    buf_release(&b);

    /* a call that does not fit leaves the buffer as it was */
    buf_init(&b, 4 + 31);
    CHECK_INT(abi_encode_call(&b, "tip(bytes32)", tip, 1, &e), ABI_ERR_BUF_TOO_BIG);
    CHECK_INT(b.len, 0);
    buf_release(&b);
}

/* ---- random round trip ------------------------------------------------------------------ */

static uint8_t rnd_data[4096];

static struct abi_value random_value(uint64_t *rng, struct abi_value *tuple_items, size_t *used,
                                     int depth)
{
    uint64_t t = harness_rand(rng) % (depth > 0 ? 5 : 9);
    uint64_t x = harness_rand(rng);
    size_t len = (size_t)(harness_rand(rng) % 100);
    size_t off = (size_t)(harness_rand(rng) % 2000);
    switch (t) {
    case 0: {
        struct u256 u = {{x, harness_rand(rng), harness_rand(rng), x >> 7}};
        return abi_value_uint256(&u);
    }
    case 1: {
        struct address a;
        memcpy(a.bytes, rnd_data + off, 20);
        return abi_value_address(&a);
    }
    case 2:
        return abi_value_bytes32(rnd_data + off);
    case 3:
        return abi_value_bool(x & 1);
    case 4:
        return abi_value_uint8((uint8_t)x);
    case 5:
        return abi_value_bytes(len ? rnd_data + off : NULL, len);
    case 6:
        return abi_value_string(len ? (const char *)rnd_data + off : NULL, len);
    case 7:
        return abi_value_bytes32_array(len ? rnd_data + off : NULL, len % 20);
    default: {
        size_t n = 1 + (size_t)(x % 3);
        struct abi_value *items = tuple_items + *used;
        *used += n;
        for (size_t i = 0; i < n; i++)
            items[i] = random_value(rng, tuple_items, used, depth + 1);
        return abi_value_tuple(items, n);
    }
    }
}

static void test_random_round_trip(void)
{
    uint64_t rng = harness_seed();
    for (size_t i = 0; i < sizeof rnd_data; i++)
        rnd_data[i] = (uint8_t)harness_rand(&rng);
    struct buf b, again;
    buf_init(&b, OUT_MAX);
    buf_init(&again, OUT_MAX);
    for (int iter = 0; iter < 400; iter++) {
        struct abi_value values[8], tuple_items[8 * 4], got[8];
        size_t used = 0, count = 1 + (size_t)(harness_rand(&rng) % 8);
        for (size_t i = 0; i < count; i++)
            values[i] = random_value(&rng, tuple_items, &used, 0);
        buf_reset(&b);
        buf_reset(&again);
        struct err e;
        CHECK_MSG(abi_encode(&b, values, count, &e) == ABI_OK, "iteration %d: %s", iter, e.msg);
        pool_used = 0;
        CHECK(skeleton(got, values, count));
        CHECK_MSG(abi_decode(got, count, b.data, b.len, &e) == ABI_OK, "iteration %d: %s", iter,
                  e.msg);
        for (size_t i = 0; i < count; i++)
            CHECK_MSG(value_equal(&got[i], &values[i]), "iteration %d value %zu", iter, i);
        CHECK(abi_encode(&again, got, count, NULL) == ABI_OK);
        CHECK(again.len == b.len && memcmp(again.data, b.data, b.len) == 0);
        /* dropping the last word always breaks a canonical encoding */
        pool_used = 0;
        CHECK(skeleton(got, values, count));
        CHECK_MSG(abi_decode(got, count, b.data, b.len - 32, &e) != ABI_OK,
                  "iteration %d: truncated input decoded", iter);
        /* random corruption: any outcome but a crash; failures carry a message */
        uint8_t *m = malloc(b.len);
        memcpy(m, b.data, b.len);
        m[harness_rand(&rng) % b.len] ^= (uint8_t)(1u << (harness_rand(&rng) % 8));
        err_clear(&e);
        pool_used = 0;
        CHECK(skeleton(got, values, count));
        enum abi_result r = abi_decode(got, count, m, b.len, &e);
        CHECK(r == ABI_OK || (e.code == (int)r && e.msg[0] != '\0'));
        free(m);
    }
    buf_release(&b);
    buf_release(&again);
}

int main(void)
{
    bool loaded = vec_file_load(&vecs, VEC_PATH) && values_init();
    CHECK(loaded);
    if (!loaded) {
        harness_failed++;
        return harness_finish();
    }
    RUN(test_cast_encode);
    RUN(test_cast_calldata);
    RUN(test_cast_selectors_topics);
    RUN(test_decode_offsets);
    RUN(test_decode_lengths);
    RUN(test_decode_dirty_words);
    RUN(test_decode_sizes);
    RUN(test_decode_topic);
    RUN(test_encode_errors);
    RUN(test_random_round_trip);
    RUN(test_cast_all_vectors_used);
    vec_file_release(&vecs);
    return harness_finish();
}
