/* rlp.c - see rlp.h. */
#include "rlp.h"

#include <string.h>

#include "check.h"

struct rlp_header {
    enum rlp_kind kind;
    size_t header_len;
    size_t payload_len;
};

struct rlp_frame {
    size_t end;   /* document offset one past the list payload */
    size_t items; /* direct items seen so far */
};

static enum rlp_result rlp_from_buf(enum buf_result r);
static size_t rlp_be_len(uint8_t out[8], uint64_t value);
static enum rlp_result rlp_put_header(struct buf *out, uint8_t short_base, size_t payload_len);
static enum rlp_result rlp_parse_header(struct rlp_header *h, const uint8_t *p, size_t avail,
                                        size_t offset, const char *within, struct err *e);
static enum rlp_result rlp_parse_long_length(size_t *out, const uint8_t *p, size_t avail,
                                             size_t offset, const char *within, struct err *e);
static enum rlp_result rlp_walk(const struct rlp_item *root, struct err *e);
static enum rlp_result rlp_check_int(const struct rlp_item *item, size_t width_max, struct err *e);

/* ---- encoding ------------------------------------------------------------ */

static enum rlp_result rlp_from_buf(enum buf_result r)
{
    switch (r) {
    case BUF_OK:
        return RLP_OK;
    case BUF_ERR_TOO_BIG:
        return RLP_ERR_BUF_TOO_BIG;
    case BUF_ERR_NOMEM:
        return RLP_ERR_NOMEM;
    }
    return RLP_ERR_NOMEM;
}

/* Minimal big-endian bytes of value into out; returns the count (0 for 0). */
static size_t rlp_be_len(uint8_t out[8], uint64_t value)
{
    uint8_t tmp[8];
    size_t n = 0;
    while (value != 0 && n < 8) {
        tmp[n++] = (uint8_t)(value & 0xff);
        value >>= 8;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

static enum rlp_result rlp_put_header(struct buf *out, uint8_t short_base, size_t payload_len)
{
    if (payload_len < 56)
        return rlp_from_buf(buf_append_byte(out, (uint8_t)(short_base + payload_len)));
    uint8_t len_be[9];
    size_t n = rlp_be_len(len_be + 1, (uint64_t)payload_len);
    ASSERT(n >= 1 && n <= 8);
    len_be[0] = (uint8_t)(short_base + 55 + n);
    return rlp_from_buf(buf_append(out, len_be, n + 1));
}

enum rlp_result rlp_encode_bytes(struct buf *out, const uint8_t *data, size_t data_len)
{
    if (data_len == 1 && data[0] < 0x80)
        return rlp_from_buf(buf_append_byte(out, data[0]));
    enum rlp_result r = rlp_put_header(out, 0x80, data_len);
    if (r != RLP_OK)
        return r;
    return rlp_from_buf(buf_append(out, data, data_len));
}

enum rlp_result rlp_encode_u64(struct buf *out, uint64_t value)
{
    uint8_t be[8];
    size_t n = rlp_be_len(be, value);
    return rlp_encode_bytes(out, be, n);
}

enum rlp_result rlp_encode_u256(struct buf *out, const struct u256 *value)
{
    uint8_t be[32];
    size_t n = u256_to_be_min(be, value);
    ASSERT(n <= 32);
    ASSERT(n == 0 || be[0] != 0);
    return rlp_encode_bytes(out, be, n);
}

enum rlp_result rlp_encode_list_payload(struct buf *out, const uint8_t *payload, size_t payload_len)
{
    enum rlp_result r = rlp_put_header(out, 0xc0, payload_len);
    if (r != RLP_OK)
        return r;
    return rlp_from_buf(buf_append(out, payload, payload_len));
}

enum rlp_result rlp_list_begin(struct rlp_list *list, struct buf *out)
{
    list->header_offset = out->len;
    return rlp_from_buf(buf_append_byte(out, 0xc0));
}

enum rlp_result rlp_list_end(struct rlp_list *list, struct buf *out)
{
    size_t off = list->header_offset;
    ASSERT(out->len >= off + 1);
    ASSERT(out->data[off] == 0xc0);
    size_t payload_len = out->len - off - 1;
    if (payload_len < 56) {
        out->data[off] = (uint8_t)(0xc0 + payload_len);
        return RLP_OK;
    }
    uint8_t len_be[8];
    size_t n = rlp_be_len(len_be, (uint64_t)payload_len);
    ASSERT(n >= 1 && n <= 8);
    static const uint8_t zeros[8];
    enum rlp_result r = rlp_from_buf(buf_append(out, zeros, n));
    if (r != RLP_OK)
        return r;
    memmove(out->data + off + 1 + n, out->data + off + 1, payload_len);
    out->data[off] = (uint8_t)(0xf7 + n);
    memcpy(out->data + off + 1, len_be, n);
    ASSERT(out->len == off + 1 + n + payload_len);
    return RLP_OK;
}

/* ---- decoding ------------------------------------------------------------ */

/* Reads the big-endian length after a long-form prefix p[0]; avail counts p[0]. */
static enum rlp_result rlp_parse_long_length(size_t *out, const uint8_t *p, size_t avail,
                                             size_t offset, const char *within, struct err *e)
{
    size_t len_len = p[0] >= 0xf8 ? (size_t)(p[0] - 0xf7) : (size_t)(p[0] - 0xb7);
    ASSERT(len_len >= 1 && len_len <= 8);
    if (avail < 1 + len_len)
        return err_set(e, RLP_ERR_TRUNCATED,
                       "truncated rlp length at offset %zu: needs %zu bytes, %zu left in %s",
                       offset, 1 + len_len, avail, within);
    if (p[1] == 0)
        return err_set(e, RLP_ERR_NON_CANONICAL_LENGTH,
                       "non-canonical rlp length at offset %zu: leading zero byte", offset);
    uint64_t len = 0;
    for (size_t i = 0; i < len_len; i++)
        len = (len << 8) | p[1 + i];
    if (len > RLP_INPUT_BYTES_MAX)
        return err_set(e, RLP_ERR_OVERSIZED,
                       "oversized rlp item at offset %zu: length %llu exceeds maximum %zu", offset,
                       (unsigned long long)len, RLP_INPUT_BYTES_MAX);
    if (len < 56)
        return err_set(e, RLP_ERR_NON_CANONICAL_LENGTH,
                       "non-canonical rlp length at offset %zu: long form for %llu bytes", offset,
                       (unsigned long long)len);
    *out = (size_t)len;
    return RLP_OK;
}

/* Parses the header at p (avail bytes up to the end of the enclosing input or
 * list) and checks that the whole item fits. */
static enum rlp_result rlp_parse_header(struct rlp_header *h, const uint8_t *p, size_t avail,
                                        size_t offset, const char *within, struct err *e)
{
    ASSERT(avail > 0);
    uint8_t b = p[0];
    enum rlp_result r = RLP_OK;
    h->kind = b >= 0xc0 ? RLP_KIND_LIST : RLP_KIND_STRING;
    if (b < 0x80) {
        h->header_len = 0;
        h->payload_len = 1;
    } else if (b <= 0xb7 || (b >= 0xc0 && b <= 0xf7)) {
        h->header_len = 1;
        h->payload_len = (size_t)(b - (b <= 0xb7 ? 0x80 : 0xc0));
    } else {
        r = rlp_parse_long_length(&h->payload_len, p, avail, offset, within, e);
        if (r != RLP_OK)
            return r;
        h->header_len = 1 + (size_t)(b >= 0xf8 ? b - 0xf7 : b - 0xb7);
    }
    if (h->header_len > avail || h->payload_len > avail - h->header_len)
        return err_set(e, RLP_ERR_TRUNCATED,
                       "truncated rlp item at offset %zu: needs %zu bytes, %zu left in %s", offset,
                       h->header_len + h->payload_len, avail, within);
    if (b == 0x81 && p[1] < 0x80)
        return err_set(e, RLP_ERR_NON_CANONICAL_BYTE,
                       "non-canonical rlp string at offset %zu: byte 0x%02x must encode as itself",
                       offset, p[1]);
    return RLP_OK;
}

/* Iterative walk over every item below a root list (no recursion). */
static enum rlp_result rlp_walk(const struct rlp_item *root, struct err *e)
{
    struct rlp_frame stack[RLP_DEPTH_MAX];
    const uint8_t *base = root->payload;
    size_t base_off = root->offset + root->header_len; /* document offset of base */
    size_t depth = 1;
    size_t pos = 0; /* relative to base */
    stack[0].end = root->payload_len;
    stack[0].items = 0;
    for (size_t steps = 0; depth > 0; steps++) {
        ASSERT(steps <= 2 * RLP_INPUT_BYTES_MAX + 2);
        struct rlp_frame *top = &stack[depth - 1];
        if (pos == top->end) {
            depth--;
            continue;
        }
        ASSERT(pos < top->end);
        struct rlp_header h;
        enum rlp_result r =
            rlp_parse_header(&h, base + pos, top->end - pos, base_off + pos, "its list", e);
        if (r != RLP_OK)
            return r;
        if (++top->items > RLP_ITEMS_MAX)
            return err_set(e, RLP_ERR_TOO_MANY_ITEMS,
                           "too many rlp items in list ending at offset %zu: maximum %d",
                           base_off + top->end, RLP_ITEMS_MAX);
        if (h.kind == RLP_KIND_STRING) {
            pos += h.header_len + h.payload_len;
            continue;
        }
        if (depth == RLP_DEPTH_MAX)
            return err_set(e, RLP_ERR_TOO_DEEP,
                           "rlp list at offset %zu nested too deep: maximum depth %d",
                           base_off + pos, RLP_DEPTH_MAX);
        stack[depth].end = pos + h.header_len + h.payload_len;
        stack[depth].items = 0;
        depth++;
        pos += h.header_len;
    }
    ASSERT(pos == root->payload_len);
    return RLP_OK;
}

enum rlp_result rlp_decode(struct rlp_item *out, const uint8_t *in, size_t in_len, struct err *e)
{
    if (in_len == 0)
        return err_set(e, RLP_ERR_EMPTY, "empty rlp input");
    if (in_len > RLP_INPUT_BYTES_MAX)
        return err_set(e, RLP_ERR_OVERSIZED, "oversized rlp input: %zu bytes exceeds maximum %zu",
                       in_len, RLP_INPUT_BYTES_MAX);
    struct rlp_header h;
    enum rlp_result r = rlp_parse_header(&h, in, in_len, 0, "input", e);
    if (r != RLP_OK)
        return r;
    size_t item_len = h.header_len + h.payload_len;
    if (item_len != in_len)
        return err_set(e, RLP_ERR_TRAILING,
                       "trailing bytes after rlp item: %zu bytes at offset %zu", in_len - item_len,
                       item_len);
    struct rlp_item root = {h.kind, in + h.header_len, h.payload_len, 0, h.header_len};
    if (h.kind == RLP_KIND_LIST) {
        r = rlp_walk(&root, e);
        if (r != RLP_OK)
            return r;
    }
    *out = root;
    return RLP_OK;
}

enum rlp_result rlp_list_items(struct rlp_item *items, size_t items_cap, size_t *count,
                               const struct rlp_item *list, struct err *e)
{
    if (list->kind != RLP_KIND_LIST)
        return err_set(e, RLP_ERR_WRONG_KIND, "expected rlp list at offset %zu, got a string",
                       list->offset);
    size_t base_off = list->offset + list->header_len;
    size_t pos = 0, n = 0;
    while (pos < list->payload_len) {
        struct rlp_header h;
        enum rlp_result r = rlp_parse_header(&h, list->payload + pos, list->payload_len - pos,
                                             base_off + pos, "its list", e);
        if (r != RLP_OK)
            return r;
        if (n == items_cap || n == RLP_ITEMS_MAX)
            return err_set(e, RLP_ERR_TOO_MANY_ITEMS,
                           "too many rlp items in list at offset %zu: maximum %zu", list->offset,
                           items_cap < RLP_ITEMS_MAX ? items_cap : (size_t)RLP_ITEMS_MAX);
        items[n].kind = h.kind;
        items[n].payload = list->payload + pos + h.header_len;
        items[n].payload_len = h.payload_len;
        items[n].offset = base_off + pos;
        items[n].header_len = h.header_len;
        n++;
        pos += h.header_len + h.payload_len;
    }
    ASSERT(pos == list->payload_len);
    *count = n;
    return RLP_OK;
}

/* Checks kind, width and leading zeros shared by the integer readers. */
static enum rlp_result rlp_check_int(const struct rlp_item *item, size_t width_max, struct err *e)
{
    if (item->kind != RLP_KIND_STRING)
        return err_set(e, RLP_ERR_WRONG_KIND, "expected rlp integer at offset %zu, got a list",
                       item->offset);
    if (item->payload_len > width_max)
        return err_set(e, RLP_ERR_INT_TOO_BIG,
                       "rlp integer at offset %zu too big: %zu bytes, maximum %zu", item->offset,
                       item->payload_len, width_max);
    if (item->payload_len > 0 && item->payload[0] == 0)
        return err_set(e, RLP_ERR_NON_CANONICAL_INT,
                       "non-canonical rlp integer at offset %zu: leading zero byte", item->offset);
    return RLP_OK;
}

enum rlp_result rlp_item_to_u64(uint64_t *out, const struct rlp_item *item, struct err *e)
{
    enum rlp_result r = rlp_check_int(item, 8, e);
    if (r != RLP_OK)
        return r;
    uint64_t v = 0;
    for (size_t i = 0; i < item->payload_len; i++)
        v = (v << 8) | item->payload[i];
    *out = v;
    return RLP_OK;
}

enum rlp_result rlp_item_to_u256(struct u256 *out, const struct rlp_item *item, struct err *e)
{
    enum rlp_result r = rlp_check_int(item, 32, e);
    if (r != RLP_OK)
        return r;
    uint8_t be[32] = {0};
    memcpy(be + 32 - item->payload_len, item->payload, item->payload_len);
    *out = u256_from_be32(be);
    return RLP_OK;
}

enum rlp_result rlp_item_to_fixed(uint8_t *out, size_t out_len, const struct rlp_item *item,
                                  struct err *e)
{
    if (item->kind != RLP_KIND_STRING)
        return err_set(e, RLP_ERR_WRONG_KIND, "expected rlp string at offset %zu, got a list",
                       item->offset);
    if (item->payload_len != out_len)
        return err_set(e, RLP_ERR_WRONG_LENGTH,
                       "rlp string at offset %zu has wrong length: %zu bytes, expected %zu",
                       item->offset, item->payload_len, out_len);
    memcpy(out, item->payload, out_len);
    return RLP_OK;
}
