/*
 * merkle.c - OpenZeppelin StandardMerkleTree-compatible trees; see merkle.h.
 *
 * Layout (identical to @openzeppelin/merkle-tree core.js makeMerkleTree):
 * node[0] is the root, node i has children 2i+1 and 2i+2, and the n leaves
 * occupy node[n-1 .. 2n-2] with the smallest leaf hash last. So that region,
 * read in index order, is sorted descending, which is how we sort it in place.
 */
#include "merkle.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hex.h"
#include "keccak.h"

static int merkle_cmp_desc(const void *a, const void *b);
static void merkle_hex32(char out[2 * MERKLE_HASH_BYTES + 3], const uint8_t h[MERKLE_HASH_BYTES]);
static size_t merkle_leaf_node(const struct merkle_tree *t, size_t sorted_index);
static void merkle_u64_be32(uint8_t out[32], uint64_t v);
static bool merkle_leaf_type_ok(const char *type);
static enum merkle_result merkle_buf_result(enum buf_result r);
static enum merkle_result merkle_dump_err(struct err *e, enum merkle_result r, size_t leaf_count);
static enum merkle_result merkle_dump_head(struct buf *out, const struct merkle_tree *t,
                                           const char *const *leaf_types, size_t leaf_types_len);
static enum merkle_result merkle_dump_values(struct buf *out, const struct merkle_tree *t,
                                             const uint8_t (*leaves)[MERKLE_HASH_BYTES],
                                             merkle_value_json_fn value_json, void *ctx,
                                             struct err *e);

/* ---- leaves ------------------------------------------------------------------ */

void merkle_leaf_settlement(uint8_t out[MERKLE_HASH_BYTES],
                            const uint8_t account[MERKLE_ADDRESS_BYTES],
                            const uint8_t amount_be32[32])
{
    uint8_t enc[64];
    uint8_t inner[MERKLE_HASH_BYTES];
    memset(enc, 0, 12); /* address is left-padded to a 32-byte word */
    memcpy(enc + 12, account, MERKLE_ADDRESS_BYTES);
    memcpy(enc + 32, amount_be32, 32);
    keccak256(inner, enc, sizeof enc);
    keccak256(out, inner, sizeof inner);
}

void merkle_leaf_recording(uint8_t out[MERKLE_HASH_BYTES], const uint8_t rendition_be32[32],
                           const uint8_t sequence_be32[32], const uint8_t segment_sha256[32])
{
    uint8_t enc[96];
    uint8_t inner[MERKLE_HASH_BYTES];
    memcpy(enc, rendition_be32, 32);
    memcpy(enc + 32, sequence_be32, 32);
    memcpy(enc + 64, segment_sha256, 32);
    keccak256(inner, enc, sizeof enc);
    keccak256(out, inner, sizeof inner);
}

void merkle_leaf_recording_u64(uint8_t out[MERKLE_HASH_BYTES], uint64_t rendition_index,
                               uint64_t media_sequence, const uint8_t segment_sha256[32])
{
    uint8_t rendition[32], sequence[32];
    merkle_u64_be32(rendition, rendition_index);
    merkle_u64_be32(sequence, media_sequence);
    merkle_leaf_recording(out, rendition, sequence, segment_sha256);
}

void merkle_hash_pair(uint8_t out[MERKLE_HASH_BYTES], const uint8_t a[MERKLE_HASH_BYTES],
                      const uint8_t b[MERKLE_HASH_BYTES])
{
    uint8_t cat[2 * MERKLE_HASH_BYTES];
    int lo_first = memcmp(a, b, MERKLE_HASH_BYTES) <= 0;
    memcpy(cat, lo_first ? a : b, MERKLE_HASH_BYTES);
    memcpy(cat + MERKLE_HASH_BYTES, lo_first ? b : a, MERKLE_HASH_BYTES);
    keccak256(out, cat, sizeof cat);
}

/* ---- trees ------------------------------------------------------------------- */

enum merkle_result merkle_tree_build(struct merkle_tree *out,
                                     const uint8_t (*leaves)[MERKLE_HASH_BYTES],
                                     size_t leaf_count, struct err *e)
{
    ASSERT(out != NULL);
    memset(out, 0, sizeof *out);
    if (leaf_count == 0)
        return err_set(e, MERKLE_ERR_EMPTY, "empty merkle tree: at least one leaf is required");
    if (leaf_count > MERKLE_LEAVES_MAX)
        return err_set(e, MERKLE_ERR_TOO_MANY_LEAVES, "too many merkle leaves: %zu (max %zu)",
                       leaf_count, MERKLE_LEAVES_MAX);
    ASSERT(leaves != NULL);

    size_t node_count = 2 * leaf_count - 1;
    uint8_t(*nodes)[MERKLE_HASH_BYTES] = malloc(node_count * MERKLE_HASH_BYTES);
    if (nodes == NULL)
        return err_set(e, MERKLE_ERR_NOMEM, "out of memory for merkle tree of %zu leaves",
                       leaf_count);

    size_t first_leaf = leaf_count - 1;
    memcpy(nodes[first_leaf], leaves, leaf_count * MERKLE_HASH_BYTES);
    qsort(nodes[first_leaf], leaf_count, MERKLE_HASH_BYTES, merkle_cmp_desc);
    for (size_t i = first_leaf + 1; i < node_count; i++) {
        if (memcmp(nodes[i - 1], nodes[i], MERKLE_HASH_BYTES) == 0) {
            char hex[2 * MERKLE_HASH_BYTES + 3];
            merkle_hex32(hex, nodes[i]);
            free(nodes);
            return err_set(e, MERKLE_ERR_DUPLICATE_LEAF, "duplicate merkle leaf '%s'", hex);
        }
    }
    for (size_t i = first_leaf; i-- > 0;)
        merkle_hash_pair(nodes[i], nodes[2 * i + 1], nodes[2 * i + 2]);

    out->nodes = nodes;
    out->node_count = node_count;
    out->leaf_count = leaf_count;
    return MERKLE_OK;
}

void merkle_tree_release(struct merkle_tree *t)
{
    if (t == NULL)
        return;
    free(t->nodes);
    memset(t, 0, sizeof *t);
}

void merkle_tree_root(uint8_t out[MERKLE_HASH_BYTES], const struct merkle_tree *t)
{
    ASSERT(t != NULL && t->nodes != NULL && t->leaf_count > 0);
    memcpy(out, t->nodes[0], MERKLE_HASH_BYTES);
}

const uint8_t *merkle_tree_leaf_at(const struct merkle_tree *t, size_t sorted_index)
{
    return t->nodes[merkle_leaf_node(t, sorted_index)];
}

enum merkle_result merkle_tree_find(size_t *out_sorted_index, const struct merkle_tree *t,
                                    const uint8_t leaf[MERKLE_HASH_BYTES], struct err *e)
{
    ASSERT(t != NULL && t->nodes != NULL && t->leaf_count > 0);
    size_t lo = 0, hi = t->leaf_count; /* search sorted positions [lo, hi) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(merkle_tree_leaf_at(t, mid), leaf, MERKLE_HASH_BYTES);
        if (c == 0) {
            *out_sorted_index = mid;
            return MERKLE_OK;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    char hex[2 * MERKLE_HASH_BYTES + 3];
    merkle_hex32(hex, leaf);
    return err_set(e, MERKLE_ERR_NOT_FOUND, "merkle leaf '%s' is not in the tree", hex);
}

enum merkle_result merkle_tree_proof_at(uint8_t (*proof)[MERKLE_HASH_BYTES], size_t proof_cap,
                                        size_t *out_len, const struct merkle_tree *t,
                                        size_t sorted_index, struct err *e)
{
    size_t j = merkle_leaf_node(t, sorted_index);
    size_t depth = 0;
    for (size_t k = j; k > 0; k = (k - 1) / 2)
        depth++;
    *out_len = 0;
    if (depth > proof_cap)
        return err_set(e, MERKLE_ERR_PROOF_TOO_LONG,
                       "merkle proof of %zu nodes does not fit in %zu", depth, proof_cap);
    size_t n = 0;
    while (j > 0) {
        size_t sibling = (j % 2 == 1) ? j + 1 : j - 1; /* OZ: i - (-1)**(i % 2) */
        memcpy(proof[n++], t->nodes[sibling], MERKLE_HASH_BYTES);
        j = (j - 1) / 2;
    }
    ASSERT(n == depth);
    *out_len = n;
    return MERKLE_OK;
}

enum merkle_result merkle_tree_proof(uint8_t (*proof)[MERKLE_HASH_BYTES], size_t proof_cap,
                                     size_t *out_len, const struct merkle_tree *t,
                                     const uint8_t leaf[MERKLE_HASH_BYTES], struct err *e)
{
    size_t sorted_index = 0;
    *out_len = 0;
    enum merkle_result r = merkle_tree_find(&sorted_index, t, leaf, e);
    if (r != MERKLE_OK)
        return r;
    return merkle_tree_proof_at(proof, proof_cap, out_len, t, sorted_index, e);
}

/* ---- dump -------------------------------------------------------------------- */

enum merkle_result merkle_tree_dump(struct buf *out, const struct merkle_tree *t,
                                    const char *const *leaf_types, size_t leaf_types_len,
                                    const uint8_t (*leaves)[MERKLE_HASH_BYTES], size_t leaf_count,
                                    merkle_value_json_fn value_json, void *ctx, struct err *e)
{
    ASSERT(out != NULL && t != NULL && t->nodes != NULL && value_json != NULL);
    if (leaf_types_len == 0 || leaf_types_len > MERKLE_LEAF_TYPES_MAX)
        return err_set(e, MERKLE_ERR_BAD_DUMP_INPUT, "merkle dump: %zu leaf types (1..%d)",
                       leaf_types_len, MERKLE_LEAF_TYPES_MAX);
    for (size_t i = 0; i < leaf_types_len; i++)
        if (!merkle_leaf_type_ok(leaf_types[i]))
            return err_set(e, MERKLE_ERR_BAD_DUMP_INPUT,
                           "merkle dump: leaf type %zu is not "
                           "1..%d characters of [a-z0-9[]]",
                           i, MERKLE_LEAF_TYPE_BYTES_MAX);
    if (leaf_count != t->leaf_count)
        return err_set(e, MERKLE_ERR_BAD_DUMP_INPUT, "merkle dump: %zu values for %zu leaves",
                       leaf_count, t->leaf_count);
    size_t len_on_entry = out->len;
    enum merkle_result r = merkle_dump_head(out, t, leaf_types, leaf_types_len);
    if (r == MERKLE_OK)
        r = merkle_dump_values(out, t, leaves, value_json, ctx, e);
    else
        merkle_dump_err(e, r, leaf_count);
    if (r != MERKLE_OK) {
        out->len = len_on_entry;
        if (out->data != NULL)
            out->data[len_on_entry] = '\0';
    }
    return r;
}

/* ---- proofs ------------------------------------------------------------------ */

void merkle_proof_process(uint8_t out[MERKLE_HASH_BYTES], const uint8_t leaf[MERKLE_HASH_BYTES],
                          const uint8_t (*proof)[MERKLE_HASH_BYTES], size_t proof_len)
{
    uint8_t acc[MERKLE_HASH_BYTES];
    memcpy(acc, leaf, MERKLE_HASH_BYTES);
    for (size_t i = 0; i < proof_len; i++)
        merkle_hash_pair(acc, acc, proof[i]); /* hash_pair reads both before writing */
    memcpy(out, acc, MERKLE_HASH_BYTES);
}

bool merkle_proof_verify(const uint8_t root[MERKLE_HASH_BYTES],
                         const uint8_t leaf[MERKLE_HASH_BYTES],
                         const uint8_t (*proof)[MERKLE_HASH_BYTES], size_t proof_len)
{
    if (proof_len > MERKLE_PROOF_MAX)
        return false;
    uint8_t computed[MERKLE_HASH_BYTES];
    merkle_proof_process(computed, leaf, proof, proof_len);
    return memcmp(computed, root, MERKLE_HASH_BYTES) == 0;
}

/* ---- static helpers ---------------------------------------------------------- */

/* qsort comparator: descending bytewise order of 32-byte hashes. */
static int merkle_cmp_desc(const void *a, const void *b)
{
    return memcmp(b, a, MERKLE_HASH_BYTES);
}

/* Node index of the leaf at `sorted_index` (0 = smallest hash). */
static size_t merkle_leaf_node(const struct merkle_tree *t, size_t sorted_index)
{
    ASSERT(t != NULL && t->nodes != NULL && sorted_index < t->leaf_count);
    return t->node_count - 1 - sorted_index;
}

static void merkle_hex32(char out[2 * MERKLE_HASH_BYTES + 3], const uint8_t h[MERKLE_HASH_BYTES])
{
    int rc = hex_encode_0x(out, 2 * MERKLE_HASH_BYTES + 3, h, MERKLE_HASH_BYTES);
    ASSERT(rc == 0);
}

/* 1..MERKLE_LEAF_TYPE_BYTES_MAX characters of [a-z0-9[]]: safe inside a JSON string. */
static bool merkle_leaf_type_ok(const char *type)
{
    size_t len = type == NULL ? 0 : strnlen(type, MERKLE_LEAF_TYPE_BYTES_MAX + 1);
    if (len == 0 || len > MERKLE_LEAF_TYPE_BYTES_MAX)
        return false;
    return strspn(type, "abcdefghijklmnopqrstuvwxyz0123456789[]") == len;
}

static enum merkle_result merkle_buf_result(enum buf_result r)
{
    return r == BUF_OK          ? MERKLE_OK
           : r == BUF_ERR_NOMEM ? MERKLE_ERR_NOMEM
                                : MERKLE_ERR_DUMP_TOO_BIG;
}

/* {"format":...,"leafEncoding":[...],"tree":[...],"values":[  (left open) */
static enum merkle_result merkle_dump_head(struct buf *out, const struct merkle_tree *t,
                                           const char *const *leaf_types, size_t leaf_types_len)
{
    enum buf_result r =
        buf_append_str(out, "{\"format\":\"" MERKLE_DUMP_FORMAT "\",\"leafEncoding\":[");
    for (size_t i = 0; r == BUF_OK && i < leaf_types_len; i++)
        r = buf_printf(out, "%s\"%s\"", i > 0 ? "," : "", leaf_types[i]);
    if (r == BUF_OK)
        r = buf_append_str(out, "],\"tree\":[");
    for (size_t i = 0; r == BUF_OK && i < t->node_count; i++) {
        char hex[2 * MERKLE_HASH_BYTES + 3];
        merkle_hex32(hex, t->nodes[i]);
        r = buf_printf(out, "%s\"%s\"", i > 0 ? "," : "", hex);
    }
    if (r == BUF_OK)
        r = buf_append_str(out, "],\"values\":[");
    return merkle_buf_result(r);
}

/* {"value":V,"treeIndex":k} for every value, then the closing "]}". */
static enum merkle_result merkle_dump_values(struct buf *out, const struct merkle_tree *t,
                                             const uint8_t (*leaves)[MERKLE_HASH_BYTES],
                                             merkle_value_json_fn value_json, void *ctx,
                                             struct err *e)
{
    uint8_t *used = calloc((t->leaf_count + 7) / 8, 1);
    if (used == NULL)
        return err_set(e, MERKLE_ERR_NOMEM, "out of memory for a merkle dump of %zu leaves",
                       t->leaf_count);
    enum merkle_result r = MERKLE_OK;
    for (size_t i = 0; r == MERKLE_OK && i < t->leaf_count; i++) {
        size_t sorted = 0;
        r = merkle_tree_find(&sorted, t, leaves[i], e);
        if (r != MERKLE_OK)
            break;
        if (used[sorted / 8] & (1u << (sorted % 8))) {
            char hex[2 * MERKLE_HASH_BYTES + 3];
            merkle_hex32(hex, leaves[i]);
            r = err_set(e, MERKLE_ERR_DUPLICATE_LEAF, "merkle dump: leaf '%s' listed twice", hex);
            break;
        }
        used[sorted / 8] = (uint8_t)(used[sorted / 8] | (1u << (sorted % 8)));
        enum buf_result br = buf_append_str(out, i > 0 ? ",{\"value\":" : "{\"value\":");
        if (br == BUF_OK)
            br = value_json(out, i, ctx);
        if (br == BUF_OK)
            br = buf_printf(out, ",\"treeIndex\":%zu}", merkle_leaf_node(t, sorted));
        r = merkle_buf_result(br);
    }
    free(used);
    if (r == MERKLE_OK)
        r = merkle_buf_result(buf_append_str(out, "]}"));
    return r == MERKLE_ERR_DUMP_TOO_BIG || r == MERKLE_ERR_NOMEM
               ? merkle_dump_err(e, r, t->leaf_count)
               : r;
}

static enum merkle_result merkle_dump_err(struct err *e, enum merkle_result r, size_t leaf_count)
{
    return err_set(e, r, "merkle dump of %zu leaves: %s", leaf_count,
                   r == MERKLE_ERR_NOMEM ? "out of memory" : "over the buffer's maximum");
}

static void merkle_u64_be32(uint8_t out[32], uint64_t v)
{
    memset(out, 0, 32);
    for (size_t i = 0; i < 8; i++)
        out[31 - i] = (uint8_t)(v >> (8 * i));
}
