/*
 * fuzz_abi.c - abi_decode() with caller-preset types, and abi_decode_topic().
 *
 * Input: a 16-byte header, then the ABI data. Header byte 0: bit 7 picks
 * topic mode, bits 0-6 the value count (0..7). Bytes 1-15 are type codes,
 * read in order as the type tree is built (tuples take an item count from
 * the next byte, then their items; codes past the header mean uint256). A few
 * codes are invalid on purpose (type 0, type 10, dynamic items in tuples,
 * tuples nested too deep).
 *
 * abi_decode() properties:
 *   - the result is ABI_OK or a decoder code (never an encoder code), with e
 *     set on error; BAD_TYPE exactly when the types are invalid (model),
 *     UNALIGNED_LENGTH / TRUNCATED only when they hold;
 *   - OK: bytes/string/bytes32[] point inside the input; re-encoding the
 *     decoded values succeeds and reproduces what was consumed: every static
 *     head word at its position, and every dynamic value's tail (length word,
 *     data, zero padding) at the offset the input gave; with only static
 *     values that is the input's head byte for byte. Decoding the re-encoding
 *     with the same types gives it back again.
 * abi_decode_topic(): the first data word as the topic; BAD_TYPE for anything
 * but uint256/address/bytes32/bool/uint8, else the same result as decoding
 * that one word, and OK re-encodes to the topic.
 */
#include "abi.h"
#include "fuzz.h"

#define ABI_FUZZ_HEADER_BYTES 16
#define ABI_FUZZ_VALUES_MAX 7
#define ABI_FUZZ_POOL_MAX 64 /* tuple items of one input */
#define ABI_FUZZ_DEPTH_MAX 6 /* beyond ABI_TUPLE_DEPTH_MAX on purpose */
#define ABI_FUZZ_OUT_MAX ((size_t)4 << 20)

struct abi_shape {
    struct abi_value values[ABI_FUZZ_VALUES_MAX];
    size_t count;
    struct abi_value pool[ABI_FUZZ_POOL_MAX];
    size_t pool_used;
};

static enum abi_type abi_code_type(uint8_t code);
static void abi_make_value(struct abi_value *v, struct abi_shape *s, struct fuzz_in *types,
                           int depth);
static void abi_make_shape(struct abi_shape *s, const uint8_t header[ABI_FUZZ_HEADER_BYTES]);
static bool abi_is_dynamic_type(enum abi_type t);
static bool abi_model_valid(const struct abi_value *v, int depth);
static size_t abi_model_head(const struct abi_value *v);
static size_t abi_model_tail(const struct abi_value *v);
static size_t abi_word_size(const uint8_t *word);
static bool abi_is_decoder_code(enum abi_result r);
static void abi_check_inside(const struct abi_value *v, const uint8_t *in, size_t in_len);
static void abi_check_reencode(const struct abi_shape *s, const uint8_t *in, size_t in_len,
                               const uint8_t header[ABI_FUZZ_HEADER_BYTES]);
static void fuzz_abi_decode(const uint8_t header[ABI_FUZZ_HEADER_BYTES], const uint8_t *in,
                            size_t in_len);
static void fuzz_abi_topic(const uint8_t header[ABI_FUZZ_HEADER_BYTES], const uint8_t *in,
                           size_t in_len);

static enum abi_type abi_code_type(uint8_t code)
{
    unsigned c = code % 16u;
    if (c >= 1 && c <= 9)
        return (enum abi_type)c;
    if (c >= 10 && c <= 13)
        return ABI_TYPE_TUPLE;
    if (c == 14)
        return (enum abi_type)0; /* invalid */
    if (c == 15)
        return (enum abi_type)10; /* invalid */
    return ABI_TYPE_UINT256;
}

static void abi_make_value(struct abi_value *v, struct abi_shape *s, struct fuzz_in *types,
                           int depth)
{
    *v = abi_value_of_type(abi_code_type(fuzz_take_byte(types)));
    if (v->type != ABI_TYPE_TUPLE)
        return;
    size_t n = depth < ABI_FUZZ_DEPTH_MAX ? fuzz_take_byte(types) % 5u : 0;
    if (n > ABI_FUZZ_POOL_MAX - s->pool_used)
        n = 0;
    v->as.tuple.items = &s->pool[s->pool_used];
    v->as.tuple.count = n;
    s->pool_used += n;
    for (size_t i = 0; i < n; i++)
        abi_make_value(&v->as.tuple.items[i], s, types, depth + 1);
}

/* Deterministic: the same header always gives the same tree. */
static void abi_make_shape(struct abi_shape *s, const uint8_t header[ABI_FUZZ_HEADER_BYTES])
{
    memset(s, 0, sizeof *s);
    struct fuzz_in types = {header + 1, ABI_FUZZ_HEADER_BYTES - 1};
    s->count = (size_t)(header[0] & 0x7f) % (ABI_FUZZ_VALUES_MAX + 1); /* 0..7 */
    for (size_t i = 0; i < s->count; i++)
        abi_make_value(&s->values[i], s, &types, 0);
}

static bool abi_is_dynamic_type(enum abi_type t)
{
    return t == ABI_TYPE_BYTES || t == ABI_TYPE_STRING || t == ABI_TYPE_BYTES32_ARRAY;
}

/* abi.h: known types; tuples hold static items, nested at most
 * ABI_TUPLE_DEPTH_MAX deep, at most ABI_VALUES_MAX items. */
static bool abi_model_valid(const struct abi_value *v, int depth)
{
    if (v->type < ABI_TYPE_UINT256 || v->type > ABI_TYPE_TUPLE)
        return false;
    if (depth > 0 && abi_is_dynamic_type(v->type))
        return false;
    if (v->type != ABI_TYPE_TUPLE)
        return true;
    if (depth == ABI_TUPLE_DEPTH_MAX || v->as.tuple.count > ABI_VALUES_MAX)
        return false;
    for (size_t i = 0; i < v->as.tuple.count; i++)
        if (!abi_model_valid(&v->as.tuple.items[i], depth + 1))
            return false;
    return true;
}

static size_t abi_model_head(const struct abi_value *v)
{
    if (v->type != ABI_TYPE_TUPLE)
        return ABI_WORD_BYTES;
    size_t n = 0;
    for (size_t i = 0; i < v->as.tuple.count; i++)
        n += abi_model_head(&v->as.tuple.items[i]);
    return n;
}

/* Length word + data + padding of a decoded dynamic value. */
static size_t abi_model_tail(const struct abi_value *v)
{
    if (v->type == ABI_TYPE_BYTES32_ARRAY)
        return ABI_WORD_BYTES * (1 + v->as.bytes32_array.count);
    return ABI_WORD_BYTES +
           (v->as.bytes.len + ABI_WORD_BYTES - 1) / ABI_WORD_BYTES * ABI_WORD_BYTES;
}

/* An offset word the decoder already accepted: small, big-endian. */
static size_t abi_word_size(const uint8_t *word)
{
    size_t v = 0;
    for (size_t i = ABI_WORD_BYTES - 8; i < ABI_WORD_BYTES; i++)
        v = (v << 8) | word[i];
    return v;
}

static void abi_check_inside(const struct abi_value *v, const uint8_t *in, size_t in_len)
{
    const uint8_t *p = NULL;
    size_t n = 0;
    if (v->type == ABI_TYPE_BYTES || v->type == ABI_TYPE_STRING) {
        p = v->as.bytes.data;
        n = v->as.bytes.len;
    } else if (v->type == ABI_TYPE_BYTES32_ARRAY) {
        p = v->as.bytes32_array.words;
        n = v->as.bytes32_array.count;
        FUZZ_CHECK(n <= ABI_ARRAY_ITEMS_MAX);
        n *= ABI_WORD_BYTES;
    } else {
        return;
    }
    FUZZ_CHECK(n == 0 || (p != NULL && p >= in && n <= in_len - (size_t)(p - in)));
}

static void abi_check_reencode(const struct abi_shape *s, const uint8_t *in, size_t in_len,
                               const uint8_t header[ABI_FUZZ_HEADER_BYTES])
{
    struct buf enc;
    buf_init(&enc, ABI_FUZZ_OUT_MAX);
    struct err e;
    fuzz_err_prime(&e);
    FUZZ_CHECK(abi_encode(&enc, s->values, s->count, &e) == ABI_OK);
    if (enc.len == 0) { /* no values, or only empty tuples */
        buf_release(&enc);
        return;
    }
    size_t pos = 0;
    for (size_t i = 0; i < s->count; i++) {
        const struct abi_value *v = &s->values[i];
        size_t head = abi_model_head(v);
        FUZZ_CHECK(pos + head <= enc.len && pos + head <= in_len);
        if (!abi_is_dynamic_type(v->type)) {
            FUZZ_CHECK(fuzz_mem_eq(enc.data + pos, in + pos, head));
        } else {
            size_t off_in = abi_word_size(in + pos), off_enc = abi_word_size(enc.data + pos);
            size_t tail = abi_model_tail(v);
            FUZZ_CHECK(off_in <= in_len && tail <= in_len - off_in);
            FUZZ_CHECK(off_enc <= enc.len && tail <= enc.len - off_enc);
            FUZZ_CHECK(memcmp(enc.data + off_enc, in + off_in, tail) == 0);
        }
        pos += head;
    }
    /* decode(encode(values)) == values, compared through a second encoding */
    struct abi_shape *again = malloc(sizeof *again);
    FUZZ_CHECK(again != NULL);
    abi_make_shape(again, header);
    FUZZ_CHECK(abi_decode(again->values, again->count, enc.data, enc.len, NULL) == ABI_OK);
    struct buf enc2;
    buf_init(&enc2, ABI_FUZZ_OUT_MAX);
    FUZZ_CHECK(abi_encode(&enc2, again->values, again->count, NULL) == ABI_OK);
    FUZZ_CHECK(enc2.len == enc.len && memcmp(enc2.data, enc.data, enc.len) == 0);
    buf_release(&enc2);
    free(again);
    buf_release(&enc);
}

static bool abi_is_decoder_code(enum abi_result r)
{
    switch (r) {
    case ABI_ERR_INPUT_TOO_BIG:
    case ABI_ERR_UNALIGNED_LENGTH:
    case ABI_ERR_TRUNCATED:
    case ABI_ERR_BAD_OFFSET:
    case ABI_ERR_UNALIGNED_OFFSET:
    case ABI_ERR_BAD_LENGTH:
    case ABI_ERR_TOO_MANY_ITEMS:
    case ABI_ERR_DIRTY_HIGH_BITS:
    case ABI_ERR_DIRTY_PADDING:
    case ABI_ERR_TOO_MANY_VALUES:
    case ABI_ERR_BAD_TYPE:
        return true;
    default:
        return false;
    }
}

static void fuzz_abi_decode(const uint8_t header[ABI_FUZZ_HEADER_BYTES], const uint8_t *in,
                            size_t in_len)
{
    struct abi_shape *s = malloc(sizeof *s);
    FUZZ_CHECK(s != NULL);
    abi_make_shape(s, header);
    bool valid = true, all_static = true;
    size_t head = 0;
    for (size_t i = 0; i < s->count; i++) {
        valid &= abi_model_valid(&s->values[i], 0);
        all_static &= !abi_is_dynamic_type(s->values[i].type);
    }
    for (size_t i = 0; valid && i < s->count; i++)
        head += abi_model_head(&s->values[i]);

    struct err e;
    fuzz_err_prime(&e);
    enum abi_result r = abi_decode(s->values, s->count, in, in_len, &e);
    FUZZ_CHECK(r == ABI_OK || abi_is_decoder_code(r));
    FUZZ_CHECK(valid || r != ABI_OK);
    FUZZ_CHECK(r != ABI_ERR_BAD_TYPE || !valid);
    FUZZ_CHECK(r != ABI_ERR_UNALIGNED_LENGTH || in_len % ABI_WORD_BYTES != 0);
    FUZZ_CHECK(r != ABI_ERR_TRUNCATED || (valid && in_len < head));
    FUZZ_CHECK(r == ABI_OK || fuzz_err_is_set(&e, (int)r));
    if (r == ABI_OK) {
        FUZZ_CHECK(fuzz_err_is_untouched(&e));
        FUZZ_CHECK(in_len % ABI_WORD_BYTES == 0 && in_len >= head);
        for (size_t i = 0; i < s->count; i++)
            abi_check_inside(&s->values[i], in, in_len);
        abi_check_reencode(s, in, in_len, header);
        if (all_static) {
            struct buf enc;
            buf_init(&enc, ABI_FUZZ_OUT_MAX);
            FUZZ_CHECK(abi_encode(&enc, s->values, s->count, NULL) == ABI_OK);
            FUZZ_CHECK(enc.len == head && fuzz_mem_eq(enc.data, in, head));
            buf_release(&enc);
        }
    }
    abi_make_shape(s, header);
    FUZZ_CHECK(abi_decode(s->values, s->count, in, in_len, NULL) == r);
    free(s);
}

static void fuzz_abi_topic(const uint8_t header[ABI_FUZZ_HEADER_BYTES], const uint8_t *in,
                           size_t in_len)
{
    uint8_t topic[ABI_WORD_BYTES];
    struct fuzz_in rest = {in, in_len};
    fuzz_take_bytes(topic, sizeof topic, &rest);
    struct abi_value v = abi_value_of_type(abi_code_type(header[1]));
    bool topic_type = v.type >= ABI_TYPE_UINT256 && v.type <= ABI_TYPE_UINT8;
    struct err e;
    fuzz_err_prime(&e);
    enum abi_result r = abi_decode_topic(&v, topic, &e);
    FUZZ_CHECK(r == ABI_OK || r == ABI_ERR_DIRTY_HIGH_BITS || r == ABI_ERR_BAD_TYPE);
    FUZZ_CHECK((r == ABI_ERR_BAD_TYPE) == !topic_type);
    FUZZ_CHECK(r == ABI_OK || fuzz_err_is_set(&e, (int)r));
    if (!topic_type)
        return;
    struct abi_value w = abi_value_of_type(v.type);
    FUZZ_CHECK(abi_decode(&w, 1, topic, sizeof topic, NULL) == r);
    if (r != ABI_OK)
        return;
    struct buf enc;
    buf_init(&enc, ABI_WORD_BYTES);
    FUZZ_CHECK(abi_encode(&enc, &v, 1, NULL) == ABI_OK);
    FUZZ_CHECK(enc.len == ABI_WORD_BYTES && memcmp(enc.data, topic, ABI_WORD_BYTES) == 0);
    buf_release(&enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t header[ABI_FUZZ_HEADER_BYTES];
    struct fuzz_in in = {data, size};
    fuzz_take_bytes(header, sizeof header, &in);
    if (header[0] & 0x80)
        fuzz_abi_topic(header, in.p, in.len);
    else
        fuzz_abi_decode(header, in.p, in.len);
    return 0;
}
