/*
 * fuzz_merkle.c - merkle_proof_verify() with arbitrary proofs, and trees.
 *
 * Input: byte 0 picks the mode.
 *   even: bytes 1..32 are the leaf, 33..64 the root, the rest the proof in
 *         32-byte nodes (a partial last node is dropped), so proofs longer
 *         than MERKLE_PROOF_MAX happen. verify() is true exactly when the
 *         proof has at most MERKLE_PROOF_MAX nodes and merkle_proof_process()
 *         gives the root; with the processed root as root it is true exactly
 *         for proofs within the maximum, and a changed leaf then fails.
 *         merkle_hash_pair() is commutative.
 *   odd:  the rest is cut into up to 16 leaves of 32 bytes (byte 0 bits 1-4
 *         say how many; repeats give MERKLE_ERR_DUPLICATE_LEAF). Every leaf's
 *         proof from merkle_tree_proof() verifies against the root and is
 *         found at its sorted index; a wrong root or a leaf not in the tree
 *         does not verify.
 */
#include "fuzz.h"
#include "merkle.h"

#define MERKLE_FUZZ_LEAVES_MAX 16

static void fuzz_merkle_proof(struct fuzz_in *in);
static void fuzz_merkle_tree(struct fuzz_in *in, uint8_t mode);

static void fuzz_merkle_proof(struct fuzz_in *in)
{
    uint8_t leaf[MERKLE_HASH_BYTES], root[MERKLE_HASH_BYTES], got[MERKLE_HASH_BYTES];
    fuzz_take_bytes(leaf, sizeof leaf, in);
    fuzz_take_bytes(root, sizeof root, in);
    size_t n = in->len / MERKLE_HASH_BYTES;
    const uint8_t(*proof)[MERKLE_HASH_BYTES] = (const uint8_t(*)[MERKLE_HASH_BYTES])in->p;
    merkle_proof_process(got, leaf, proof, n);
    bool fits = n <= MERKLE_PROOF_MAX;
    FUZZ_CHECK(merkle_proof_verify(root, leaf, proof, n) ==
               (fits && memcmp(got, root, sizeof got) == 0));
    FUZZ_CHECK(merkle_proof_verify(got, leaf, proof, n) == fits);
    if (fits && n > 0) {
        leaf[0] ^= 1;
        FUZZ_CHECK(!merkle_proof_verify(got, leaf, proof, n));
    }
    if (n >= 1) {
        uint8_t ab[MERKLE_HASH_BYTES], ba[MERKLE_HASH_BYTES];
        merkle_hash_pair(ab, leaf, proof[0]);
        merkle_hash_pair(ba, proof[0], leaf);
        FUZZ_CHECK(memcmp(ab, ba, sizeof ab) == 0);
    }
}

static void fuzz_merkle_tree(struct fuzz_in *in, uint8_t mode)
{
    uint8_t leaves[MERKLE_FUZZ_LEAVES_MAX][MERKLE_HASH_BYTES];
    size_t n = (size_t)((mode >> 1) & 15);
    for (size_t i = 0; i < n; i++)
        fuzz_take_bytes(leaves[i], MERKLE_HASH_BYTES, in);
    bool dup = false;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            dup |= memcmp(leaves[i], leaves[j], MERKLE_HASH_BYTES) == 0;

    struct merkle_tree t;
    struct err e;
    fuzz_err_prime(&e);
    enum merkle_result r =
        merkle_tree_build(&t, (const uint8_t(*)[MERKLE_HASH_BYTES])leaves, n, &e);
    if (n == 0 || dup) {
        FUZZ_CHECK(r == (n == 0 ? MERKLE_ERR_EMPTY : MERKLE_ERR_DUPLICATE_LEAF));
        FUZZ_CHECK(fuzz_err_is_set(&e, (int)r));
        FUZZ_CHECK(t.nodes == NULL && t.leaf_count == 0);
        merkle_tree_release(&t);
        return;
    }
    FUZZ_CHECK(r == MERKLE_OK && t.leaf_count == n && t.node_count == 2 * n - 1);
    uint8_t root[MERKLE_HASH_BYTES], proof[MERKLE_PROOF_MAX][MERKLE_HASH_BYTES];
    merkle_tree_root(root, &t);
    for (size_t i = 0; i < n; i++) {
        size_t len = 99, idx = 99;
        FUZZ_CHECK(merkle_tree_proof(proof, MERKLE_PROOF_MAX, &len, &t, leaves[i], NULL) ==
                   MERKLE_OK);
        FUZZ_CHECK(len <= MERKLE_PROOF_MAX);
        const uint8_t(*p)[MERKLE_HASH_BYTES] = (const uint8_t(*)[MERKLE_HASH_BYTES])proof;
        FUZZ_CHECK(merkle_proof_verify(root, leaves[i], p, len));
        FUZZ_CHECK(merkle_tree_find(&idx, &t, leaves[i], NULL) == MERKLE_OK && idx < n);
        FUZZ_CHECK(memcmp(merkle_tree_leaf_at(&t, idx), leaves[i], MERKLE_HASH_BYTES) == 0);
        uint8_t wrong[MERKLE_HASH_BYTES];
        memcpy(wrong, root, sizeof wrong);
        wrong[31] ^= 0x80;
        FUZZ_CHECK(!merkle_proof_verify(wrong, leaves[i], p, len));
    }
    /* a leaf that is not in the tree */
    uint8_t other[MERKLE_HASH_BYTES];
    merkle_hash_pair(other, root, root);
    size_t idx = 99;
    fuzz_err_prime(&e);
    FUZZ_CHECK(merkle_tree_find(&idx, &t, other, &e) == MERKLE_ERR_NOT_FOUND);
    FUZZ_CHECK(fuzz_err_is_set(&e, MERKLE_ERR_NOT_FOUND));
    merkle_tree_release(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    uint8_t mode = fuzz_take_byte(&in);
    if (mode & 1)
        fuzz_merkle_tree(&in, mode);
    else
        fuzz_merkle_proof(&in);
    return 0;
}
