/*
 * test_rlp.c - RLP encoder and strict decoder.
 *
 * Known answers are the examples from the Ethereum wiki / yellow paper RLP
 * page. A seeded random test builds nested lists two independent ways
 * (incremental back-patching and payload wrapping), decodes them, and
 * re-encodes the decoded tree. Every decoder error path is checked for its
 * exact result code.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "rlp.h"

#define OUT_MAX ((size_t)4 << 20)

static const char lorem[] = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";

static bool encoded_equals(struct buf *b, const uint8_t *want, size_t want_len)
{
    return b->len == want_len && memcmp(b->data, want, want_len) == 0;
}

/* Decodes `in` and expects exactly `code`; returns true on a match. */
static bool decode_expect(const uint8_t *in, size_t in_len, enum rlp_result code)
{
    struct rlp_item root;
    struct err e;
    err_clear(&e);
    enum rlp_result r = rlp_decode(&root, in, in_len, &e);
    if (r != code)
        fprintf(stdout, "#   rlp_decode gave %d (%s), want %d\n", (int)r, e.msg, (int)code);
    if (r != RLP_OK && (e.code != (int)r || e.msg[0] == '\0'))
        return false;
    return r == code;
}

static void test_wiki_strings(void)
{
    struct buf b;
    buf_init(&b, OUT_MAX);
    CHECK_INT(rlp_encode_bytes(&b, (const uint8_t *)"dog", 3), RLP_OK);
    CHECK(encoded_equals(&b,
                         (const uint8_t *)"\x83"
                                          "dog",
                         4));

    buf_reset(&b);
    CHECK_INT(rlp_encode_bytes(&b, NULL, 0), RLP_OK);
    CHECK(encoded_equals(&b, (const uint8_t *)"\x80", 1));

    buf_reset(&b);
    CHECK_INT(rlp_encode_bytes(&b, (const uint8_t *)"\x00", 1), RLP_OK);
    CHECK(encoded_equals(&b, (const uint8_t *)"\x00", 1));

    buf_reset(&b);
    CHECK_INT(rlp_encode_bytes(&b, (const uint8_t *)"\x0f", 1), RLP_OK);
    CHECK(encoded_equals(&b, (const uint8_t *)"\x0f", 1));

    buf_reset(&b);
    CHECK_INT(rlp_encode_bytes(&b, (const uint8_t *)"\x04\x00", 2), RLP_OK);
    CHECK(encoded_equals(&b, (const uint8_t *)"\x82\x04\x00", 3));

    buf_reset(&b);
    CHECK_INT(rlp_encode_bytes(&b, (const uint8_t *)"\x80", 1), RLP_OK);
    CHECK(encoded_equals(&b, (const uint8_t *)"\x81\x80", 2));

    CHECK_INT(strlen(lorem), 56);
    buf_reset(&b);
    CHECK_INT(rlp_encode_bytes(&b, (const uint8_t *)lorem, 56), RLP_OK);
    CHECK_INT(b.len, 58);
    CHECK_INT(b.data[0], 0xb8);
    CHECK_INT(b.data[1], 0x38);
    CHECK_MEM(b.data + 2, lorem, 56);

    /* 55 bytes is the last short form */
    buf_reset(&b);
    CHECK_INT(rlp_encode_bytes(&b, (const uint8_t *)lorem, 55), RLP_OK);
    CHECK_INT(b.len, 56);
    CHECK_INT(b.data[0], 0x80 + 55);

    uint8_t big[1024];
    memset(big, 0xab, sizeof big);
    buf_reset(&b);
    CHECK_INT(rlp_encode_bytes(&b, big, sizeof big), RLP_OK);
    CHECK_INT(b.len, 1027);
    CHECK(memcmp(b.data, "\xb9\x04\x00", 3) == 0);
    buf_release(&b);
}

static void test_wiki_integers(void)
{
    static const struct {
        uint64_t v;
        const char *enc;
        size_t enc_len;
    } cases[] = {
        {0, "\x80", 1},
        {15, "\x0f", 1},
        {127, "\x7f", 1},
        {128, "\x81\x80", 2},
        {256, "\x82\x01\x00", 3},
        {1024, "\x82\x04\x00", 3},
        {0xffffff, "\x83\xff\xff\xff", 4},
        {UINT64_MAX, "\x88\xff\xff\xff\xff\xff\xff\xff\xff", 9},
    };
    struct buf b;
    buf_init(&b, OUT_MAX);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf_reset(&b);
        CHECK_INT(rlp_encode_u64(&b, cases[i].v), RLP_OK);
        CHECK_MSG(encoded_equals(&b, (const uint8_t *)cases[i].enc, cases[i].enc_len), "u64 %llu",
                  (unsigned long long)cases[i].v);

        buf_reset(&b);
        struct u256 u = u256_from_u64(cases[i].v);
        CHECK_INT(rlp_encode_u256(&b, &u), RLP_OK);
        CHECK_MSG(encoded_equals(&b, (const uint8_t *)cases[i].enc, cases[i].enc_len), "u256 %llu",
                  (unsigned long long)cases[i].v);

        struct rlp_item item;
        CHECK_INT(rlp_decode(&item, b.data, b.len, NULL), RLP_OK);
        uint64_t back = 1;
        CHECK_INT(rlp_item_to_u64(&back, &item, NULL), RLP_OK);
        CHECK(back == cases[i].v);
        struct u256 back256;
        CHECK_INT(rlp_item_to_u256(&back256, &item, NULL), RLP_OK);
        CHECK_INT(u256_cmp(&back256, &u), 0);
    }

    /* 2^256 - 1 is 0xa0 followed by 32 0xff */
    uint8_t ff[32];
    memset(ff, 0xff, sizeof ff);
    struct u256 max = u256_from_be32(ff);
    buf_reset(&b);
    CHECK_INT(rlp_encode_u256(&b, &max), RLP_OK);
    CHECK_INT(b.len, 33);
    CHECK_INT(b.data[0], 0xa0);
    CHECK_MEM(b.data + 1, ff, 32);
    struct rlp_item item;
    struct u256 back;
    CHECK_INT(rlp_decode(&item, b.data, b.len, NULL), RLP_OK);
    CHECK_INT(rlp_item_to_u256(&back, &item, NULL), RLP_OK);
    CHECK_INT(u256_cmp(&back, &max), 0);
    uint64_t small;
    CHECK_INT(rlp_item_to_u64(&small, &item, NULL), RLP_ERR_INT_TOO_BIG);
    buf_release(&b);
}

static void test_wiki_lists(void)
{
    struct buf b;
    buf_init(&b, OUT_MAX);

    /* [] */
    struct rlp_list l0;
    CHECK_INT(rlp_list_begin(&l0, &b), RLP_OK);
    CHECK_INT(rlp_list_end(&l0, &b), RLP_OK);
    CHECK(encoded_equals(&b, (const uint8_t *)"\xc0", 1));

    /* ["cat", "dog"] both ways */
    static const uint8_t cat_dog[] = "\xc8\x83"
                                     "cat\x83"
                                     "dog";
    buf_reset(&b);
    CHECK_INT(rlp_list_begin(&l0, &b), RLP_OK);
    CHECK_INT(rlp_encode_bytes(&b, (const uint8_t *)"cat", 3), RLP_OK);
    CHECK_INT(rlp_encode_bytes(&b, (const uint8_t *)"dog", 3), RLP_OK);
    CHECK_INT(rlp_list_end(&l0, &b), RLP_OK);
    CHECK(encoded_equals(&b, cat_dog, 9));
    buf_reset(&b);
    CHECK_INT(rlp_encode_list_payload(&b, cat_dog + 1, 8), RLP_OK);
    CHECK(encoded_equals(&b, cat_dog, 9));

    /* [ [], [[]], [ [], [[]] ] ] */
    static const uint8_t set3[] = {0xc7, 0xc0, 0xc1, 0xc0, 0xc3, 0xc0, 0xc1, 0xc0};
    struct rlp_list outer, a, bb, c, d, f;
    buf_reset(&b);
    CHECK_INT(rlp_list_begin(&outer, &b), RLP_OK);
    CHECK_INT(rlp_list_begin(&a, &b), RLP_OK);
    CHECK_INT(rlp_list_end(&a, &b), RLP_OK);
    CHECK_INT(rlp_list_begin(&bb, &b), RLP_OK);
    CHECK_INT(rlp_list_begin(&c, &b), RLP_OK);
    CHECK_INT(rlp_list_end(&c, &b), RLP_OK);
    CHECK_INT(rlp_list_end(&bb, &b), RLP_OK);
    CHECK_INT(rlp_list_begin(&c, &b), RLP_OK);
    CHECK_INT(rlp_list_begin(&d, &b), RLP_OK);
    CHECK_INT(rlp_list_end(&d, &b), RLP_OK);
    CHECK_INT(rlp_list_begin(&d, &b), RLP_OK);
    CHECK_INT(rlp_list_begin(&f, &b), RLP_OK);
    CHECK_INT(rlp_list_end(&f, &b), RLP_OK);
    CHECK_INT(rlp_list_end(&d, &b), RLP_OK);
    CHECK_INT(rlp_list_end(&c, &b), RLP_OK);
    CHECK_INT(rlp_list_end(&outer, &b), RLP_OK);
    CHECK(encoded_equals(&b, set3, sizeof set3));

    struct rlp_item root, items[4];
    size_t n = 0;
    CHECK_INT(rlp_decode(&root, set3, sizeof set3, NULL), RLP_OK);
    CHECK_INT(root.kind, RLP_KIND_LIST);
    CHECK_INT(rlp_list_items(items, 4, &n, &root, NULL), RLP_OK);
    CHECK_INT(n, 3);
    CHECK_INT(items[0].payload_len, 0);
    CHECK_INT(items[1].payload_len, 1);
    CHECK_INT(items[2].payload_len, 3);
    CHECK_INT(items[2].offset, 4);

    /* a list with a 55-byte payload is the last short form: [54-byte string] */
    buf_reset(&b);
    CHECK_INT(rlp_list_begin(&outer, &b), RLP_OK);
    CHECK_INT(rlp_encode_bytes(&b, (const uint8_t *)lorem, 54), RLP_OK);
    CHECK_INT(rlp_list_end(&outer, &b), RLP_OK);
    CHECK_INT(b.len, 56);
    CHECK_INT(b.data[0], 0xf7);
    CHECK_INT(b.data[1], 0x80 + 54);

    /* a list with a 56-byte payload needs the long form: ["Lorem..."[0..54]] is
     * 56 bytes of payload (1 header + 55) */
    buf_reset(&b);
    CHECK_INT(rlp_list_begin(&outer, &b), RLP_OK);
    CHECK_INT(rlp_encode_bytes(&b, (const uint8_t *)lorem, 55), RLP_OK);
    CHECK_INT(rlp_list_end(&outer, &b), RLP_OK);
    CHECK_INT(b.len, 58);
    CHECK_INT(b.data[0], 0xf8);
    CHECK_INT(b.data[1], 56);
    CHECK_INT(b.data[2], 0x80 + 55);
    CHECK_MEM(b.data + 3, lorem, 55);
    buf_release(&b);
}

/* ---- random round trip ---------------------------------------------------- */

/* Encodes a random tree into `inc` (begin/end) and `wrapped` (payload
 * wrapping, built bottom-up in a scratch buf) at the same time. */
static bool gen_tree(struct buf *inc, struct buf *wrapped, uint64_t *rng, int depth)
{
    uint64_t pick = harness_rand(rng) % 10;
    if (depth >= 5 || pick < 6) {
        uint8_t s[300];
        size_t len_choice = harness_rand(rng) % 6;
        size_t lens[] = {0, 1, 2, 55, 56, 300};
        size_t len = lens[len_choice];
        for (size_t i = 0; i < len; i++)
            s[i] = (uint8_t)harness_rand(rng);
        return rlp_encode_bytes(inc, s, len) == RLP_OK &&
               rlp_encode_bytes(wrapped, s, len) == RLP_OK;
    }
    struct rlp_list l;
    struct buf inner;
    buf_init(&inner, OUT_MAX);
    bool ok = rlp_list_begin(&l, inc) == RLP_OK;
    size_t n = harness_rand(rng) % 8;
    for (size_t i = 0; ok && i < n; i++)
        ok = gen_tree(inc, &inner, rng, depth + 1);
    ok = ok && rlp_list_end(&l, inc) == RLP_OK;
    ok = ok && rlp_encode_list_payload(wrapped, inner.data, inner.len) == RLP_OK;
    buf_release(&inner);
    return ok;
}

/* Re-encodes a decoded item through the public decoder API. */
static bool reencode(struct buf *out, const struct rlp_item *item, int depth)
{
    if (depth > RLP_DEPTH_MAX)
        return false;
    if (item->kind == RLP_KIND_STRING)
        return rlp_encode_bytes(out, item->payload, item->payload_len) == RLP_OK;
    struct rlp_item *kids = calloc(RLP_ITEMS_MAX, sizeof *kids);
    size_t n = 0;
    bool ok = kids != NULL && rlp_list_items(kids, RLP_ITEMS_MAX, &n, item, NULL) == RLP_OK;
    struct rlp_list l;
    ok = ok && rlp_list_begin(&l, out) == RLP_OK;
    for (size_t i = 0; ok && i < n; i++)
        ok = reencode(out, &kids[i], depth + 1);
    ok = ok && rlp_list_end(&l, out) == RLP_OK;
    free(kids);
    return ok;
}

static void test_random_round_trip(void)
{
    uint64_t rng = harness_seed();
    struct buf inc, wrapped, again;
    buf_init(&inc, OUT_MAX);
    buf_init(&wrapped, OUT_MAX);
    buf_init(&again, OUT_MAX);
    for (int iter = 0; iter < 300; iter++) {
        buf_reset(&inc);
        buf_reset(&wrapped);
        buf_reset(&again);
        CHECK(gen_tree(&inc, &wrapped, &rng, 0));
        CHECK_MSG(inc.len == wrapped.len && memcmp(inc.data, wrapped.data, inc.len) == 0,
                  "iteration %d: begin/end and payload encodings differ", iter);
        struct rlp_item root;
        struct err e;
        CHECK_MSG(rlp_decode(&root, inc.data, inc.len, &e) == RLP_OK, "iteration %d: %s", iter,
                  e.msg);
        CHECK(reencode(&again, &root, 1));
        CHECK_MSG(again.len == inc.len && memcmp(again.data, inc.data, inc.len) == 0,
                  "iteration %d: re-encoding differs", iter);
    }
    buf_release(&inc);
    buf_release(&wrapped);
    buf_release(&again);
}

/* ---- decoder errors --------------------------------------------------------- */

static void test_decode_ok_vectors(void)
{
    CHECK(decode_expect((const uint8_t *)"\x83"
                                         "dog",
                        4, RLP_OK));
    CHECK(decode_expect((const uint8_t *)"\x80", 1, RLP_OK));
    CHECK(decode_expect((const uint8_t *)"\xc0", 1, RLP_OK));
    CHECK(decode_expect((const uint8_t *)"\x00", 1, RLP_OK));
    CHECK(decode_expect((const uint8_t *)"\x81\x80", 2, RLP_OK));
    struct rlp_item item;
    CHECK_INT(rlp_decode(&item,
                         (const uint8_t *)"\x83"
                                          "dog",
                         4, NULL),
              RLP_OK);
    CHECK_INT(item.kind, RLP_KIND_STRING);
    CHECK_INT(item.payload_len, 3);
    CHECK_MEM(item.payload, "dog", 3);
    CHECK_INT(rlp_decode(&item, (const uint8_t *)"\x7a", 1, NULL), RLP_OK);
    CHECK_INT(item.payload_len, 1);
    CHECK_INT(item.payload[0], 0x7a);
}

static void test_decode_truncated(void)
{
    CHECK(decode_expect((const uint8_t *)"\x83"
                                         "do",
                        3, RLP_ERR_TRUNCATED));
    CHECK(decode_expect((const uint8_t *)"\xb8", 1, RLP_ERR_TRUNCATED));
    CHECK(decode_expect((const uint8_t *)"\xb9\x01", 2, RLP_ERR_TRUNCATED));
    CHECK(decode_expect((const uint8_t *)"\x81", 1, RLP_ERR_TRUNCATED));
    CHECK(decode_expect((const uint8_t *)"\xc8\x83"
                                         "cat\x83"
                                         "do",
                        8, RLP_ERR_TRUNCATED));
    CHECK(decode_expect((const uint8_t *)"\xf8", 1, RLP_ERR_TRUNCATED));
    /* inner list claims 2 bytes; its string item needs 4: runs past its list */
    static const uint8_t inner[] = {0xc4, 0xc2, 0x83, 'a', 'b'};
    CHECK(decode_expect(inner, sizeof inner, RLP_ERR_TRUNCATED));
    struct err e;
    struct rlp_item root;
    CHECK_INT(rlp_decode(&root, inner, sizeof inner, &e), RLP_ERR_TRUNCATED);
    CHECK_INT(e.code, RLP_ERR_TRUNCATED);
    CHECK_MSG(strstr(e.msg, "offset 2") != NULL, "message: %s", e.msg);
    CHECK_MSG(strncmp(e.msg, "truncated rlp", 13) == 0, "message: %s", e.msg);
    CHECK(decode_expect((const uint8_t *)"", 0, RLP_ERR_EMPTY));
}

static void test_decode_non_canonical(void)
{
    /* long form used for a 5-byte string */
    CHECK(decode_expect((const uint8_t *)"\xb8\x05hello", 7, RLP_ERR_NON_CANONICAL_LENGTH));
    /* long form used for 55 bytes, the largest short length */
    uint8_t l55[2 + 55];
    l55[0] = 0xb8;
    l55[1] = 55;
    memset(l55 + 2, 'y', 55);
    CHECK(decode_expect(l55, sizeof l55, RLP_ERR_NON_CANONICAL_LENGTH));
    l55[0] = 0xf8;
    memset(l55 + 2, 0x01, 55);
    CHECK(decode_expect(l55, sizeof l55, RLP_ERR_NON_CANONICAL_LENGTH));
    l55[1] = 56; /* one byte short of its declared 56 */
    CHECK(decode_expect(l55, sizeof l55, RLP_ERR_TRUNCATED));
    /* long form used for a 2-byte list */
    CHECK(decode_expect((const uint8_t *)"\xf8\x02\x80\x80", 4, RLP_ERR_NON_CANONICAL_LENGTH));
    /* length with a leading zero byte */
    uint8_t lz[3 + 56];
    lz[0] = 0xb9;
    lz[1] = 0x00;
    lz[2] = 0x38;
    memset(lz + 3, 'x', 56);
    CHECK(decode_expect(lz, sizeof lz, RLP_ERR_NON_CANONICAL_LENGTH));
    lz[0] = 0xf9;
    CHECK(decode_expect(lz, sizeof lz, RLP_ERR_NON_CANONICAL_LENGTH));
    /* single byte < 0x80 encoded as a string */
    CHECK(decode_expect((const uint8_t *)"\x81\x05", 2, RLP_ERR_NON_CANONICAL_BYTE));
    CHECK(decode_expect((const uint8_t *)"\x81\x00", 2, RLP_ERR_NON_CANONICAL_BYTE));
    CHECK(decode_expect((const uint8_t *)"\x81\x7f", 2, RLP_ERR_NON_CANONICAL_BYTE));
    /* ...also when nested */
    CHECK(decode_expect((const uint8_t *)"\xc3\x80\x81\x05", 4, RLP_ERR_NON_CANONICAL_BYTE));
    struct err e;
    struct rlp_item root;
    CHECK_INT(rlp_decode(&root, (const uint8_t *)"\xc3\x80\x81\x05", 4, &e),
              RLP_ERR_NON_CANONICAL_BYTE);
    CHECK_MSG(strstr(e.msg, "offset 2") != NULL && strstr(e.msg, "0x05") != NULL, "message: %s",
              e.msg);
}

static void test_decode_oversized(void)
{
    /* declared lengths far beyond the maximum */
    CHECK(decode_expect((const uint8_t *)"\xbf\xff\xff\xff\xff\xff\xff\xff\xff", 9,
                        RLP_ERR_OVERSIZED));
    CHECK(decode_expect((const uint8_t *)"\xbb\x7f\xff\xff\xff", 5, RLP_ERR_OVERSIZED));
    CHECK(decode_expect((const uint8_t *)"\xfb\x01\x00\x00\x01", 5, RLP_ERR_OVERSIZED));
    /* exactly the maximum declared, but missing: truncated, not oversized */
    CHECK(decode_expect((const uint8_t *)"\xba\x10\x00\x00", 4, RLP_ERR_TRUNCATED));
    /* input above RLP_INPUT_BYTES_MAX */
    size_t n = RLP_INPUT_BYTES_MAX + 1;
    uint8_t *big = calloc(n, 1);
    CHECK(big != NULL);
    if (big != NULL) {
        CHECK(decode_expect(big, n, RLP_ERR_OVERSIZED));
        /* the largest allowed document decodes: a string of max - 4 bytes */
        size_t payload = RLP_INPUT_BYTES_MAX - 4;
        big[0] = 0xbb;
        big[1] = (uint8_t)(payload >> 24);
        big[2] = (uint8_t)(payload >> 16);
        big[3] = (uint8_t)(payload >> 8);
        big[4] = (uint8_t)payload;
        CHECK(decode_expect(big, RLP_INPUT_BYTES_MAX + 1, RLP_ERR_OVERSIZED));
        big[0] = 0xba;
        payload = RLP_INPUT_BYTES_MAX - 4;
        big[1] = (uint8_t)(payload >> 16);
        big[2] = (uint8_t)(payload >> 8);
        big[3] = (uint8_t)payload;
        CHECK(decode_expect(big, RLP_INPUT_BYTES_MAX, RLP_OK));
        free(big);
    }
}

static void nested_empty_lists(uint8_t *out, size_t depth)
{
    for (size_t i = 0; i < depth; i++)
        out[i] = (uint8_t)(0xc0 + (depth - 1 - i));
}

static void test_decode_depth(void)
{
    uint8_t deep[RLP_DEPTH_MAX + 1];
    nested_empty_lists(deep, RLP_DEPTH_MAX);
    CHECK(decode_expect(deep, RLP_DEPTH_MAX, RLP_OK));
    nested_empty_lists(deep, RLP_DEPTH_MAX + 1);
    CHECK(decode_expect(deep, RLP_DEPTH_MAX + 1, RLP_ERR_TOO_DEEP));
    struct err e;
    struct rlp_item root;
    CHECK_INT(rlp_decode(&root, deep, sizeof deep, &e), RLP_ERR_TOO_DEEP);
    CHECK_MSG(strstr(e.msg, "offset 16") != NULL && strstr(e.msg, "too deep") != NULL,
              "message: %s", e.msg);
}

static void test_decode_trailing(void)
{
    CHECK(decode_expect((const uint8_t *)"\x80\x80", 2, RLP_ERR_TRAILING));
    CHECK(decode_expect((const uint8_t *)"\x83"
                                         "dog\x00",
                        5, RLP_ERR_TRAILING));
    CHECK(decode_expect((const uint8_t *)"\xc0\xc0", 2, RLP_ERR_TRAILING));
    struct err e;
    struct rlp_item root;
    CHECK_INT(rlp_decode(&root,
                         (const uint8_t *)"\x83"
                                          "dog\x00",
                         5, &e),
              RLP_ERR_TRAILING);
    CHECK_MSG(strstr(e.msg, "1 bytes at offset 4") != NULL, "message: %s", e.msg);
}

static void test_decode_items_max(void)
{
    struct buf b;
    buf_init(&b, OUT_MAX);
    struct rlp_list l;
    CHECK_INT(rlp_list_begin(&l, &b), RLP_OK);
    for (int i = 0; i < RLP_ITEMS_MAX; i++)
        CHECK_INT(rlp_encode_u64(&b, 0), RLP_OK);
    CHECK_INT(rlp_list_end(&l, &b), RLP_OK);
    CHECK(decode_expect(b.data, b.len, RLP_OK));
    buf_reset(&b);
    CHECK_INT(rlp_list_begin(&l, &b), RLP_OK);
    for (int i = 0; i < RLP_ITEMS_MAX + 1; i++)
        CHECK_INT(rlp_encode_u64(&b, 0), RLP_OK);
    CHECK_INT(rlp_list_end(&l, &b), RLP_OK);
    CHECK(decode_expect(b.data, b.len, RLP_ERR_TOO_MANY_ITEMS));
    buf_release(&b);

    /* caller's array too small */
    struct rlp_item root, items[1];
    size_t n = 99;
    static const uint8_t cat_dog[] = "\xc8\x83"
                                     "cat\x83"
                                     "dog";
    CHECK_INT(rlp_decode(&root, cat_dog, 9, NULL), RLP_OK);
    CHECK_INT(rlp_list_items(items, 1, &n, &root, NULL), RLP_ERR_TOO_MANY_ITEMS);
    CHECK_INT(n, 99);
}

static void test_item_accessors(void)
{
    struct rlp_item item;
    uint64_t v = 7;
    struct u256 u;
    CHECK_INT(rlp_decode(&item, (const uint8_t *)"\x00", 1, NULL), RLP_OK);
    CHECK_INT(rlp_item_to_u64(&v, &item, NULL), RLP_ERR_NON_CANONICAL_INT);
    CHECK_INT(rlp_decode(&item, (const uint8_t *)"\x82\x00\x01", 3, NULL), RLP_OK);
    struct err e;
    CHECK_INT(rlp_item_to_u64(&v, &item, &e), RLP_ERR_NON_CANONICAL_INT);
    CHECK_MSG(strstr(e.msg, "leading zero") != NULL, "message: %s", e.msg);
    CHECK_INT(rlp_item_to_u256(&u, &item, NULL), RLP_ERR_NON_CANONICAL_INT);
    CHECK_INT(v, 7);
    CHECK_INT(
        rlp_decode(&item, (const uint8_t *)"\x89\x01\x02\x03\x04\x05\x06\x07\x08\x09", 10, NULL),
        RLP_OK);
    CHECK_INT(rlp_item_to_u64(&v, &item, NULL), RLP_ERR_INT_TOO_BIG);
    CHECK_INT(rlp_item_to_u256(&u, &item, NULL), RLP_OK);
    uint8_t be[33];
    be[0] = 0xa1;
    memset(be + 1, 0x11, 32);
    CHECK_INT(rlp_decode(&item, (const uint8_t *)"\xa1", 0, NULL), RLP_ERR_EMPTY);
    uint8_t wide[34];
    wide[0] = 0xa1;
    memset(wide + 1, 0x11, 33);
    CHECK_INT(rlp_decode(&item, wide, sizeof wide, NULL), RLP_OK);
    CHECK_INT(rlp_item_to_u256(&u, &item, NULL), RLP_ERR_INT_TOO_BIG);
    CHECK_INT(rlp_decode(&item, (const uint8_t *)"\xc0", 1, NULL), RLP_OK);
    CHECK_INT(rlp_item_to_u64(&v, &item, NULL), RLP_ERR_WRONG_KIND);
    uint8_t fixed[3];
    CHECK_INT(rlp_item_to_fixed(fixed, 3, &item, NULL), RLP_ERR_WRONG_KIND);
    CHECK_INT(rlp_decode(&item,
                         (const uint8_t *)"\x83"
                                          "dog",
                         4, NULL),
              RLP_OK);
    CHECK_INT(rlp_item_to_fixed(fixed, 3, &item, NULL), RLP_OK);
    CHECK_MEM(fixed, "dog", 3);
    CHECK_INT(rlp_item_to_fixed(be, 4, &item, NULL), RLP_ERR_WRONG_LENGTH);
    struct rlp_item items[2];
    size_t n;
    CHECK_INT(rlp_list_items(items, 2, &n, &item, NULL), RLP_ERR_WRONG_KIND);
}

static void test_encoder_limits(void)
{
    struct buf b;
    buf_init(&b, 3);
    CHECK_INT(rlp_encode_bytes(&b, (const uint8_t *)"dog", 3), RLP_ERR_BUF_TOO_BIG);
    buf_release(&b);

    /* a list that fits with a 1-byte header but not with the long form */
    buf_init(&b, 57);
    struct rlp_list l;
    CHECK_INT(rlp_list_begin(&l, &b), RLP_OK);
    CHECK_INT(rlp_encode_bytes(&b, (const uint8_t *)lorem, 55), RLP_OK);
    CHECK_INT(b.len, 57);
    CHECK_INT(rlp_list_end(&l, &b), RLP_ERR_BUF_TOO_BIG);
    buf_release(&b);

    buf_init(&b, 58);
    CHECK_INT(rlp_list_begin(&l, &b), RLP_OK);
    CHECK_INT(rlp_encode_bytes(&b, (const uint8_t *)lorem, 55), RLP_OK);
    CHECK_INT(rlp_list_end(&l, &b), RLP_OK);
    CHECK(decode_expect(b.data, b.len, RLP_OK));
    buf_release(&b);
}

int main(void)
{
    RUN(test_wiki_strings);
    RUN(test_wiki_integers);
    RUN(test_wiki_lists);
    RUN(test_random_round_trip);
    RUN(test_decode_ok_vectors);
    RUN(test_decode_truncated);
    RUN(test_decode_non_canonical);
    RUN(test_decode_oversized);
    RUN(test_decode_depth);
    RUN(test_decode_trailing);
    RUN(test_decode_items_max);
    RUN(test_item_accessors);
    RUN(test_encoder_limits);
    return harness_finish();
}
