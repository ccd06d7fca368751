/*
 * sig.h - secp256k1 ECDSA for Ethereum through libsecp256k1: recoverable
 * signing (RFC 6979 deterministic nonces, low-s), strict public key recovery
 * to an address, private keys, and the EIP-191 personal message hash.
 *
 * Context and threads: the module owns ONE secp256k1 context, created on
 * first use under pthread_once and randomized once with
 * secp256k1_context_randomize() from OpenSSL's CSPRNG (side-channel blinding
 * for signing). After that the context is only read: libsecp256k1 contexts
 * are safe for concurrent read-only use, so every function here may be
 * called from any number of threads at once. sig_context_init() may be
 * called at startup to surface a failure early; otherwise the first call does
 * it. The context lives until the process exits (a deliberate, single,
 * reachable allocation).
 *
 * Keys: `struct sig_private_key` is a caller-owned value holding 32 secret
 * bytes. Callers wipe it with sig_private_key_wipe() (explicit_bzero) as soon
 * as they are done; this module wipes its own temporary copies. Nothing here
 * logs or formats key bytes.
 *
 * Signatures are 65 bytes r || s || v. Signing yields v in {27, 28} (what
 * wallets and `cast wallet sign` produce) or, with sig_sign_recid(), r || s and
 * the recovery id {0, 1} (the y_parity of typed transactions). Recovery
 * accepts v in {27, 28, 0, 1} and rejects, with distinct codes and before
 * libsecp256k1 sees the bytes: any other v, r or s equal to zero or >= n,
 * and high s (s > n/2, the malleable twin of a valid signature).
 *
 * Result numbers are stable and never reused.
 */
#ifndef COMMON_SIG_H
#define COMMON_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "err.h"

#define SIG_HASH_BYTES 32
#define SIG_PRIVATE_KEY_BYTES 32
#define SIG_PUBKEY_BYTES 64                     /* uncompressed X || Y, without the 0x04 prefix */
#define SIG_BYTES 65                            /* r || s || v */
#define SIG_RS_BYTES 64                         /* r || s */
#define SIG_MESSAGE_BYTES_MAX ((size_t)1 << 20) /* EIP-191 personal message */
#define SIG_PRIVATE_KEY_HEX_MAX 66              /* "0x" + 64 digits */

enum sig_result {
    SIG_OK = 0,
    SIG_ERR_BAD_V = 1,           /* v not in {27, 28, 0, 1} */
    SIG_ERR_HIGH_S = 2,          /* s > n/2 */
    SIG_ERR_BAD_R = 3,           /* r == 0 or r >= n */
    SIG_ERR_BAD_S = 4,           /* s == 0 or s >= n */
    SIG_ERR_RECOVER = 5,         /* no public key recovers from this signature */
    SIG_ERR_BAD_KEY = 6,         /* private key zero, >= n, or not 32 hex-encoded bytes */
    SIG_ERR_CONTEXT = 7,         /* context creation or randomization failed */
    SIG_ERR_MESSAGE_TOO_BIG = 8, /* message above SIG_MESSAGE_BYTES_MAX */
    SIG_ERR_SIGN = 9             /* libsecp256k1 could not sign (or gave recid > 1) */
};

struct sig_private_key {
    uint8_t bytes[SIG_PRIVATE_KEY_BYTES];
};

/* Creates and randomizes the shared context if that has not happened yet.
 * Idempotent and thread-safe. Returns SIG_OK or SIG_ERR_CONTEXT. */
enum sig_result sig_context_init(struct err *e) __attribute__((warn_unused_result));

/* ---- private keys ---------------------------------------------------------------- */

/* Copies and validates 32 big-endian bytes (0 < key < n). */
enum sig_result sig_private_key_from_bytes(struct sig_private_key *out,
                                           const uint8_t in[SIG_PRIVATE_KEY_BYTES], struct err *e)
    __attribute__((warn_unused_result));

/* Parses exactly 64 hex digits with an optional "0x" (surrounding whitespace
 * and a trailing newline, as in a key file, are NOT accepted: trim first).
 * Error messages never quote the key. */
enum sig_result sig_private_key_from_hex(struct sig_private_key *out, const char *text,
                                         size_t text_len, struct err *e)
    __attribute__((warn_unused_result));

/* explicit_bzero()s the key. */
void sig_private_key_wipe(struct sig_private_key *key);

/* The key's Ethereum address. */
enum sig_result sig_private_key_address(struct address *out, const struct sig_private_key *key,
                                        struct err *e) __attribute__((warn_unused_result));

/* ---- signing ------------------------------------------------------------------------ */

/* Signs a 32-byte hash: out = r || s || v with v in {27, 28}, low s. Byte-
 * identical to other RFC 6979 signers (cast, ethers) for the same key/hash. */
enum sig_result sig_sign_recoverable(uint8_t out[SIG_BYTES], const uint8_t hash[SIG_HASH_BYTES],
                                     const struct sig_private_key *key, struct err *e)
    __attribute__((warn_unused_result));

/* Same signature as r || s plus the recovery id (0 or 1), for transactions. */
enum sig_result sig_sign_recid(uint8_t out_rs[SIG_RS_BYTES], uint8_t *recid,
                               const uint8_t hash[SIG_HASH_BYTES],
                               const struct sig_private_key *key, struct err *e)
    __attribute__((warn_unused_result));

/* ---- recovery ------------------------------------------------------------------------- */

/* Recovers the signer of `hash` from sig = r || s || v (v in {27, 28, 0, 1}),
 * rejecting bad v, bad r/s and high s as described above. */
enum sig_result sig_recover_address(struct address *out, const uint8_t hash[SIG_HASH_BYTES],
                                    const uint8_t sig[SIG_BYTES], struct err *e)
    __attribute__((warn_unused_result));

/* Same, returning the 64-byte uncompressed public key X || Y. */
enum sig_result sig_recover_pubkey(uint8_t out[SIG_PUBKEY_BYTES],
                                   const uint8_t hash[SIG_HASH_BYTES], const uint8_t sig[SIG_BYTES],
                                   struct err *e) __attribute__((warn_unused_result));

/* address = last 20 bytes of keccak256(X || Y). */
void sig_address_from_pubkey(struct address *out, const uint8_t pubkey[SIG_PUBKEY_BYTES]);

/* ---- EIP-191 --------------------------------------------------------------------------- */

/* out = keccak256("\x19Ethereum Signed Message:\n" || decimal(len) || message),
 * the hash `personal_sign` / `cast wallet sign` sign. The message is raw
 * bytes (no hex decoding) of at most SIG_MESSAGE_BYTES_MAX bytes. */
enum sig_result sig_hash_personal_message(uint8_t out[SIG_HASH_BYTES], const uint8_t *message,
                                          size_t message_len, struct err *e)
    __attribute__((warn_unused_result));

#endif
