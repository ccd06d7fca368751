/*
 * test_buf.c - growable buffer limits: every append that would exceed len_max
 * returns BUF_ERR_TOO_BIG and leaves the buffer exactly as it was; appends up
 * to the maximum succeed; data stays NUL-terminated.
 */
#include <stdint.h>
#include <stdlib.h>

#include "buf.h"
#include "harness.h"

#define GROWTH_LEN_MAX ((size_t)1 << 20)
#define GROWTH_CHUNK_MAX 5000

static uint64_t rng;

struct buf_snapshot {
    uint8_t *data;
    size_t len, cap, len_max;
    uint8_t bytes[64];
};

static struct buf_snapshot snap(const struct buf *b)
{
    struct buf_snapshot s = {b->data, b->len, b->cap, b->len_max, {0}};
    if (b->data != NULL)
        memcpy(s.bytes, b->data, b->len + 1 < sizeof s.bytes ? b->len + 1 : sizeof s.bytes);
    return s;
}

/* The buffer is exactly as it was when `s` was taken, including its NUL. */
static void check_unchanged(const struct buf *b, const struct buf_snapshot *s)
{
    CHECK(b->data == s->data);
    CHECK_INT(b->len, s->len);
    CHECK_INT(b->cap, s->cap);
    CHECK_INT(b->len_max, s->len_max);
    if (b->data != NULL && s->data != NULL)
        CHECK_MEM(b->data, s->bytes, b->len + 1 < sizeof s->bytes ? b->len + 1 : sizeof s->bytes);
}

static void test_init_and_fill_to_max(void)
{
    struct buf b;
    buf_init(&b, 10);
    CHECK(b.data == NULL);
    CHECK_INT(b.len, 0);
    CHECK_INT(b.len_max, 10);
    CHECK_INT(buf_append(&b, "hello", 5), BUF_OK);
    CHECK_INT(b.len, 5);
    CHECK_STR((char *)b.data, "hello");
    CHECK_INT(buf_append_str(&b, "worl"), BUF_OK);
    CHECK_INT(buf_append_byte(&b, 'd'), BUF_OK);
    CHECK_INT(b.len, 10);
    CHECK_STR((char *)b.data, "helloworld");
    CHECK_INT(buf_append(&b, "", 0), BUF_OK); /* zero bytes at the max still fit */
    CHECK_INT(b.len, 10);
    buf_release(&b);
    CHECK(b.data == NULL);
    CHECK_INT(b.len, 0);
}

/* At the maximum, each append flavour fails with BUF_ERR_TOO_BIG, unchanged. */
static void test_too_big_at_max(void)
{
    struct buf b;
    buf_init(&b, 10);
    CHECK_INT(buf_append(&b, "0123456789", 10), BUF_OK);
    struct buf_snapshot s = snap(&b);
    CHECK_INT(buf_append(&b, "x", 1), BUF_ERR_TOO_BIG);
    check_unchanged(&b, &s);
    CHECK_INT(buf_append_byte(&b, 'x'), BUF_ERR_TOO_BIG);
    check_unchanged(&b, &s);
    CHECK_INT(buf_append_str(&b, "x"), BUF_ERR_TOO_BIG);
    check_unchanged(&b, &s);
    CHECK_INT(buf_printf(&b, "%d", 7), BUF_ERR_TOO_BIG);
    check_unchanged(&b, &s);
    CHECK_STR((char *)b.data, "0123456789");
    buf_release(&b);
}

/* Below the maximum, an append one byte too long fails and changes nothing;
 * the append that fits exactly then succeeds. */
static void test_too_big_partial(void)
{
    struct buf b;
    buf_init(&b, 8);
    CHECK_INT(buf_append_str(&b, "abc"), BUF_OK);
    struct buf_snapshot s = snap(&b);
    CHECK_INT(buf_append(&b, "defghi", 6), BUF_ERR_TOO_BIG);
    check_unchanged(&b, &s);
    CHECK_INT(buf_append_str(&b, "defghi"), BUF_ERR_TOO_BIG);
    check_unchanged(&b, &s);
    CHECK_INT(buf_printf(&b, "%s-%d", "de", 100), BUF_ERR_TOO_BIG); /* "de-100" = 6 */
    check_unchanged(&b, &s);
    CHECK_INT(buf_append(&b, "x", SIZE_MAX), BUF_ERR_TOO_BIG); /* no size_t wrap */
    check_unchanged(&b, &s);
    CHECK_INT(buf_printf(&b, "%s-%d", "d", 10), BUF_OK); /* "d-10" = 4, fits 7 */
    CHECK_STR((char *)b.data, "abcd-10");
    CHECK_INT(buf_append_byte(&b, '!'), BUF_OK);
    CHECK_INT(b.len, 8);
    CHECK_STR((char *)b.data, "abcd-10!");
    buf_release(&b);
}

static void test_zero_max(void)
{
    struct buf b;
    buf_init(&b, 0);
    CHECK_INT(buf_append_byte(&b, 'a'), BUF_ERR_TOO_BIG);
    CHECK(b.data == NULL);
    CHECK_INT(b.len, 0);
    CHECK_INT(buf_append(&b, "", 0), BUF_OK);
    CHECK(b.data != NULL && b.data[0] == '\0');
    CHECK_INT(buf_printf(&b, "%s", ""), BUF_OK);
    CHECK_INT(buf_printf(&b, "%c", 'z'), BUF_ERR_TOO_BIG);
    CHECK_INT(b.len, 0);
    buf_release(&b);
}

static void test_reset(void)
{
    struct buf b;
    buf_init(&b, 4);
    buf_reset(&b); /* on an empty buffer */
    CHECK_INT(buf_append_str(&b, "abcd"), BUF_OK);
    uint8_t *data = b.data;
    buf_reset(&b);
    CHECK_INT(b.len, 0);
    CHECK(b.data == data);
    CHECK_STR((char *)b.data, "");
    CHECK_INT(buf_append_str(&b, "wxyz"), BUF_OK);
    CHECK_STR((char *)b.data, "wxyz");
    CHECK_INT(buf_append_byte(&b, 0), BUF_ERR_TOO_BIG);
    buf_release(&b);
}

/* Random binary chunks (including NULs) up to a 1 MiB maximum, compared with
 * a reference copy; the first append that would pass the maximum fails and
 * every later small append that still fits succeeds. */
static void test_growth_random(void)
{
    struct buf b;
    buf_init(&b, GROWTH_LEN_MAX);
    uint8_t *ref = malloc(GROWTH_LEN_MAX), chunk[GROWTH_CHUNK_MAX];
    CHECK(ref != NULL);
    if (ref == NULL)
        return;
    size_t ref_len = 0, rejected = 0;
    for (int step = 0; step < 2000 && ref_len < GROWTH_LEN_MAX; step++) {
        size_t n = (size_t)(harness_rand(&rng) % GROWTH_CHUNK_MAX) + 1;
        for (size_t i = 0; i < n; i++)
            chunk[i] = (uint8_t)harness_rand(&rng);
        enum buf_result r = buf_append(&b, chunk, n);
        if (ref_len + n > GROWTH_LEN_MAX) {
            CHECK_INT(r, BUF_ERR_TOO_BIG);
            rejected++;
            n = GROWTH_LEN_MAX - ref_len;
            CHECK_INT(buf_append(&b, chunk, n), BUF_OK);
        } else {
            CHECK_INT(r, BUF_OK);
        }
        memcpy(ref + ref_len, chunk, n);
        ref_len += n;
        CHECK_INT(b.len, ref_len);
        CHECK(b.cap >= b.len + 1 && b.cap <= GROWTH_LEN_MAX + 1);
        CHECK_INT(b.data[b.len], 0);
    }
    CHECK_INT(ref_len, GROWTH_LEN_MAX);
    CHECK_INT(rejected, 1);
    CHECK_MEM(b.data, ref, ref_len);
    CHECK_INT(buf_append_byte(&b, 1), BUF_ERR_TOO_BIG);
    free(ref);
    buf_release(&b);
}

int main(void)
{
    rng = harness_seed();
    RUN(test_init_and_fill_to_max);
    RUN(test_too_big_at_max);
    RUN(test_too_big_partial);
    RUN(test_zero_max);
    RUN(test_reset);
    RUN(test_growth_random);
    return harness_finish();
}
