/* abi.c - see abi.h. */
#include "abi.h"

#include <string.h>

#include "check.h"
#include "keccak.h"

static enum abi_result abi_from_buf(enum buf_result r);
static bool abi_is_dynamic(enum abi_type type);
static const char *abi_type_name(enum abi_type type);
static enum abi_result abi_check_values(const struct abi_value *values, size_t count, bool encoding,
                                        int depth, struct err *e);
static size_t abi_head_size(const struct abi_value *v);
static size_t abi_padded_len(size_t len);
static size_t abi_tail_size(const struct abi_value *v);
static enum abi_result abi_put_size(struct buf *out, size_t n);
static enum abi_result abi_put_static(struct buf *out, const struct abi_value *v);
static enum abi_result abi_put_tail(struct buf *out, const struct abi_value *v);
static enum abi_result abi_format_value(struct buf *out, const struct abi_value *v);
static bool abi_word_to_size(size_t *out, const uint8_t *word);
static enum abi_result abi_dirty(enum abi_type type, size_t offset, struct err *e);
static bool abi_all_zero(const uint8_t *p, size_t len);
static enum abi_result abi_get_static(struct abi_value *v, const uint8_t *word, size_t offset,
                                      struct err *e);
static enum abi_result abi_get_tail(struct abi_value *v, const uint8_t *in, size_t in_len,
                                    size_t offset, struct err *e);
static enum abi_result abi_get_offset(size_t *out, const uint8_t *in, size_t in_len,
                                      size_t head_pos, size_t head_size, struct err *e);

/* ---- constructors ----------------------------------------------------------- */

struct abi_value abi_value_uint256(const struct u256 *v)
{
    struct abi_value x = {.type = ABI_TYPE_UINT256};
    x.as.uint256 = *v;
    return x;
}

struct abi_value abi_value_u64(uint64_t v)
{
    struct abi_value x = {.type = ABI_TYPE_UINT256};
    x.as.uint256 = u256_from_u64(v);
    return x;
}

struct abi_value abi_value_address(const struct address *a)
{
    struct abi_value x = {.type = ABI_TYPE_ADDRESS};
    x.as.address = *a;
    return x;
}

struct abi_value abi_value_bytes32(const uint8_t b[ABI_WORD_BYTES])
{
    struct abi_value x = {.type = ABI_TYPE_BYTES32};
    memcpy(x.as.bytes32, b, ABI_WORD_BYTES);
    return x;
}

struct abi_value abi_value_bool(bool b)
{
    struct abi_value x = {.type = ABI_TYPE_BOOL};
    x.as.boolean = b;
    return x;
}

struct abi_value abi_value_uint8(uint8_t v)
{
    struct abi_value x = {.type = ABI_TYPE_UINT8};
    x.as.uint8 = v;
    return x;
}

struct abi_value abi_value_bytes(const uint8_t *data, size_t len)
{
    struct abi_value x = {.type = ABI_TYPE_BYTES};
    x.as.bytes.data = data;
    x.as.bytes.len = len;
    return x;
}

struct abi_value abi_value_string(const char *text, size_t len)
{
    struct abi_value x = {.type = ABI_TYPE_STRING};
    x.as.bytes.data = (const uint8_t *)text;
    x.as.bytes.len = len;
    return x;
}

struct abi_value abi_value_bytes32_array(const uint8_t *words, size_t count)
{
    struct abi_value x = {.type = ABI_TYPE_BYTES32_ARRAY};
    x.as.bytes32_array.words = words;
    x.as.bytes32_array.count = count;
    return x;
}

struct abi_value abi_value_tuple(struct abi_value *items, size_t count)
{
    struct abi_value x = {.type = ABI_TYPE_TUPLE};
    x.as.tuple.items = items;
    x.as.tuple.count = count;
    return x;
}

struct abi_value abi_value_of_type(enum abi_type type)
{
    struct abi_value x;
    memset(&x, 0, sizeof x);
    x.type = type;
    return x;
}

/* ---- selectors -------------------------------------------------------------- */

void abi_selector(uint8_t out[ABI_SELECTOR_BYTES], const char *signature)
{
    uint8_t h[KECCAK256_BYTES];
    keccak256(h, signature, strlen(signature));
    memcpy(out, h, ABI_SELECTOR_BYTES);
}

void abi_event_topic(uint8_t out[ABI_WORD_BYTES], const char *signature)
{
    keccak256(out, signature, strlen(signature));
}

/* ---- shared helpers --------------------------------------------------------- */

static enum abi_result abi_from_buf(enum buf_result r)
{
    switch (r) {
    case BUF_OK:
        return ABI_OK;
    case BUF_ERR_TOO_BIG:
        return ABI_ERR_BUF_TOO_BIG;
    case BUF_ERR_NOMEM:
        return ABI_ERR_NOMEM;
    }
    return ABI_ERR_NOMEM;
}

static bool abi_is_dynamic(enum abi_type type)
{
    return type == ABI_TYPE_BYTES || type == ABI_TYPE_STRING || type == ABI_TYPE_BYTES32_ARRAY;
}

static const char *abi_type_name(enum abi_type type)
{
    switch (type) {
    case ABI_TYPE_UINT256:
        return "uint256";
    case ABI_TYPE_ADDRESS:
        return "address";
    case ABI_TYPE_BYTES32:
        return "bytes32";
    case ABI_TYPE_BOOL:
        return "bool";
    case ABI_TYPE_UINT8:
        return "uint8";
    case ABI_TYPE_BYTES:
        return "bytes";
    case ABI_TYPE_STRING:
        return "string";
    case ABI_TYPE_BYTES32_ARRAY:
        return "bytes32[]";
    case ABI_TYPE_TUPLE:
        return "tuple";
    }
    return "unknown";
}

/* Checks counts, types and (when encoding) lengths before anything is
 * written; recursion is bounded by ABI_TUPLE_DEPTH_MAX. */
static enum abi_result abi_check_values(const struct abi_value *values, size_t count, bool encoding,
                                        int depth, struct err *e)
{
    if (count > ABI_VALUES_MAX)
        return err_set(e, ABI_ERR_TOO_MANY_VALUES, "too many abi values: %zu, maximum %d", count,
                       ABI_VALUES_MAX);
    ASSERT(count == 0 || values != NULL);
    for (size_t i = 0; i < count; i++) {
        const struct abi_value *v = &values[i];
        if (v->type < ABI_TYPE_UINT256 || v->type > ABI_TYPE_TUPLE)
            return err_set(e, ABI_ERR_BAD_TYPE, "unknown abi type %d for value %zu", (int)v->type,
                           i);
        if (depth > 0 && abi_is_dynamic(v->type))
            return err_set(e, ABI_ERR_BAD_TYPE, "dynamic abi type '%s' inside a tuple (item %zu)",
                           abi_type_name(v->type), i);
        if (v->type == ABI_TYPE_TUPLE) {
            if (depth == ABI_TUPLE_DEPTH_MAX)
                return err_set(e, ABI_ERR_BAD_TYPE, "abi tuples nested too deep: maximum %d",
                               ABI_TUPLE_DEPTH_MAX);
            enum abi_result r =
                abi_check_values(v->as.tuple.items, v->as.tuple.count, encoding, depth + 1, e);
            if (r != ABI_OK)
                return r;
        }
        if (!encoding)
            continue;
        if ((v->type == ABI_TYPE_BYTES || v->type == ABI_TYPE_STRING) &&
            v->as.bytes.len > ABI_VALUE_BYTES_MAX)
            return err_set(e, ABI_ERR_VALUE_TOO_BIG,
                           "abi %s value %zu too big: %zu bytes, maximum %zu",
                           abi_type_name(v->type), i, v->as.bytes.len, ABI_VALUE_BYTES_MAX);
        if (v->type == ABI_TYPE_BYTES32_ARRAY && v->as.bytes32_array.count > ABI_ARRAY_ITEMS_MAX)
            return err_set(e, ABI_ERR_TOO_MANY_ITEMS,
                           "too many items in abi bytes32[] value %zu: %zu, maximum %d", i,
                           v->as.bytes32_array.count, ABI_ARRAY_ITEMS_MAX);
        ASSERT(!(v->type == ABI_TYPE_BYTES || v->type == ABI_TYPE_STRING) || v->as.bytes.len == 0 ||
               v->as.bytes.data != NULL);
        ASSERT(v->type != ABI_TYPE_BYTES32_ARRAY || v->as.bytes32_array.count == 0 ||
               v->as.bytes32_array.words != NULL);
    }
    return ABI_OK;
}

/* Bytes the value takes in the head (checked values only). */
static size_t abi_head_size(const struct abi_value *v)
{
    if (v->type != ABI_TYPE_TUPLE)
        return ABI_WORD_BYTES;
    size_t n = 0;
    for (size_t i = 0; i < v->as.tuple.count; i++)
        n += abi_head_size(&v->as.tuple.items[i]);
    return n;
}

static size_t abi_padded_len(size_t len)
{
    return (len + ABI_WORD_BYTES - 1) / ABI_WORD_BYTES * ABI_WORD_BYTES;
}

/* Bytes the value takes in the tail (0 for static values). */
static size_t abi_tail_size(const struct abi_value *v)
{
    if (v->type == ABI_TYPE_BYTES || v->type == ABI_TYPE_STRING)
        return ABI_WORD_BYTES + abi_padded_len(v->as.bytes.len);
    if (v->type == ABI_TYPE_BYTES32_ARRAY)
        return ABI_WORD_BYTES + ABI_WORD_BYTES * v->as.bytes32_array.count;
    return 0;
}

/* ---- encoding ----------------------------------------------------------------- */

static enum abi_result abi_put_size(struct buf *out, size_t n)
{
    struct u256 v = u256_from_u64((uint64_t)n);
    uint8_t word[ABI_WORD_BYTES];
    u256_to_be32(word, &v);
    return abi_from_buf(buf_append(out, word, ABI_WORD_BYTES));
}

static enum abi_result abi_put_static(struct buf *out, const struct abi_value *v)
{
    uint8_t word[ABI_WORD_BYTES] = {0};
    switch (v->type) {
    case ABI_TYPE_UINT256:
        u256_to_be32(word, &v->as.uint256);
        break;
    case ABI_TYPE_ADDRESS:
        memcpy(word + ABI_WORD_BYTES - ADDRESS_BYTES, v->as.address.bytes, ADDRESS_BYTES);
        break;
    case ABI_TYPE_BYTES32:
        memcpy(word, v->as.bytes32, ABI_WORD_BYTES);
        break;
    case ABI_TYPE_BOOL:
        word[ABI_WORD_BYTES - 1] = v->as.boolean ? 1 : 0;
        break;
    case ABI_TYPE_UINT8:
        word[ABI_WORD_BYTES - 1] = v->as.uint8;
        break;
    case ABI_TYPE_TUPLE:
        for (size_t i = 0; i < v->as.tuple.count; i++) {
            enum abi_result r = abi_put_static(out, &v->as.tuple.items[i]);
            if (r != ABI_OK)
                return r;
        }
        return ABI_OK;
    case ABI_TYPE_BYTES:
    case ABI_TYPE_STRING:
    case ABI_TYPE_BYTES32_ARRAY:
        ASSERT(!"dynamic value in abi_put_static");
    }
    return abi_from_buf(buf_append(out, word, ABI_WORD_BYTES));
}

static enum abi_result abi_put_tail(struct buf *out, const struct abi_value *v)
{
    static const uint8_t zeros[ABI_WORD_BYTES];
    if (v->type == ABI_TYPE_BYTES32_ARRAY) {
        enum abi_result r = abi_put_size(out, v->as.bytes32_array.count);
        if (r != ABI_OK || v->as.bytes32_array.count == 0)
            return r;
        return abi_from_buf(
            buf_append(out, v->as.bytes32_array.words, ABI_WORD_BYTES * v->as.bytes32_array.count));
    }
    ASSERT(v->type == ABI_TYPE_BYTES || v->type == ABI_TYPE_STRING);
    size_t len = v->as.bytes.len;
    enum abi_result r = abi_put_size(out, len);
    if (r == ABI_OK && len > 0)
        r = abi_from_buf(buf_append(out, v->as.bytes.data, len));
    if (r == ABI_OK && abi_padded_len(len) > len)
        r = abi_from_buf(buf_append(out, zeros, abi_padded_len(len) - len));
    return r;
}

enum abi_result abi_encode(struct buf *out, const struct abi_value *values, size_t count,
                           struct err *e)
{
    enum abi_result r = abi_check_values(values, count, true, 0, e);
    if (r != ABI_OK)
        return r;
    size_t start = out->len;
    size_t head_size = 0;
    for (size_t i = 0; i < count; i++)
        head_size += abi_head_size(&values[i]);
    size_t tail_offset = head_size;
    for (size_t i = 0; i < count && r == ABI_OK; i++) {
        if (!abi_is_dynamic(values[i].type)) {
            r = abi_put_static(out, &values[i]);
            continue;
        }
        r = abi_put_size(out, tail_offset);
        tail_offset += abi_tail_size(&values[i]);
    }
    ASSERT(r != ABI_OK || out->len - start == head_size);
    for (size_t i = 0; i < count && r == ABI_OK; i++)
        if (abi_is_dynamic(values[i].type))
            r = abi_put_tail(out, &values[i]);
    if (r != ABI_OK)
        return err_set(e, (int)r, "abi encoding does not fit in the output buffer (maximum %zu)",
                       out->len_max);
    ASSERT(out->len - start == tail_offset);
    ASSERT((out->len - start) % ABI_WORD_BYTES == 0);
    return ABI_OK;
}

static enum abi_result abi_format_value(struct buf *out, const struct abi_value *v)
{
    if (v->type != ABI_TYPE_TUPLE)
        return abi_from_buf(buf_append_str(out, abi_type_name(v->type)));
    enum abi_result r = abi_from_buf(buf_append_byte(out, '('));
    for (size_t i = 0; i < v->as.tuple.count && r == ABI_OK; i++) {
        if (i > 0)
            r = abi_from_buf(buf_append_byte(out, ','));
        if (r == ABI_OK)
            r = abi_format_value(out, &v->as.tuple.items[i]);
    }
    return r == ABI_OK ? abi_from_buf(buf_append_byte(out, ')')) : r;
}

enum abi_result abi_format_types(struct buf *out, const struct abi_value *values, size_t count,
                                 struct err *e)
{
    enum abi_result r = abi_check_values(values, count, false, 0, e);
    if (r != ABI_OK)
        return r;
    r = abi_from_buf(buf_append_byte(out, '('));
    for (size_t i = 0; i < count && r == ABI_OK; i++) {
        if (i > 0)
            r = abi_from_buf(buf_append_byte(out, ','));
        if (r == ABI_OK)
            r = abi_format_value(out, &values[i]);
    }
    if (r == ABI_OK)
        r = abi_from_buf(buf_append_byte(out, ')'));
    if (r != ABI_OK)
        return err_set(e, (int)r, "abi type list does not fit in the output buffer");
    return ABI_OK;
}

enum abi_result abi_encode_call(struct buf *out, const char *signature,
                                const struct abi_value *values, size_t count, struct err *e)
{
    size_t sig_len = strnlen(signature, ABI_SIGNATURE_BYTES_MAX + 1);
    if (sig_len > ABI_SIGNATURE_BYTES_MAX)
        return err_set(e, ABI_ERR_SIGNATURE, "abi signature too long: maximum %d bytes",
                       ABI_SIGNATURE_BYTES_MAX);
    const char *params = strchr(signature, '(');
    if (params == NULL || params == signature)
        return err_set(e, ABI_ERR_SIGNATURE, "invalid abi signature '%s': expected name(types)",
                       signature);
    struct buf types;
    buf_init(&types, ABI_SIGNATURE_BYTES_MAX);
    enum abi_result r = abi_format_types(&types, values, count, e);
    if (r == ABI_OK && strcmp((const char *)types.data, params) != 0)
        r = err_set(e, ABI_ERR_SIGNATURE, "abi signature '%s' does not match argument types '%s'",
                    signature, (const char *)types.data);
    buf_release(&types);
    if (r != ABI_OK)
        return r;
    uint8_t selector[ABI_SELECTOR_BYTES];
    abi_selector(selector, signature);
    size_t start = out->len;
    r = abi_from_buf(buf_append(out, selector, sizeof selector));
    if (r != ABI_OK)
        return err_set(e, (int)r, "abi call does not fit in the output buffer (maximum %zu)",
                       out->len_max);
    r = abi_encode(out, values, count, e);
    if (r != ABI_OK)
        out->len = start; /* drop the partial call */
    return r;
}

/* ---- decoding ----------------------------------------------------------------- */

/* A word as size_t when its value is below 2^63 (high bytes zero). */
static bool abi_word_to_size(size_t *out, const uint8_t *word)
{
    if (!abi_all_zero(word, ABI_WORD_BYTES - 8) || word[ABI_WORD_BYTES - 8] >= 0x80)
        return false;
    uint64_t v = 0;
    for (size_t i = ABI_WORD_BYTES - 8; i < ABI_WORD_BYTES; i++)
        v = (v << 8) | word[i];
    if (v > SIZE_MAX / 2)
        return false;
    *out = (size_t)v;
    return true;
}

static bool abi_all_zero(const uint8_t *p, size_t len)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++)
        acc |= p[i];
    return acc == 0;
}

static enum abi_result abi_dirty(enum abi_type type, size_t offset, struct err *e)
{
    return err_set(e, ABI_ERR_DIRTY_HIGH_BITS,
                   "invalid abi %s word at offset %zu: bits set above its width",
                   abi_type_name(type), offset);
}

/* Decodes a static value starting at `word` (offset is for messages). */
static enum abi_result abi_get_static(struct abi_value *v, const uint8_t *word, size_t offset,
                                      struct err *e)
{
    const size_t last = ABI_WORD_BYTES - 1;
    switch (v->type) {
    case ABI_TYPE_UINT256:
        v->as.uint256 = u256_from_be32(word);
        return ABI_OK;
    case ABI_TYPE_ADDRESS:
        if (!abi_all_zero(word, ABI_WORD_BYTES - ADDRESS_BYTES))
            return abi_dirty(v->type, offset, e);
        memcpy(v->as.address.bytes, word + ABI_WORD_BYTES - ADDRESS_BYTES, ADDRESS_BYTES);
        return ABI_OK;
    case ABI_TYPE_BYTES32:
        memcpy(v->as.bytes32, word, ABI_WORD_BYTES);
        return ABI_OK;
    case ABI_TYPE_BOOL:
        if (!abi_all_zero(word, last) || word[last] > 1)
            return abi_dirty(v->type, offset, e);
        v->as.boolean = word[last] == 1;
        return ABI_OK;
    case ABI_TYPE_UINT8:
        if (!abi_all_zero(word, last))
            return abi_dirty(v->type, offset, e);
        v->as.uint8 = word[last];
        return ABI_OK;
    case ABI_TYPE_TUPLE:
        for (size_t i = 0; i < v->as.tuple.count; i++) {
            struct abi_value *item = &v->as.tuple.items[i];
            enum abi_result r = abi_get_static(item, word, offset, e);
            if (r != ABI_OK)
                return r;
            word += abi_head_size(item);
            offset += abi_head_size(item);
        }
        return ABI_OK;
    case ABI_TYPE_BYTES:
    case ABI_TYPE_STRING:
    case ABI_TYPE_BYTES32_ARRAY:
        break;
    }
    return err_set(e, ABI_ERR_BAD_TYPE, "abi type '%s' is not static", abi_type_name(v->type));
}

/* Reads and checks the offset word at head_pos. */
static enum abi_result abi_get_offset(size_t *out, const uint8_t *in, size_t in_len,
                                      size_t head_pos, size_t head_size, struct err *e)
{
    size_t offset;
    if (!abi_word_to_size(&offset, in + head_pos) || offset > in_len)
        return err_set(e, ABI_ERR_BAD_OFFSET,
                       "abi offset at %zu points past the end of the %zu-byte input", head_pos,
                       in_len);
    if (offset % ABI_WORD_BYTES != 0)
        return err_set(e, ABI_ERR_UNALIGNED_OFFSET,
                       "abi offset at %zu is not a multiple of 32: %zu", head_pos, offset);
    if (offset < head_size || in_len - offset < ABI_WORD_BYTES)
        return err_set(e, ABI_ERR_BAD_OFFSET,
                       "abi offset at %zu out of range: %zu (head %zu bytes, input %zu bytes)",
                       head_pos, offset, head_size, in_len);
    *out = offset;
    return ABI_OK;
}

/* Decodes the dynamic value whose length word is at `offset` (checked to be
 * aligned and to leave at least one word). */
static enum abi_result abi_get_tail(struct abi_value *v, const uint8_t *in, size_t in_len,
                                    size_t offset, struct err *e)
{
    size_t room = in_len - offset - ABI_WORD_BYTES; /* bytes after the length word */
    const uint8_t *data = in + offset + ABI_WORD_BYTES;
    size_t n;
    bool fits = abi_word_to_size(&n, in + offset);
    if (v->type == ABI_TYPE_BYTES32_ARRAY) {
        if (fits && n > ABI_ARRAY_ITEMS_MAX)
            return err_set(e, ABI_ERR_TOO_MANY_ITEMS,
                           "too many items in abi bytes32[] at offset %zu: %zu, maximum %d", offset,
                           n, ABI_ARRAY_ITEMS_MAX);
        if (!fits || n > room / ABI_WORD_BYTES)
            return err_set(e, ABI_ERR_BAD_LENGTH,
                           "abi bytes32[] at offset %zu runs past the end of the input", offset);
        v->as.bytes32_array.words = n > 0 ? data : NULL;
        v->as.bytes32_array.count = n;
        return ABI_OK;
    }
    if (!fits || n > room)
        return err_set(e, ABI_ERR_BAD_LENGTH,
                       "abi %s at offset %zu runs past the end of the input (%zu bytes left)",
                       abi_type_name(v->type), offset, room);
    ASSERT(abi_padded_len(n) <= room); /* room is a multiple of 32 */
    if (!abi_all_zero(data + n, abi_padded_len(n) - n))
        return err_set(e, ABI_ERR_DIRTY_PADDING, "non-zero padding after abi %s at offset %zu",
                       abi_type_name(v->type), offset);
    v->as.bytes.data = n > 0 ? data : NULL;
    v->as.bytes.len = n;
    return ABI_OK;
}

enum abi_result abi_decode(struct abi_value *values, size_t count, const uint8_t *in, size_t in_len,
                           struct err *e)
{
    if (in_len > ABI_DECODE_BYTES_MAX)
        return err_set(e, ABI_ERR_INPUT_TOO_BIG, "abi input too big: %zu bytes, maximum %zu",
                       in_len, ABI_DECODE_BYTES_MAX);
    if (in_len % ABI_WORD_BYTES != 0)
        return err_set(e, ABI_ERR_UNALIGNED_LENGTH, "abi input length %zu is not a multiple of 32",
                       in_len);
    enum abi_result r = abi_check_values(values, count, false, 0, e);
    if (r != ABI_OK)
        return r;
    size_t head_size = 0;
    for (size_t i = 0; i < count; i++)
        head_size += abi_head_size(&values[i]);
    if (in_len < head_size)
        return err_set(e, ABI_ERR_TRUNCATED,
                       "truncated abi input: %zu bytes, the head alone needs %zu", in_len,
                       head_size);
    size_t pos = 0;
    for (size_t i = 0; i < count && r == ABI_OK; i++) {
        struct abi_value *v = &values[i];
        if (abi_is_dynamic(v->type)) {
            size_t offset = 0;
            r = abi_get_offset(&offset, in, in_len, pos, head_size, e);
            if (r == ABI_OK)
                r = abi_get_tail(v, in, in_len, offset, e);
        } else {
            r = abi_get_static(v, in + pos, pos, e);
        }
        pos += abi_head_size(v);
    }
    ASSERT(r != ABI_OK || pos == head_size);
    return r;
}

enum abi_result abi_decode_topic(struct abi_value *value, const uint8_t topic[ABI_WORD_BYTES],
                                 struct err *e)
{
    if (value->type < ABI_TYPE_UINT256 || value->type > ABI_TYPE_UINT8)
        return err_set(e, ABI_ERR_BAD_TYPE, "abi type '%s' cannot be decoded from a topic",
                       abi_type_name(value->type));
    return abi_get_static(value, topic, 0, e);
}
