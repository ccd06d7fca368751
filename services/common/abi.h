/*
 * abi.h - Solidity contract ABI: encoding, strict decoding, function selectors
 * and event topics, for the types this project's contracts use.
 *
 * Types: uint256 (struct u256), uint8, address, bool, bytes32, bytes, string,
 * bytes32[], and static tuples of those static types (nested at most
 * ABI_TUPLE_DEPTH_MAX deep). A sequence of values (function arguments, return
 * values, event data, abi.encode(...)) is an array of `struct abi_value`:
 * the encoder lays out the head (static values inline, a 32-byte offset for
 * each dynamic value) followed by the tails, exactly as `abi.encode` and
 * `cast abi-encode` do.
 *
 * Ownership: nothing here keeps pointers. For encoding, the caller owns every
 * value and the data they point to; output is appended to a caller-owned
 * `struct buf` whose maximum bounds it. For decoding, the caller presets the
 * `type` of each value (and, for tuples, points `as.tuple.items` at its own
 * array of typed items); the decoder fills the rest. Decoded bytes, string
 * and bytes32[] values point INTO the input, which must outlive them (no
 * copies, no allocation). Strings are not checked for valid UTF-8, like
 * Solidity.
 *
 * Decoder limits and checks (each with its own result code):
 *   - input at most ABI_DECODE_BYTES_MAX bytes and a multiple of 32;
 *   - at most ABI_VALUES_MAX values per sequence or tuple;
 *   - offsets fit, are multiples of 32, point past the head and inside the
 *     input; lengths fit in what follows them; at most ABI_ARRAY_ITEMS_MAX
 *     items in a bytes32[];
 *   - address, bool and uint8 words have no bits above their width (bool is
 *     0 or 1); the padding after bytes/string data is zero.
 * Words after the last tail are tolerated (as in Solidity's abi.decode).
 *
 * Result numbers are stable and never reused.
 */
#ifndef COMMON_ABI_H
#define COMMON_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "buf.h"
#include "err.h"
#include "u256.h"

#define ABI_WORD_BYTES 32
#define ABI_SELECTOR_BYTES 4
#define ABI_DECODE_BYTES_MAX ((size_t)1 << 20) /* whole input to abi_decode */
#define ABI_VALUE_BYTES_MAX ((size_t)1 << 20)  /* one bytes/string value when encoding */
#define ABI_VALUES_MAX 32                      /* values per sequence or tuple */
#define ABI_ARRAY_ITEMS_MAX 4096               /* items of one bytes32[] */
#define ABI_TUPLE_DEPTH_MAX 4                  /* nested static tuples */
#define ABI_SIGNATURE_BYTES_MAX 512            /* "name(type,...)" for abi_encode_call */

enum abi_type {
    ABI_TYPE_UINT256 = 1,
    ABI_TYPE_ADDRESS = 2,
    ABI_TYPE_BYTES32 = 3,
    ABI_TYPE_BOOL = 4,
    ABI_TYPE_UINT8 = 5,
    ABI_TYPE_BYTES = 6,         /* dynamic */
    ABI_TYPE_STRING = 7,        /* dynamic */
    ABI_TYPE_BYTES32_ARRAY = 8, /* dynamic: bytes32[] */
    ABI_TYPE_TUPLE = 9          /* static tuple: every item static */
};

enum abi_result {
    ABI_OK = 0,
    ABI_ERR_BUF_TOO_BIG = 1,      /* encoder: output buf maximum reached */
    ABI_ERR_NOMEM = 2,            /* encoder: allocation failed */
    ABI_ERR_INPUT_TOO_BIG = 3,    /* input above ABI_DECODE_BYTES_MAX */
    ABI_ERR_UNALIGNED_LENGTH = 4, /* input length not a multiple of 32 */
    ABI_ERR_TRUNCATED = 5,        /* input shorter than the head */
    ABI_ERR_BAD_OFFSET = 6,       /* offset into the head, past the end, or too wide */
    ABI_ERR_UNALIGNED_OFFSET = 7, /* offset not a multiple of 32 */
    ABI_ERR_BAD_LENGTH = 8,       /* length/count runs past the end of the input */
    ABI_ERR_TOO_MANY_ITEMS = 9,   /* bytes32[] above ABI_ARRAY_ITEMS_MAX */
    ABI_ERR_DIRTY_HIGH_BITS = 10, /* address/bool/uint8 word with bits above its width */
    ABI_ERR_DIRTY_PADDING = 11,   /* non-zero padding after bytes/string data */
    ABI_ERR_TOO_MANY_VALUES = 12, /* sequence or tuple above ABI_VALUES_MAX */
    ABI_ERR_VALUE_TOO_BIG = 13,   /* encoder: bytes/string above ABI_VALUE_BYTES_MAX */
    ABI_ERR_BAD_TYPE = 14,        /* unknown type, dynamic item in a tuple, tuple too deep */
    ABI_ERR_SIGNATURE = 15        /* signature too long or not matching the values */
};

struct abi_value {
    enum abi_type type;
    union {
        struct u256 uint256;
        struct address address;
        uint8_t bytes32[ABI_WORD_BYTES];
        bool boolean;
        uint8_t uint8;
        struct {
            const uint8_t *data; /* may be NULL when len is 0 */
            size_t len;
        } bytes; /* ABI_TYPE_BYTES and ABI_TYPE_STRING */
        struct {
            const uint8_t *words; /* count * 32 contiguous bytes */
            size_t count;
        } bytes32_array;
        struct {
            struct abi_value *items;
            size_t count;
        } tuple;
    } as;
};

/* ---- value constructors (no allocation; pointers are borrowed) ------------ */

struct abi_value abi_value_uint256(const struct u256 *v);
struct abi_value abi_value_u64(uint64_t v); /* a uint256 holding v */
struct abi_value abi_value_address(const struct address *a);
struct abi_value abi_value_bytes32(const uint8_t b[ABI_WORD_BYTES]);
struct abi_value abi_value_bool(bool b);
struct abi_value abi_value_uint8(uint8_t v);
struct abi_value abi_value_bytes(const uint8_t *data, size_t len);
struct abi_value abi_value_string(const char *text, size_t len);
struct abi_value abi_value_bytes32_array(const uint8_t *words, size_t count);
struct abi_value abi_value_tuple(struct abi_value *items, size_t count);
/* A value with only its type set, to be filled by abi_decode(). */
struct abi_value abi_value_of_type(enum abi_type type);

/* ---- selectors and topics ---------------------------------------------------- */

/* out = first 4 bytes of keccak256(signature), e.g. "transfer(address,uint256)".
 * The signature must be canonical (no spaces, no names, uint not uint256's
 * alias); it is hashed as given. */
void abi_selector(uint8_t out[ABI_SELECTOR_BYTES], const char *signature);

/* out = keccak256(signature): topic 0 of an event, e.g. "Tipped(bytes32,address,uint256)". */
void abi_event_topic(uint8_t out[ABI_WORD_BYTES], const char *signature);

/* ---- encoding ------------------------------------------------------------------ */

/* Appends abi.encode(values[0..count)). */
enum abi_result abi_encode(struct buf *out, const struct abi_value *values, size_t count,
                           struct err *e) __attribute__((warn_unused_result));

/* Appends selector(signature) || abi.encode(values). The parameter list of
 * `signature` must equal the values' canonical types (e.g. "claim(bytes32,
 * address,uint256,bytes32[])" without the space), else ABI_ERR_SIGNATURE:
 * this catches argument lists that drifted from the signature. */
enum abi_result abi_encode_call(struct buf *out, const char *signature,
                                const struct abi_value *values, size_t count, struct err *e)
    __attribute__((warn_unused_result));

/* Appends the canonical parameter list of values, e.g. "(bytes32,uint8,address)". */
enum abi_result abi_format_types(struct buf *out, const struct abi_value *values, size_t count,
                                 struct err *e) __attribute__((warn_unused_result));

/* ---- decoding ------------------------------------------------------------------ */

/* Decodes in[0..in_len) as the sequence of values[0..count), whose types the
 * caller has set (see above). On failure the values are unspecified. */
enum abi_result abi_decode(struct abi_value *values, size_t count, const uint8_t *in, size_t in_len,
                           struct err *e) __attribute__((warn_unused_result));

/* Decodes one indexed event topic as a static value (uint256, address,
 * bytes32, bool, uint8), with the same high-bit checks. Dynamic types are
 * hashed in topics and cannot be decoded: ABI_ERR_BAD_TYPE. */
enum abi_result abi_decode_topic(struct abi_value *value, const uint8_t topic[ABI_WORD_BYTES],
                                 struct err *e) __attribute__((warn_unused_result));

#endif
