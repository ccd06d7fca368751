/*
 * rlp.h - Ethereum Recursive Length Prefix encoding and a strict decoder.
 *
 * Encoding appends to a caller-owned `struct buf` (buf.h); the buf's own
 * maximum bounds the output and every encoder reports RLP_ERR_BUF_TOO_BIG
 * when it would be exceeded (the buf may then hold a partial item: callers
 * discard it). Integers are encoded big-endian without leading zeros (zero is
 * the empty string 0x80), as Ethereum requires.
 *
 * Lists are written either from an already-encoded payload
 * (rlp_encode_list_payload) or incrementally: rlp_list_begin() reserves one
 * header byte, the items are appended, and rlp_list_end() back-patches the
 * header (moving the payload right when the long form is needed). Lists may
 * nest; they must be ended in reverse order of beginning.
 *
 * Decoding never allocates and never copies: a `struct rlp_item` points into
 * the caller's input, which must outlive it. rlp_decode() validates a whole
 * document iteratively (no recursion) before returning its root:
 *   - input at most RLP_INPUT_BYTES_MAX bytes, every declared length too;
 *   - list nesting at most RLP_DEPTH_MAX, at most RLP_ITEMS_MAX items per list;
 *   - canonical form only: a single byte < 0x80 must be itself, short lengths
 *     use the short form, long lengths have no leading zero bytes;
 *   - exactly one top-level item, no trailing bytes.
 * Integers read back with rlp_item_to_u64/u256 must also be canonical (no
 * leading zero bytes, zero is 0x80).
 *
 * Result numbers are stable and never reused.
 */
#ifndef COMMON_RLP_H
#define COMMON_RLP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "u256.h"

#define RLP_INPUT_BYTES_MAX ((size_t)1 << 20) /* whole document, and any declared length */
#define RLP_DEPTH_MAX 16                      /* nested lists, the root list counts as 1 */
#define RLP_ITEMS_MAX 1024                    /* direct items of one list */

enum rlp_result {
    RLP_OK = 0,
    RLP_ERR_BUF_TOO_BIG = 1,          /* encoder: output buf maximum reached */
    RLP_ERR_NOMEM = 2,                /* encoder: allocation failed */
    RLP_ERR_TRUNCATED = 3,            /* a header or payload runs past its input or list */
    RLP_ERR_NON_CANONICAL_LENGTH = 4, /* long form for < 56 bytes, or length with leading zero */
    RLP_ERR_NON_CANONICAL_BYTE = 5,   /* single byte < 0x80 wrapped as 0x81 xx */
    RLP_ERR_OVERSIZED = 6,            /* input or a declared length above RLP_INPUT_BYTES_MAX */
    RLP_ERR_TOO_DEEP = 7,             /* lists nested deeper than RLP_DEPTH_MAX */
    RLP_ERR_TRAILING = 8,             /* bytes after the top-level item */
    RLP_ERR_TOO_MANY_ITEMS = 9,       /* a list above RLP_ITEMS_MAX, or above the caller's array */
    RLP_ERR_WRONG_KIND = 10,          /* expected a string and got a list, or the reverse */
    RLP_ERR_NON_CANONICAL_INT = 11,   /* integer with leading zero bytes */
    RLP_ERR_INT_TOO_BIG = 12,         /* integer wider than the target type */
    RLP_ERR_WRONG_LENGTH = 13,        /* fixed-size string of the wrong length */
    RLP_ERR_EMPTY = 14                /* empty input */
};

/* ---- encoding ------------------------------------------------------------ */

/* Appends the encoding of the byte string data[0..data_len). */
enum rlp_result rlp_encode_bytes(struct buf *out, const uint8_t *data, size_t data_len)
    __attribute__((warn_unused_result));

/* Appends an unsigned integer, big-endian, minimal (0 encodes as 0x80). */
enum rlp_result rlp_encode_u64(struct buf *out, uint64_t value) __attribute__((warn_unused_result));
enum rlp_result rlp_encode_u256(struct buf *out, const struct u256 *value)
    __attribute__((warn_unused_result));

/* Appends a list whose payload (the concatenated encoded items) is given. */
enum rlp_result rlp_encode_list_payload(struct buf *out, const uint8_t *payload, size_t payload_len)
    __attribute__((warn_unused_result));

/* Incremental list: caller-allocated, holds the offset of the header byte. */
struct rlp_list {
    size_t header_offset;
};

/* Reserves the header byte of a list at the end of `out`. */
enum rlp_result rlp_list_begin(struct rlp_list *list, struct buf *out)
    __attribute__((warn_unused_result));

/* Writes the header for everything appended since rlp_list_begin(). */
enum rlp_result rlp_list_end(struct rlp_list *list, struct buf *out)
    __attribute__((warn_unused_result));

/* ---- decoding ------------------------------------------------------------ */

enum rlp_kind { RLP_KIND_STRING = 1, RLP_KIND_LIST = 2 };

/* One decoded item; `payload` points into the caller's input (for a list, the
 * concatenated encodings of its items). `offset` is the item's position in
 * the document and `header_len` the size of its prefix (0 for a single byte
 * below 0x80), both for error messages and re-encoding checks. */
struct rlp_item {
    enum rlp_kind kind;
    const uint8_t *payload;
    size_t payload_len;
    size_t offset;
    size_t header_len;
};

/* Validates the whole document in[0..in_len) (rules above) and returns its
 * single top-level item in *out. */
enum rlp_result rlp_decode(struct rlp_item *out, const uint8_t *in, size_t in_len, struct err *e)
    __attribute__((warn_unused_result));

/* Splits a list item into its direct items: fills items[0..*count).
 * Fails with RLP_ERR_TOO_MANY_ITEMS if the list has more than items_cap
 * items, RLP_ERR_WRONG_KIND if `list` is a string. Re-checks every header, so
 * it is safe on items that did not come from rlp_decode(). */
enum rlp_result rlp_list_items(struct rlp_item *items, size_t items_cap, size_t *count,
                               const struct rlp_item *list, struct err *e)
    __attribute__((warn_unused_result));

/* Reads a canonical unsigned integer string (at most 8 / 32 bytes). */
enum rlp_result rlp_item_to_u64(uint64_t *out, const struct rlp_item *item, struct err *e)
    __attribute__((warn_unused_result));
enum rlp_result rlp_item_to_u256(struct u256 *out, const struct rlp_item *item, struct err *e)
    __attribute__((warn_unused_result));

/* Copies a string item of exactly out_len bytes (addresses, hashes). */
enum rlp_result rlp_item_to_fixed(uint8_t *out, size_t out_len, const struct rlp_item *item,
                                  struct err *e) __attribute__((warn_unused_result));

#endif
