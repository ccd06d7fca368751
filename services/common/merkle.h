/*
 * merkle.h - Merkle trees byte-identical to OpenZeppelin StandardMerkleTree
 * (@openzeppelin/merkle-tree 1.x, default options: sortLeaves = true) and
 * proofs checked like OpenZeppelin MerkleProof.verify.
 *
 * The two leaf formats of the project (docs/architecture.md "Merkle trees"):
 *   settlement: types ["address","uint256"]            (payee, amount_wei)
 *   recording:  types ["uint256","uint256","bytes32"]  (rendition, sequence, sha256)
 * A leaf hash is keccak256(keccak256(abi.encode(values))); merkle_leaf_*()
 * compute it. The tree is built from leaf hashes, exactly as OZ does:
 *   - leaf hashes are sorted ascending (bytewise);
 *   - the tree is an array of 2n-1 nodes; sorted leaf i is node[2n-2-i];
 *   - internal node i = merkle_hash_pair(node[2i+1], node[2i+2]), where a pair
 *     is hashed sorted: keccak256(min(a,b) || max(a,b));
 *   - the root is node[0]; with one leaf the root is that leaf and its proof
 *     is empty;
 *   - a proof lists the siblings from the leaf up to (not including) the root.
 * Unlike OZ, duplicate leaves are rejected: our trees are duplicate-free (one
 * leaf per payee, one per segment), so a duplicate is always a caller bug or
 * bad input.
 *
 * Dump: merkle_tree_dump() writes the tree in OZ's own serialisation,
 * StandardMerkleTree.dump() format "standard-v1":
 *   {"format":"standard-v1","leafEncoding":[types],"tree":["0x<node>",...],
 *    "values":[{"value":[...],"treeIndex":k},...]}
 * so that StandardMerkleTree.load(dump) in JavaScript accepts it as is
 * (load() re-hashes every value and checks it sits at its treeIndex).
 *
 * Ownership: `struct merkle_tree` is caller-allocated; merkle_tree_build()
 * allocates its node array, which merkle_tree_release() frees. Proof outputs
 * are caller arrays. merkle_tree_dump() appends to a caller's buf and frees
 * its scratch bitmap before returning. Nothing else allocates.
 * Limits: at most MERKLE_LEAVES_MAX leaves (the tree then needs 2n-1 nodes of
 * 32 bytes, 256 MiB at the maximum); a proof has at most MERKLE_PROOF_MAX
 * nodes (a full tree of MERKLE_LEAVES_MAX leaves needs 22 or 23).
 * Cost: a build is O(n log n) for the sort plus n-1 Keccak calls for the
 * internal nodes; a lookup and a proof are O(log n).
 */
#ifndef COMMON_MERKLE_H
#define COMMON_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define MERKLE_HASH_BYTES 32
#define MERKLE_ADDRESS_BYTES 20
#define MERKLE_LEAVES_MAX ((size_t)1 << 22)
#define MERKLE_PROOF_MAX 64
#define MERKLE_DUMP_FORMAT "standard-v1"
#define MERKLE_LEAF_TYPES_MAX 8       /* leafEncoding entries in a dump */
#define MERKLE_LEAF_TYPE_BYTES_MAX 32 /* one entry: [a-z0-9[]] only, e.g. "uint256" */

/* Stable result codes; numbers are never reused. */
enum merkle_result {
    MERKLE_OK = 0,
    MERKLE_ERR_EMPTY = 1,           /* a tree needs at least one leaf */
    MERKLE_ERR_TOO_MANY_LEAVES = 2, /* more than MERKLE_LEAVES_MAX leaves */
    MERKLE_ERR_DUPLICATE_LEAF = 3,  /* two leaves have the same hash */
    MERKLE_ERR_NOMEM = 4,           /* allocating the node array failed */
    MERKLE_ERR_NOT_FOUND = 5,       /* the leaf is not in the tree */
    MERKLE_ERR_PROOF_TOO_LONG = 6,  /* the proof does not fit the caller's array */
    MERKLE_ERR_DUMP_TOO_BIG = 7,    /* the dump does not fit the buf's maximum */
    MERKLE_ERR_BAD_DUMP_INPUT = 8   /* dump: bad leaf types or leaf count */
};

/* Appends the JSON of value `index` (the index into the caller's value list)
 * to `out`, e.g. ["0","5","0x<64 hex>"]: the values whose leaf hash the
 * caller passed as leaves[index]. Returns what the buf calls returned. */
typedef enum buf_result (*merkle_value_json_fn)(struct buf *out, size_t index, void *ctx);

struct merkle_tree {
    uint8_t (*nodes)[MERKLE_HASH_BYTES]; /* 2*leaf_count-1 nodes in OZ order; owned */
    size_t node_count;
    size_t leaf_count;
};

/* ---- leaves (pure, never fail) ---------------------------------------------- */

/* out = keccak256(keccak256(abi.encode(address account, uint256 amount))).
 * `account` is the raw 20-byte address; `amount_be32` is the amount in wei as a
 * 32-byte big-endian integer (full uint256 range). */
void merkle_leaf_settlement(uint8_t out[MERKLE_HASH_BYTES],
                            const uint8_t account[MERKLE_ADDRESS_BYTES],
                            const uint8_t amount_be32[32]);

/* out = keccak256(keccak256(abi.encode(uint256 rendition, uint256 sequence,
 * bytes32 segment_sha256))), with both integers as 32-byte big-endian values. */
void merkle_leaf_recording(uint8_t out[MERKLE_HASH_BYTES], const uint8_t rendition_be32[32],
                           const uint8_t sequence_be32[32], const uint8_t segment_sha256[32]);

/* Convenience form of merkle_leaf_recording() for integers that fit in 64 bits
 * (rendition index in master-playlist order from 0, media sequence number). */
void merkle_leaf_recording_u64(uint8_t out[MERKLE_HASH_BYTES], uint64_t rendition_index,
                               uint64_t media_sequence, const uint8_t segment_sha256[32]);

/* out = keccak256(min(a,b) || max(a,b)), comparing the 32 bytes as big-endian
 * integers (OZ standardNodeHash / Hashes.commutativeKeccak256). */
void merkle_hash_pair(uint8_t out[MERKLE_HASH_BYTES], const uint8_t a[MERKLE_HASH_BYTES],
                      const uint8_t b[MERKLE_HASH_BYTES]);

/* ---- trees ------------------------------------------------------------------ */

/* Builds the tree of `leaf_count` leaf hashes (any order; they are copied and
 * sorted, `leaves` is not modified). Returns MERKLE_OK and fills `out`, which
 * the caller releases with merkle_tree_release(). On failure `out` is left
 * empty (safe to release) and `e` says why:
 *   MERKLE_ERR_EMPTY           leaf_count == 0
 *   MERKLE_ERR_TOO_MANY_LEAVES leaf_count > MERKLE_LEAVES_MAX (checked before
 *                              `leaves` is read)
 *   MERKLE_ERR_DUPLICATE_LEAF  two equal leaf hashes (the hash is quoted)
 *   MERKLE_ERR_NOMEM           out of memory */
enum merkle_result merkle_tree_build(struct merkle_tree *out,
                                     const uint8_t (*leaves)[MERKLE_HASH_BYTES],
                                     size_t leaf_count, struct err *e)
    __attribute__((warn_unused_result));

/* Frees the node array and empties `t`. NULL and an empty tree are allowed. */
void merkle_tree_release(struct merkle_tree *t);

/* Copies the root (node 0) to `out`. `t` must be a built tree. */
void merkle_tree_root(uint8_t out[MERKLE_HASH_BYTES], const struct merkle_tree *t);

/* The i-th smallest leaf hash (0 <= i < leaf_count), i.e. node[2n-2-i]. */
const uint8_t *merkle_tree_leaf_at(const struct merkle_tree *t, size_t sorted_index);

/* Finds `leaf` by binary search. Returns MERKLE_OK and its position in sorted
 * order in *out_sorted_index, or MERKLE_ERR_NOT_FOUND. */
enum merkle_result merkle_tree_find(size_t *out_sorted_index, const struct merkle_tree *t,
                                    const uint8_t leaf[MERKLE_HASH_BYTES], struct err *e)
    __attribute__((warn_unused_result));

/* Writes the proof of the leaf at `sorted_index` (< leaf_count) into
 * proof[0..*out_len), siblings from the leaf upwards, exactly as OZ getProof().
 * `proof_cap` is the capacity of `proof` in nodes; MERKLE_PROOF_MAX always
 * suffices. Returns MERKLE_OK or MERKLE_ERR_PROOF_TOO_LONG (nothing useful
 * written, *out_len = 0). */
enum merkle_result merkle_tree_proof_at(uint8_t (*proof)[MERKLE_HASH_BYTES], size_t proof_cap,
                                        size_t *out_len, const struct merkle_tree *t,
                                        size_t sorted_index, struct err *e)
    __attribute__((warn_unused_result));

/* Like merkle_tree_proof_at() for the leaf hash `leaf`; also returns
 * MERKLE_ERR_NOT_FOUND when `leaf` is not in the tree. */
enum merkle_result merkle_tree_proof(uint8_t (*proof)[MERKLE_HASH_BYTES], size_t proof_cap,
                                     size_t *out_len, const struct merkle_tree *t,
                                     const uint8_t leaf[MERKLE_HASH_BYTES], struct err *e)
    __attribute__((warn_unused_result));

/* Appends the OZ "standard-v1" dump of `t` to `out` (see the top).
 * leaf_types[0..leaf_types_len) is the leafEncoding (1..MERKLE_LEAF_TYPES_MAX
 * entries of 1..MERKLE_LEAF_TYPE_BYTES_MAX bytes of [a-z0-9[]]); values are
 * listed in the caller's order: values[i] is written by value_json(out, i,
 * ctx) and its treeIndex is the node of leaves[i], the leaf hash of that
 * value. leaf_count must equal t->leaf_count and the leaves must be exactly
 * the tree's leaves, each once. Returns MERKLE_OK, or (with `out` back at its
 * length on entry):
 *   MERKLE_ERR_BAD_DUMP_INPUT  a bad leaf type or another leaf count
 *   MERKLE_ERR_NOT_FOUND       leaves[i] is not in the tree
 *   MERKLE_ERR_DUPLICATE_LEAF  leaves[i] was listed before
 *   MERKLE_ERR_DUMP_TOO_BIG    the buf's maximum was reached (value_json
 *                              returned BUF_ERR_TOO_BIG included)
 *   MERKLE_ERR_NOMEM           out of memory (or value_json's BUF_ERR_NOMEM)
 * Cost: O(n log n) (one lookup per value); about 70 bytes per node plus the
 * values' JSON. */
enum merkle_result merkle_tree_dump(struct buf *out, const struct merkle_tree *t,
                                    const char *const *leaf_types, size_t leaf_types_len,
                                    const uint8_t (*leaves)[MERKLE_HASH_BYTES], size_t leaf_count,
                                    merkle_value_json_fn value_json, void *ctx, struct err *e)
    __attribute__((warn_unused_result));

/* ---- proofs (pure) ---------------------------------------------------------- */

/* out = the root implied by `leaf` and `proof` (OZ MerkleProof.processProof):
 * fold merkle_hash_pair over the proof starting from the leaf. proof_len may
 * be 0 (then out = leaf). */
void merkle_proof_process(uint8_t out[MERKLE_HASH_BYTES], const uint8_t leaf[MERKLE_HASH_BYTES],
                          const uint8_t (*proof)[MERKLE_HASH_BYTES], size_t proof_len);

/* True when `proof` proves `leaf` under `root` (OZ MerkleProof.verify).
 * Proofs longer than MERKLE_PROOF_MAX are rejected (false). */
bool merkle_proof_verify(const uint8_t root[MERKLE_HASH_BYTES],
                         const uint8_t leaf[MERKLE_HASH_BYTES],
                         const uint8_t (*proof)[MERKLE_HASH_BYTES], size_t proof_len);

#endif
