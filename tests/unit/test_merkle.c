/*
 * test_merkle.c - services/common/merkle.c against @openzeppelin/merkle-tree.
 *
 * The reference vectors (tests/vectors/merkle_oz.json, written by
 * tests/vectors/gen_merkle.js from StandardMerkleTree.of) give, for trees of
 * 1, 2, 3, 7 and 1000 leaves of both leaf formats, every leaf's values, OZ's
 * leaf hash and OZ's proof, and the root. We recompute all of them from the
 * values and compare byte for byte. Random trees are checked against a
 * straightforward model of OZ's algorithm. Run from the repository root.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "harness.h"
#include "hex.h"
#include "keccak.h"
#include "merkle.h"

#define VECTORS_PATH "tests/vectors/merkle_oz.json"

static json_t *vectors;
static uint64_t rng_state;

/* ---- helpers ------------------------------------------------------------------ */

/* "0x" + exactly 2*len hex digits -> out. Returns 1 on success. */
static int parse_hex(uint8_t *out, size_t len, const char *s)
{
    if (s == NULL || s[0] != '0' || s[1] != 'x' || strlen(s) != 2 + 2 * len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        int hi = hex_digit_value(s[2 + 2 * i]), lo = hex_digit_value(s[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return 0;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 1;
}

/* Decimal string (at most 78 digits) -> 32-byte big-endian; 0 on overflow/junk. */
static int parse_dec_be32(uint8_t out[32], const char *s)
{
    if (s == NULL || *s == '\0' || strlen(s) > 78)
        return 0;
    memset(out, 0, 32);
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        unsigned carry = (unsigned)(*s - '0');
        for (size_t i = 32; i-- > 0;) {
            unsigned v = out[i] * 10u + carry;
            out[i] = (uint8_t)(v & 0xff);
            carry = v >> 8;
        }
        if (carry)
            return 0;
    }
    return 1;
}

/* Leaf hash of one vector value, by the tree's leaf format. Returns 1 on success. */
static int leaf_of_value(uint8_t out[32], const char *tree_name, json_t *value)
{
    if (strncmp(tree_name, "settlement-", 11) == 0) {
        uint8_t account[20], amount[32];
        if (json_array_size(value) != 2 ||
            !parse_hex(account, 20, json_string_value(json_array_get(value, 0))) ||
            !parse_dec_be32(amount, json_string_value(json_array_get(value, 1))))
            return 0;
        merkle_leaf_settlement(out, account, amount);
        return 1;
    }
    uint8_t rendition[32], sequence[32], sha[32];
    if (json_array_size(value) != 3 ||
        !parse_dec_be32(rendition, json_string_value(json_array_get(value, 0))) ||
        !parse_dec_be32(sequence, json_string_value(json_array_get(value, 1))) ||
        !parse_hex(sha, 32, json_string_value(json_array_get(value, 2))))
        return 0;
    merkle_leaf_recording(out, rendition, sequence, sha);
    return 1;
}

static json_t *find_tree(const char *name)
{
    json_t *trees = json_object_get(vectors, "trees");
    for (size_t i = 0; i < json_array_size(trees); i++) {
        json_t *t = json_array_get(trees, i);
        if (strcmp(json_string_value(json_object_get(t, "name")), name) == 0)
            return t;
    }
    return NULL;
}

/* Leaf hashes of a vector tree in input order (malloc'd, caller frees). */
static uint8_t (*vector_leaves(json_t *tree, size_t *n))[32]
{
    const char *name = json_string_value(json_object_get(tree, "name"));
    json_t *leaves = json_object_get(tree, "leaves");
    *n = json_array_size(leaves);
    uint8_t(*out)[32] = calloc(*n ? *n : 1, 32);
    for (size_t i = 0; out && i < *n; i++)
        if (!leaf_of_value(out[i], name, json_object_get(json_array_get(leaves, i), "value")))
            memset(out[i], 0, 32);
    return out;
}

/* Builds *t from the leaves of vector `tree` and fills its root. Returns the
 * leaves (malloc'd: the caller frees them after merkle_tree_release()). */
static uint8_t (*build_vector_tree(struct merkle_tree *t, uint8_t root[32], json_t *tree))[32]
{
    size_t n = 0;
    uint8_t(*leaves)[32] = vector_leaves(tree, &n);
    CHECK_INT(merkle_tree_build(t, (const uint8_t(*)[32])leaves, n, NULL), MERKLE_OK);
    merkle_tree_root(root, t);
    return leaves;
}

/* Checks one vector tree completely; returns the number of leaves checked. */
static size_t check_vector_tree(json_t *tree)
{
    const char *name = json_string_value(json_object_get(tree, "name"));
    json_t *jleaves = json_object_get(tree, "leaves");
    size_t n = 0;
    uint8_t(*leaves)[32] = vector_leaves(tree, &n);
    CHECK(leaves != NULL && n > 0);
    if (leaves == NULL)
        return 0;

    uint8_t want_root[32], root[32];
    CHECK(parse_hex(want_root, 32, json_string_value(json_object_get(tree, "root"))));
    struct merkle_tree t;
    struct err e = {0};
    CHECK_INT(merkle_tree_build(&t, (const uint8_t(*)[32])leaves, n, &e), MERKLE_OK);
    merkle_tree_root(root, &t);
    CHECK_MSG(memcmp(root, want_root, 32) == 0, "root of %s differs from OZ", name);
    CHECK_INT(t.node_count, 2 * n - 1);

    for (size_t i = 0; i < n; i++) {
        json_t *jl = json_array_get(jleaves, i);
        uint8_t want_hash[32];
        CHECK(parse_hex(want_hash, 32, json_string_value(json_object_get(jl, "hash"))));
        CHECK_MSG(memcmp(leaves[i], want_hash, 32) == 0, "%s leaf %zu hash differs", name, i);

        uint8_t proof[MERKLE_PROOF_MAX][32];
        size_t proof_len = 99;
        CHECK_INT(merkle_tree_proof(proof, MERKLE_PROOF_MAX, &proof_len, &t,
                                    (const uint8_t *)leaves[i], &e),
                  MERKLE_OK);
        json_t *jproof = json_object_get(jl, "proof");
        CHECK_MSG(proof_len == json_array_size(jproof), "%s leaf %zu proof length %zu != %zu",
                  name, i, proof_len, json_array_size(jproof));
        for (size_t k = 0; k < proof_len && k < json_array_size(jproof); k++) {
            uint8_t want[32];
            CHECK(parse_hex(want, 32, json_string_value(json_array_get(jproof, k))));
            CHECK_MSG(memcmp(proof[k], want, 32) == 0, "%s leaf %zu proof[%zu] differs", name,
                      i, k);
        }
        CHECK(merkle_proof_verify(root, leaves[i], (const uint8_t(*)[32])proof, proof_len));
    }
    merkle_tree_release(&t);
    CHECK(t.nodes == NULL && t.leaf_count == 0);
    free(leaves);
    return n;
}

static void check_vector_family(const char *prefix)
{
    json_t *trees = json_object_get(vectors, "trees");
    size_t tree_count = 0, leaf_count = 0;
    for (size_t i = 0; i < json_array_size(trees); i++) {
        json_t *t = json_array_get(trees, i);
        if (strncmp(json_string_value(json_object_get(t, "name")), prefix, strlen(prefix)) != 0)
            continue;
        leaf_count += check_vector_tree(t);
        tree_count++;
    }
    CHECK_INT(tree_count, 5);                      /* 1, 2, 3, 7, 1000 leaves */
    CHECK_INT(leaf_count, 1 + 2 + 3 + 7 + 1000);
}

static void rand_bytes(uint8_t *out, size_t len)
{
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)harness_rand(&rng_state);
}

/* ---- model: OZ makeMerkleTree written out naively (insertion sort, no in-place
 * tricks), used to cross-check random trees. */
static void model_root(uint8_t root[32], const uint8_t (*leaves)[32], size_t n)
{
    uint8_t(*sorted)[32] = malloc(n * 32);
    uint8_t(*tree)[32] = malloc((2 * n - 1) * 32);
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        while (j > 0 && memcmp(sorted[j - 1], leaves[i], 32) > 0) {
            memcpy(sorted[j], sorted[j - 1], 32);
            j--;
        }
        memcpy(sorted[j], leaves[i], 32);
    }
    size_t len = 2 * n - 1;
    for (size_t i = 0; i < n; i++)
        memcpy(tree[len - 1 - i], sorted[i], 32);
    for (size_t i = len - 1 - n + 1; i-- > 0;) {
        uint8_t cat[64];
        const uint8_t *a = tree[2 * i + 1], *b = tree[2 * i + 2];
        if (memcmp(a, b, 32) > 0) {
            const uint8_t *tmp = a;
            a = b;
            b = tmp;
        }
        memcpy(cat, a, 32);
        memcpy(cat + 32, b, 32);
        keccak256(tree[i], cat, sizeof cat);
    }
    memcpy(root, tree[0], 32);
    free(sorted);
    free(tree);
}

/* ---- tests -------------------------------------------------------------------- */

static void test_vectors_settlement(void)
{
    check_vector_family("settlement-");
}

static void test_vectors_recording(void)
{
    check_vector_family("recording-");
}

static void test_single_leaf_root_is_leaf(void)
{
    json_t *tree = find_tree("settlement-1");
    CHECK(tree != NULL);
    struct merkle_tree t;
    uint8_t root[32], proof[1][32];
    uint8_t(*leaves)[32] = build_vector_tree(&t, root, tree);
    size_t proof_len = 7;
    CHECK_MEM(root, leaves[0], 32);
    CHECK_INT(merkle_tree_proof(proof, 0, &proof_len, &t, leaves[0], NULL), MERKLE_OK);
    CHECK_INT(proof_len, 0);
    CHECK(merkle_proof_verify(root, leaves[0], NULL, 0));
    merkle_tree_release(&t);
    free(leaves);
}

static void test_hash_pair_is_commutative(void)
{
    uint8_t a[32], b[32], ab[32], ba[32], cat[64], want[32];
    rand_bytes(a, 32);
    rand_bytes(b, 32);
    a[0] = 0x01; /* a < b */
    b[0] = 0xf0;
    merkle_hash_pair(ab, a, b);
    merkle_hash_pair(ba, b, a);
    CHECK_MEM(ab, ba, 32);
    memcpy(cat, a, 32);
    memcpy(cat + 32, b, 32);
    keccak256(want, cat, 64);
    CHECK_MEM(ab, want, 32);
}

static void test_tampered_proof_rejected(void)
{
    struct merkle_tree t;
    uint8_t root[32], proof[MERKLE_PROOF_MAX][32];
    uint8_t(*leaves)[32] = build_vector_tree(&t, root, find_tree("settlement-1000"));
    size_t proof_len = 0;
    CHECK_INT(merkle_tree_proof(proof, MERKLE_PROOF_MAX, &proof_len, &t, leaves[17], NULL),
              MERKLE_OK);
    CHECK(proof_len >= 9);
    CHECK(merkle_proof_verify(root, leaves[17], (const uint8_t(*)[32])proof, proof_len));
    for (size_t k = 0; k < proof_len; k++) {
        proof[k][31] ^= 0x01;
        CHECK_MSG(!merkle_proof_verify(root, leaves[17], (const uint8_t(*)[32])proof, proof_len),
                  "flipped bit in proof[%zu] accepted", k);
        proof[k][31] ^= 0x01;
    }
    /* truncated, extended, and someone else's proof */
    CHECK(!merkle_proof_verify(root, leaves[17], (const uint8_t(*)[32])proof, proof_len - 1));
    memcpy(proof[proof_len], root, 32);
    CHECK(!merkle_proof_verify(root, leaves[17], (const uint8_t(*)[32])proof, proof_len + 1));
    CHECK(!merkle_proof_verify(root, leaves[18], (const uint8_t(*)[32])proof, proof_len));
    uint8_t wrong_root[32];
    memcpy(wrong_root, root, 32);
    wrong_root[0] ^= 0x80;
    CHECK(!merkle_proof_verify(wrong_root, leaves[17], (const uint8_t(*)[32])proof, proof_len));
    merkle_tree_release(&t);
    free(leaves);
}

static void test_tampered_amount_rejected(void)
{
    json_t *tree = find_tree("settlement-7");
    json_t *value = json_object_get(json_array_get(json_object_get(tree, "leaves"), 2), "value");
    struct merkle_tree t;
    uint8_t root[32], proof[MERKLE_PROOF_MAX][32];
    uint8_t(*leaves)[32] = build_vector_tree(&t, root, tree);
    size_t proof_len = 0;
    CHECK_INT(merkle_tree_proof(proof, MERKLE_PROOF_MAX, &proof_len, &t, leaves[2], NULL),
              MERKLE_OK);

    uint8_t account[20], amount[32], leaf[32];
    CHECK(parse_hex(account, 20, json_string_value(json_array_get(value, 0))));
    CHECK(parse_dec_be32(amount, json_string_value(json_array_get(value, 1))));
    merkle_leaf_settlement(leaf, account, amount);
    CHECK_MEM(leaf, leaves[2], 32);
    CHECK(merkle_proof_verify(root, leaf, (const uint8_t(*)[32])proof, proof_len));

    amount[31] ^= 0x01; /* one wei more or less */
    merkle_leaf_settlement(leaf, account, amount);
    CHECK(!merkle_proof_verify(root, leaf, (const uint8_t(*)[32])proof, proof_len));
    struct err e = {0};
    size_t len = 5;
    CHECK_INT(merkle_tree_proof(proof, MERKLE_PROOF_MAX, &len, &t, leaf, &e),
              MERKLE_ERR_NOT_FOUND);
    CHECK_INT(e.code, MERKLE_ERR_NOT_FOUND);
    CHECK_INT(len, 0);
    CHECK(strstr(e.msg, "is not in the tree") != NULL);

    amount[31] ^= 0x01;
    account[19] ^= 0x01; /* someone else */
    merkle_leaf_settlement(leaf, account, amount);
    CHECK(!merkle_proof_verify(root, leaf, (const uint8_t(*)[32])proof, proof_len));
    merkle_tree_release(&t);
    free(leaves);
}

static void test_duplicate_leaf_rejected(void)
{
    uint8_t leaves[5][32];
    for (size_t i = 0; i < 5; i++)
        rand_bytes(leaves[i], 32);
    memcpy(leaves[3], leaves[1], 32);
    struct merkle_tree t;
    struct err e = {0};
    CHECK_INT(merkle_tree_build(&t, (const uint8_t(*)[32])leaves, 5, &e),
              MERKLE_ERR_DUPLICATE_LEAF);
    CHECK_INT(e.code, MERKLE_ERR_DUPLICATE_LEAF);
    CHECK(strncmp(e.msg, "duplicate merkle leaf '0x", 25) == 0);
    CHECK(t.nodes == NULL && t.leaf_count == 0);
    merkle_tree_release(&t); /* safe on a failed build */

    /* two leaves, both equal */
    CHECK_INT(merkle_tree_build(&t, (const uint8_t(*)[32])leaves + 1, 1, NULL), MERKLE_OK);
    merkle_tree_release(&t);
    memcpy(leaves[2], leaves[1], 32);
    CHECK_INT(merkle_tree_build(&t, (const uint8_t(*)[32])leaves + 1, 2, NULL),
              MERKLE_ERR_DUPLICATE_LEAF);
}

static void test_leaf_count_limits(void)
{
    uint8_t one[1][32] = {{0}};
    struct merkle_tree t;
    struct err e = {0};
    CHECK_INT(merkle_tree_build(&t, (const uint8_t(*)[32])one, 0, &e), MERKLE_ERR_EMPTY);
    CHECK_INT(e.code, MERKLE_ERR_EMPTY);
    CHECK(t.nodes == NULL);
    /* The count is checked before any leaf is read, so a 1-element array suffices. */
    CHECK_INT(merkle_tree_build(&t, (const uint8_t(*)[32])one, MERKLE_LEAVES_MAX + 1, &e),
              MERKLE_ERR_TOO_MANY_LEAVES);
    CHECK_INT(e.code, MERKLE_ERR_TOO_MANY_LEAVES);
    CHECK_STR(e.msg, "too many merkle leaves: 4194305 (max 4194304)");
    CHECK_INT(merkle_tree_build(&t, (const uint8_t(*)[32])one, SIZE_MAX, &e),
              MERKLE_ERR_TOO_MANY_LEAVES);
    CHECK(t.nodes == NULL);
}

static void test_proof_capacity(void)
{
    uint8_t leaves[8][32];
    for (size_t i = 0; i < 8; i++)
        rand_bytes(leaves[i], 32);
    struct merkle_tree t;
    CHECK_INT(merkle_tree_build(&t, (const uint8_t(*)[32])leaves, 8, NULL), MERKLE_OK);
    uint8_t proof[3][32];
    size_t len = 9;
    struct err e = {0};
    /* 8 leaves in 15 nodes: every leaf is at depth 3 */
    CHECK_INT(merkle_tree_proof_at(proof, 2, &len, &t, 0, &e), MERKLE_ERR_PROOF_TOO_LONG);
    CHECK_INT(e.code, MERKLE_ERR_PROOF_TOO_LONG);
    CHECK_INT(len, 0);
    CHECK_INT(merkle_tree_proof_at(proof, 3, &len, &t, 0, &e), MERKLE_OK);
    CHECK_INT(len, 3);
    /* overlong proofs never verify */
    uint8_t root[32], big[MERKLE_PROOF_MAX + 1][32];
    merkle_tree_root(root, &t);
    memset(big, 0, sizeof big);
    CHECK(!merkle_proof_verify(root, merkle_tree_leaf_at(&t, 0), (const uint8_t(*)[32])big,
                               MERKLE_PROOF_MAX + 1));
    merkle_tree_release(&t);
}

static void test_sorted_order_and_find(void)
{
    enum { N = 300 };
    uint8_t(*leaves)[32] = malloc(N * 32);
    for (size_t i = 0; i < N; i++)
        rand_bytes(leaves[i], 32);
    uint8_t copy0[32];
    memcpy(copy0, leaves[0], 32);
    struct merkle_tree t;
    CHECK_INT(merkle_tree_build(&t, (const uint8_t(*)[32])leaves, N, NULL), MERKLE_OK);
    CHECK_MEM(leaves[0], copy0, 32); /* input untouched */
    for (size_t i = 1; i < N; i++)
        CHECK(memcmp(merkle_tree_leaf_at(&t, i - 1), merkle_tree_leaf_at(&t, i), 32) < 0);
    for (size_t i = 0; i < N; i++) {
        size_t idx = N;
        CHECK_INT(merkle_tree_find(&idx, &t, leaves[i], NULL), MERKLE_OK);
        CHECK(idx < N && memcmp(merkle_tree_leaf_at(&t, idx), leaves[i], 32) == 0);
    }
    /* below the smallest and above the largest */
    uint8_t lo[32] = {0}, hi[32];
    memset(hi, 0xff, 32);
    size_t idx = 0;
    CHECK_INT(merkle_tree_find(&idx, &t, lo, NULL), MERKLE_ERR_NOT_FOUND);
    CHECK_INT(merkle_tree_find(&idx, &t, hi, NULL), MERKLE_ERR_NOT_FOUND);
    merkle_tree_release(&t);
    free(leaves);
}

static void test_random_trees_against_model(void)
{
    for (int round = 0; round < 60; round++) {
        size_t n = 1 + (size_t)(harness_rand(&rng_state) % 257);
        uint8_t(*leaves)[32] = malloc(n * 32);
        for (size_t i = 0; i < n; i++)
            rand_bytes(leaves[i], 32);
        struct merkle_tree t;
        CHECK_INT(merkle_tree_build(&t, (const uint8_t(*)[32])leaves, n, NULL), MERKLE_OK);
        uint8_t root[32], want[32];
        merkle_tree_root(root, &t);
        model_root(want, (const uint8_t(*)[32])leaves, n);
        CHECK_MSG(memcmp(root, want, 32) == 0, "root differs from model for n=%zu", n);

        /* every proof verifies and has the depth of its node */
        for (size_t i = 0; i < n; i++) {
            uint8_t proof[MERKLE_PROOF_MAX][32];
            size_t len = 0, depth = 0;
            CHECK_INT(merkle_tree_proof_at(proof, MERKLE_PROOF_MAX, &len, &t, i, NULL),
                      MERKLE_OK);
            for (size_t k = t.node_count - 1 - i; k > 0; k = (k - 1) / 2)
                depth++;
            CHECK_INT(len, depth);
            CHECK(merkle_proof_verify(root, merkle_tree_leaf_at(&t, i),
                                      (const uint8_t(*)[32])proof, len));
        }
        merkle_tree_release(&t);

        /* input order does not matter: reverse and rebuild */
        for (size_t i = 0; i < n / 2; i++) {
            uint8_t tmp[32];
            memcpy(tmp, leaves[i], 32);
            memcpy(leaves[i], leaves[n - 1 - i], 32);
            memcpy(leaves[n - 1 - i], tmp, 32);
        }
        CHECK_INT(merkle_tree_build(&t, (const uint8_t(*)[32])leaves, n, NULL), MERKLE_OK);
        merkle_tree_root(want, &t);
        CHECK_MEM(root, want, 32);
        merkle_tree_release(&t);
        free(leaves);
    }
}

static void test_recording_u64_form(void)
{
    uint8_t sha[32], a[32], b[32], r[32] = {0}, s[32] = {0};
    rand_bytes(sha, 32);
    r[31] = 2;
    s[24] = 0x01; /* 2^56 + 0x0203 */
    s[30] = 0x02;
    s[31] = 0x03;
    merkle_leaf_recording(a, r, s, sha);
    merkle_leaf_recording_u64(b, 2, ((uint64_t)1 << 56) + 0x0203, sha);
    CHECK_MEM(a, b, 32);

    /* and against OZ: recording-7 leaf 1 is (1, 0, sha) */
    json_t *tree = find_tree("recording-7");
    json_t *v = json_object_get(json_array_get(json_object_get(tree, "leaves"), 1), "value");
    uint8_t want[32];
    CHECK_STR(json_string_value(json_array_get(v, 0)), "1");
    CHECK_STR(json_string_value(json_array_get(v, 1)), "0");
    CHECK(parse_hex(sha, 32, json_string_value(json_array_get(v, 2))));
    CHECK(parse_hex(want, 32,
                    json_string_value(json_object_get(
                        json_array_get(json_object_get(tree, "leaves"), 1), "hash"))));
    merkle_leaf_recording_u64(a, 1, 0, sha);
    CHECK_MEM(a, want, 32);
}

/* ---- dump ("standard-v1") ---------------------------------------------------- */

/* merkle_value_json_fn over a vector tree's "leaves": the value as compact JSON. */
static enum buf_result vector_value_json(struct buf *out, size_t index, void *ctx)
{
    json_t *value = json_object_get(json_array_get(ctx, index), "value");
    char *text = json_dumps(value, JSON_COMPACT);
    enum buf_result r = text != NULL ? buf_append_str(out, text) : BUF_ERR_NOMEM;
    free(text);
    return r;
}

static enum buf_result refuse_value_json(struct buf *out, size_t index, void *ctx)
{
    (void)out;
    (void)ctx;
    return index < 2 ? BUF_OK : BUF_ERR_NOMEM;
}

/* Our dump of every vector tree that has OZ's tree.dump() equals it as JSON. */
static void test_dump_equals_oz(void)
{
    json_t *trees = json_object_get(vectors, "trees");
    size_t dumped = 0;
    for (size_t i = 0; i < json_array_size(trees); i++) {
        json_t *tree = json_array_get(trees, i), *want = json_object_get(tree, "dump");
        if (want == NULL)
            continue;
        const char *name = json_string_value(json_object_get(tree, "name"));
        json_t *types = json_object_get(tree, "types");
        const char *type_names[3] = {NULL, NULL, NULL};
        for (size_t k = 0; k < json_array_size(types) && k < 3; k++)
            type_names[k] = json_string_value(json_array_get(types, k));
        struct merkle_tree t;
        uint8_t root[32];
        uint8_t(*leaves)[32] = build_vector_tree(&t, root, tree);
        struct buf out;
        buf_init(&out, 1 << 20);
        CHECK_INT(buf_append_str(&out, "x"), BUF_OK); /* the dump appends */
        CHECK_INT(merkle_tree_dump(&out, &t, type_names, json_array_size(types),
                                   (const uint8_t(*)[32])leaves, t.leaf_count, vector_value_json,
                                   json_object_get(tree, "leaves"), NULL),
                  MERKLE_OK);
        json_error_t jerr;
        json_t *got = json_loadb((const char *)out.data + 1, out.len - 1, 0, &jerr);
        CHECK_MSG(got != NULL && json_equal(got, want), "%s: dump differs from OZ: %s", name,
                  (const char *)out.data + 1);
        CHECK_STR(json_string_value(json_object_get(got, "format")), "standard-v1");
        json_decref(got);
        buf_release(&out);
        merkle_tree_release(&t);
        free(leaves);
        dumped++;
    }
    CHECK_INT(dumped, 8); /* 1, 2, 3 and 7 leaves of both formats */
}

/* treeIndex of every value is the node of its leaf, for a large tree too. */
static void test_dump_tree_indexes(void)
{
    json_t *tree = find_tree("recording-1000");
    static const char *const types[3] = {"uint256", "uint256", "bytes32"};
    struct merkle_tree t;
    uint8_t root[32];
    uint8_t(*leaves)[32] = build_vector_tree(&t, root, tree);
    struct buf out;
    buf_init(&out, 1 << 20);
    CHECK_INT(merkle_tree_dump(&out, &t, types, 3, (const uint8_t(*)[32])leaves, t.leaf_count,
                               vector_value_json, json_object_get(tree, "leaves"), NULL),
              MERKLE_OK);
    json_t *got = json_loadb((const char *)out.data, out.len, 0, NULL);
    json_t *nodes = json_object_get(got, "tree"), *values = json_object_get(got, "values");
    CHECK_INT(json_array_size(nodes), 1999);
    CHECK_INT(json_array_size(values), 1000);
    size_t good = 0;
    for (size_t i = 0; i < json_array_size(values); i++) {
        json_t *v = json_array_get(values, i);
        json_int_t k = json_integer_value(json_object_get(v, "treeIndex"));
        uint8_t node[32];
        if (k >= 999 && k < 1999 &&
            parse_hex(node, 32, json_string_value(json_array_get(nodes, (size_t)k))) &&
            memcmp(node, leaves[i], 32) == 0 &&
            json_equal(
                json_object_get(v, "value"),
                json_object_get(json_array_get(json_object_get(tree, "leaves"), i), "value")))
            good++;
    }
    CHECK_INT(good, 1000);
    uint8_t node0[32];
    CHECK(parse_hex(node0, 32, json_string_value(json_array_get(nodes, 0))));
    CHECK_MEM(node0, root, 32);
    json_decref(got);
    buf_release(&out);
    merkle_tree_release(&t);
    free(leaves);
}

/* Every refusal leaves the buffer as it was. */
static void test_dump_refusals(void)
{
    json_t *tree = find_tree("recording-7");
    json_t *jleaves = json_object_get(tree, "leaves");
    static const char *const types[3] = {"uint256", "uint256", "bytes32"};
    static const char *const bad_types[2] = {"uint256", "bytes\"32"};
    struct merkle_tree t;
    uint8_t root[32];
    uint8_t(*leaves)[32] = build_vector_tree(&t, root, tree);
    const uint8_t(*cl)[32] = (const uint8_t(*)[32])leaves;
    struct buf out;
    struct err e = {0};
    buf_init(&out, 1 << 16);
    CHECK_INT(buf_append_str(&out, "keep"), BUF_OK);

    CHECK_INT(merkle_tree_dump(&out, &t, bad_types, 2, cl, 7, vector_value_json, jleaves, &e),
              MERKLE_ERR_BAD_DUMP_INPUT);
    CHECK_STR(e.msg, "merkle dump: leaf type 1 is not 1..32 characters of [a-z0-9[]]");
    CHECK_INT(merkle_tree_dump(&out, &t, types, 0, cl, 7, vector_value_json, jleaves, &e),
              MERKLE_ERR_BAD_DUMP_INPUT);
    CHECK_INT(merkle_tree_dump(&out, &t, types, 3, cl, 6, vector_value_json, jleaves, &e),
              MERKLE_ERR_BAD_DUMP_INPUT);
    CHECK_STR(e.msg, "merkle dump: 6 values for 7 leaves");
    CHECK_INT(merkle_tree_dump(&out, &t, types, 3, cl, 7, refuse_value_json, NULL, &e),
              MERKLE_ERR_NOMEM);
    CHECK_STR(e.msg, "merkle dump of 7 leaves: out of memory");
    CHECK_STR((const char *)out.data, "keep");

    uint8_t saved[32];
    memcpy(saved, leaves[4], 32);
    memcpy(leaves[4], leaves[1], 32); /* leaf 1 listed twice, leaf 4 never */
    CHECK_INT(merkle_tree_dump(&out, &t, types, 3, cl, 7, vector_value_json, jleaves, &e),
              MERKLE_ERR_DUPLICATE_LEAF);
    CHECK(strstr(e.msg, "listed twice") != NULL);
    leaves[4][0] ^= 0x01; /* not in the tree */
    CHECK_INT(merkle_tree_dump(&out, &t, types, 3, cl, 7, vector_value_json, jleaves, &e),
              MERKLE_ERR_NOT_FOUND);
    memcpy(leaves[4], saved, 32);
    CHECK_STR((const char *)out.data, "keep");
    CHECK_INT(out.len, 4);

    struct buf small; /* 13 nodes fit, the values do not */
    buf_init(&small, 1000);
    CHECK_INT(merkle_tree_dump(&small, &t, types, 3, cl, 7, vector_value_json, jleaves, &e),
              MERKLE_ERR_DUMP_TOO_BIG);
    CHECK_INT(e.code, MERKLE_ERR_DUMP_TOO_BIG);
    CHECK_INT(small.len, 0);
    buf_release(&small);
    buf_init(&small, 100); /* not even the nodes */
    CHECK_INT(merkle_tree_dump(&small, &t, types, 3, cl, 7, vector_value_json, jleaves, &e),
              MERKLE_ERR_DUMP_TOO_BIG);
    CHECK_INT(small.len, 0);
    buf_release(&small);

    CHECK_INT(merkle_tree_dump(&out, &t, types, 3, cl, 7, vector_value_json, jleaves, &e),
              MERKLE_OK);
    CHECK(strncmp((const char *)out.data, "keep{\"format\":\"standard-v1\",", 28) == 0);
    buf_release(&out);
    merkle_tree_release(&t);
    free(leaves);
}

int main(void)
{
    rng_state = harness_seed();
    json_error_t jerr;
    vectors = json_load_file(VECTORS_PATH, 0, &jerr);
    if (vectors == NULL) {
        fprintf(stdout, "not ok - load %s: %s (line %d); run from the repository root\n",
                VECTORS_PATH, jerr.text, jerr.line);
        return 1;
    }
    RUN(test_vectors_settlement);
    RUN(test_vectors_recording);
    RUN(test_single_leaf_root_is_leaf);
    RUN(test_hash_pair_is_commutative);
    RUN(test_tampered_proof_rejected);
    RUN(test_tampered_amount_rejected);
    RUN(test_duplicate_leaf_rejected);
    RUN(test_leaf_count_limits);
    RUN(test_proof_capacity);
    RUN(test_sorted_order_and_find);
    RUN(test_random_trees_against_model);
    RUN(test_recording_u64_form);
    RUN(test_dump_equals_oz);
    RUN(test_dump_tree_indexes);
    RUN(test_dump_refusals);
    json_decref(vectors);
    return harness_finish();
}
