/*
 * fuzz_rlp.c - rlp_decode() and the item readers on arbitrary bytes.
 *
 * Input: byte 0 picks the mode, the rest is the RLP document.
 *   - rlp_decode() returns RLP_OK or a decoder code (never an encoder code,
 *     WRONG_KIND or an integer code), with e set on error and the same result
 *     when e is NULL.
 *   - decode OK: walking the tree with rlp_list_items() succeeds everywhere,
 *     items tile their list exactly, and re-encoding the tree with rlp.h's
 *     encoders (incremental lists) reproduces the input bytes exactly: the
 *     decoder accepts canonical RLP only, so there is one encoding per tree.
 *   - every string item: rlp_item_to_u64/u256 succeed exactly when the payload
 *     fits and has no leading zero, and the value re-encodes to the item's
 *     own bytes; rlp_item_to_fixed succeeds exactly for its length. List items
 *     give RLP_ERR_WRONG_KIND.
 *   - a caller array smaller than a list (cap from byte 0) gives
 *     RLP_ERR_TOO_MANY_ITEMS, and nothing else changes.
 *   - mode bit 7: the document is also handed to rlp_list_items() as the
 *     payload of a list item that never went through rlp_decode() (rlp.h:
 *     "safe on items that did not come from rlp_decode()"): no crash, and on
 *     success the items tile the payload exactly.
 */
#include "fuzz.h"
#include "rlp.h"

#define FUZZ_RLP_OUT_MAX (RLP_INPUT_BYTES_MAX + 64)

/* One open list while re-encoding: its items and where we are in them. */
struct rlp_frame {
    struct rlp_item items[RLP_ITEMS_MAX];
    size_t count;
    size_t next;
    struct rlp_list list;
};

static bool rlp_is_decoder_code(enum rlp_result r);
static void rlp_check_string(const struct rlp_item *it, const uint8_t *in, size_t in_len);
static void rlp_check_list_items(const struct rlp_item *items, size_t count,
                                 const struct rlp_item *list);
static void rlp_check_small_cap(const struct rlp_item *list, size_t cap, size_t count);
static void rlp_open_list(struct rlp_frame *f, const struct rlp_item *list, struct buf *out,
                          uint8_t mode);
static void rlp_reencode(const struct rlp_item *root, const uint8_t *in, size_t in_len,
                         uint8_t mode);
static void rlp_fuzz_raw_list(const uint8_t *in, size_t in_len);

static bool rlp_is_decoder_code(enum rlp_result r)
{
    return r == RLP_ERR_TRUNCATED || r == RLP_ERR_NON_CANONICAL_LENGTH ||
           r == RLP_ERR_NON_CANONICAL_BYTE || r == RLP_ERR_OVERSIZED || r == RLP_ERR_TOO_DEEP ||
           r == RLP_ERR_TRAILING || r == RLP_ERR_TOO_MANY_ITEMS || r == RLP_ERR_EMPTY;
}

/* The readers on one string item, against what its payload says. */
static void rlp_check_string(const struct rlp_item *it, const uint8_t *in, size_t in_len)
{
    FUZZ_CHECK(it->payload >= in && it->payload_len <= in_len - (size_t)(it->payload - in));
    bool lead_zero = it->payload_len > 0 && it->payload[0] == 0;
    struct buf b;
    buf_init(&b, 64);
    struct err e;

    uint64_t u = 0x5c5c5c5c5c5c5c5cULL;
    fuzz_err_prime(&e);
    enum rlp_result r = rlp_item_to_u64(&u, it, &e);
    FUZZ_CHECK((r == RLP_OK) == (it->payload_len <= 8 && !lead_zero));
    if (r == RLP_OK) {
        FUZZ_CHECK(rlp_encode_u64(&b, u) == RLP_OK);
        FUZZ_CHECK(b.len == it->header_len + it->payload_len);
        FUZZ_CHECK(memcmp(b.data, in + it->offset, b.len) == 0);
    } else {
        FUZZ_CHECK(r == RLP_ERR_INT_TOO_BIG || r == RLP_ERR_NON_CANONICAL_INT);
        FUZZ_CHECK(fuzz_err_is_set(&e, (int)r));
        FUZZ_CHECK(u == 0x5c5c5c5c5c5c5c5cULL);
    }

    struct u256 w = u256_zero();
    fuzz_err_prime(&e);
    r = rlp_item_to_u256(&w, it, &e);
    FUZZ_CHECK((r == RLP_OK) == (it->payload_len <= 32 && !lead_zero));
    if (r == RLP_OK) {
        buf_reset(&b);
        FUZZ_CHECK(rlp_encode_u256(&b, &w) == RLP_OK);
        FUZZ_CHECK(b.len == it->header_len + it->payload_len);
        FUZZ_CHECK(memcmp(b.data, in + it->offset, b.len) == 0);
    } else {
        FUZZ_CHECK(r == RLP_ERR_INT_TOO_BIG || r == RLP_ERR_NON_CANONICAL_INT);
        FUZZ_CHECK(fuzz_err_is_set(&e, (int)r));
    }
    buf_release(&b);

    uint8_t fixed[33];
    for (size_t want = 19; want <= 21; want++) {
        fuzz_err_prime(&e);
        r = rlp_item_to_fixed(fixed, want, it, &e);
        FUZZ_CHECK((r == RLP_OK) == (it->payload_len == want));
        if (r == RLP_OK)
            FUZZ_CHECK(memcmp(fixed, it->payload, want) == 0);
        else
            FUZZ_CHECK(r == RLP_ERR_WRONG_LENGTH && fuzz_err_is_set(&e, (int)r));
    }
    r = rlp_item_to_fixed(fixed, 32, it, NULL);
    FUZZ_CHECK((r == RLP_OK) == (it->payload_len == 32));
}

/* Items of a list must lie back to back, exactly covering its payload. */
static void rlp_check_list_items(const struct rlp_item *items, size_t count,
                                 const struct rlp_item *list)
{
    const uint8_t *p = list->payload;
    size_t off = list->offset + list->header_len;
    for (size_t i = 0; i < count; i++) {
        FUZZ_CHECK(items[i].kind == RLP_KIND_STRING || items[i].kind == RLP_KIND_LIST);
        FUZZ_CHECK(items[i].offset == off);
        FUZZ_CHECK(items[i].payload == p + items[i].header_len);
        p += items[i].header_len + items[i].payload_len;
        off += items[i].header_len + items[i].payload_len;
    }
    FUZZ_CHECK(p == list->payload + list->payload_len);
}

/* A caller array one slot too small fails with TOO_MANY_ITEMS. */
static void rlp_check_small_cap(const struct rlp_item *list, size_t cap, size_t count)
{
    if (cap >= count)
        return;
    struct rlp_item small[16];
    size_t n = 777;
    struct err e;
    fuzz_err_prime(&e);
    enum rlp_result r = rlp_list_items(small, cap, &n, list, &e);
    FUZZ_CHECK(r == RLP_ERR_TOO_MANY_ITEMS && fuzz_err_is_set(&e, (int)r));
    FUZZ_CHECK(n == 777);
}

static void rlp_open_list(struct rlp_frame *f, const struct rlp_item *list, struct buf *out,
                          uint8_t mode)
{
    struct err e;
    fuzz_err_prime(&e);
    f->count = 0;
    f->next = 0;
    enum rlp_result r = rlp_list_items(f->items, RLP_ITEMS_MAX, &f->count, list, &e);
    FUZZ_CHECK(r == RLP_OK); /* the whole document was validated */
    FUZZ_CHECK(fuzz_err_is_untouched(&e));
    FUZZ_CHECK(f->count <= RLP_ITEMS_MAX);
    rlp_check_list_items(f->items, f->count, list);
    rlp_check_small_cap(list, (size_t)(mode % 16), f->count);
    struct err e2;
    fuzz_err_prime(&e2);
    uint64_t u;
    FUZZ_CHECK(rlp_item_to_u64(&u, list, &e2) == RLP_ERR_WRONG_KIND);
    FUZZ_CHECK(fuzz_err_is_set(&e2, RLP_ERR_WRONG_KIND));
    FUZZ_CHECK(rlp_item_to_fixed((uint8_t *)&u, 0, list, NULL) == RLP_ERR_WRONG_KIND);
    FUZZ_CHECK(rlp_list_begin(&f->list, out) == RLP_OK);
}

/* Re-encodes the decoded tree without recursion (depth is at most
 * RLP_DEPTH_MAX after rlp_decode) and compares with the input. */
static void rlp_reencode(const struct rlp_item *root, const uint8_t *in, size_t in_len,
                         uint8_t mode)
{
    struct buf out;
    buf_init(&out, FUZZ_RLP_OUT_MAX);
    if (root->kind == RLP_KIND_STRING) {
        rlp_check_string(root, in, in_len);
        FUZZ_CHECK(rlp_encode_bytes(&out, root->payload, root->payload_len) == RLP_OK);
    } else {
        static struct rlp_frame stack[RLP_DEPTH_MAX]; /* 640 KiB: not on the stack */
        size_t depth = 1;
        rlp_open_list(&stack[0], root, &out, mode);
        while (depth > 0) {
            struct rlp_frame *top = &stack[depth - 1];
            if (top->next == top->count) {
                FUZZ_CHECK(rlp_list_end(&top->list, &out) == RLP_OK);
                depth--;
                continue;
            }
            const struct rlp_item *it = &top->items[top->next++];
            if (it->kind == RLP_KIND_LIST) {
                FUZZ_CHECK(depth < RLP_DEPTH_MAX);
                rlp_open_list(&stack[depth++], it, &out, mode);
                continue;
            }
            rlp_check_string(it, in, in_len);
            FUZZ_CHECK(rlp_encode_bytes(&out, it->payload, it->payload_len) == RLP_OK);
        }
        /* the root again, from its payload in one piece */
        struct buf whole;
        buf_init(&whole, FUZZ_RLP_OUT_MAX);
        FUZZ_CHECK(rlp_encode_list_payload(&whole, root->payload, root->payload_len) == RLP_OK);
        FUZZ_CHECK(whole.len == in_len && memcmp(whole.data, in, in_len) == 0);
        buf_release(&whole);
    }
    FUZZ_CHECK(out.len == in_len && memcmp(out.data, in, in_len) == 0);
    buf_release(&out);
}

/* The input as the payload of a list item that rlp_decode() never saw. */
static void rlp_fuzz_raw_list(const uint8_t *in, size_t in_len)
{
    struct rlp_item list = {RLP_KIND_LIST, in, in_len, 0, 0};
    static struct rlp_item items[RLP_ITEMS_MAX];
    size_t count = 777;
    struct err e;
    fuzz_err_prime(&e);
    enum rlp_result r = rlp_list_items(items, RLP_ITEMS_MAX, &count, &list, &e);
    if (r == RLP_OK) {
        FUZZ_CHECK(count <= RLP_ITEMS_MAX);
        rlp_check_list_items(items, count, &list);
    } else {
        FUZZ_CHECK(r == RLP_ERR_TRUNCATED || r == RLP_ERR_NON_CANONICAL_LENGTH ||
                   r == RLP_ERR_NON_CANONICAL_BYTE || r == RLP_ERR_OVERSIZED ||
                   r == RLP_ERR_TOO_MANY_ITEMS);
        FUZZ_CHECK(fuzz_err_is_set(&e, (int)r));
        FUZZ_CHECK(count == 777);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    const uint8_t *in = data + 1;
    size_t in_len = size - 1;

    struct rlp_item root;
    struct err e;
    fuzz_err_prime(&e);
    enum rlp_result r = rlp_decode(&root, in, in_len, &e);
    struct rlp_item again;
    FUZZ_CHECK(rlp_decode(&again, in, in_len, NULL) == r);
    if (r != RLP_OK) {
        FUZZ_CHECK(rlp_is_decoder_code(r));
        FUZZ_CHECK(fuzz_err_is_set(&e, (int)r));
        FUZZ_CHECK(r != RLP_ERR_EMPTY || in_len == 0);
    } else {
        FUZZ_CHECK(fuzz_err_is_untouched(&e));
        FUZZ_CHECK(root.offset == 0 && root.payload == in + root.header_len);
        FUZZ_CHECK(root.header_len + root.payload_len == in_len);
        rlp_reencode(&root, in, in_len, mode);
    }
    if (mode & 0x80)
        rlp_fuzz_raw_list(in, in_len);
    return 0;
}
