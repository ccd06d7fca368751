/*
 * test_keccak.c - Keccak-256 against published vectors and against digests
 * recorded from Foundry's `cast keccak` (tests/vectors/keccak_cast.txt, made by
 * tests/vectors/gen_keccak_cast.sh), plus incremental-update equivalence.
 *
 * Usage: test_keccak [path/to/keccak_cast.txt]   (run from the repo root)
 */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "keccak.h"

#define CAST_VECTORS_DEFAULT "tests/vectors/keccak_cast.txt"
#define CAST_LINE_MAX 1024
#define CAST_INPUT_BYTES_MAX 400
#define CAST_VECTORS_MIN 50

static const char *cast_path = CAST_VECTORS_DEFAULT;
static uint64_t rng;

/* Test-local hex decoder (independent of hex.c): returns bytes written or -1. */
static long unhex(uint8_t *out, size_t cap, const char *s, size_t len)
{
    if (len % 2 != 0 || len / 2 > cap)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return -1;
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(v << 4);
        else
            out[i / 2] = (uint8_t)(out[i / 2] | v);
    }
    return (long)(len / 2);
}

static void digest_hex(char out[65], const uint8_t d[32])
{
    static const char x[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = x[d[i] >> 4];
        out[2 * i + 1] = x[d[i] & 15];
    }
    out[64] = '\0';
}

static void check_oneshot(const void *data, size_t len, const char *want_hex)
{
    uint8_t d[32];
    char got[65];
    keccak256(d, data, len);
    digest_hex(got, d);
    CHECK_STR(got, want_hex);
}

/* Feeds `data` in chunks of `chunk` bytes (0 = random sizes 0..300). */
static void hash_chunked(uint8_t out[32], const uint8_t *data, size_t len, size_t chunk)
{
    struct keccak k;
    keccak_init(&k);
    size_t off = 0;
    while (off < len) {
        size_t n = chunk ? chunk : (size_t)(harness_rand(&rng) % 301);
        if (n > len - off)
            n = len - off;
        keccak_update(&k, data + off, n);
        off += n;
    }
    keccak_final(&k, out);
}

static void test_published_vectors(void)
{
    check_oneshot("", 0, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    check_oneshot("abc", 3, "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
    const char *fox = "The quick brown fox jumps over the lazy dog";
    check_oneshot(fox, strlen(fox),
                  "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15");
    const char *m56 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check_oneshot(m56, strlen(m56),
                  "45d3b367a6904e6e8d502ee04999a7c27647f91fa845d456525fd352ae3d7371");
    const char *m112 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                       "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    CHECK_INT(strlen(m112), 112);
    check_oneshot(m112, strlen(m112),
                  "f519747ed599024f3882238e5ab43960132572b7345fbeb9a90769dafd21ad67");
}

/* 200 bytes of 0xa3: crosses the 136-byte rate boundary (two absorbs). */
static void test_200_bytes_a3(void)
{
    uint8_t m[200], d[32];
    char got[65];
    memset(m, 0xa3, sizeof m);
    const char *want = "3a57666b048777f2c953dc4456f45a2588e1cb6f2da760122d530ac2ce607d4a";
    check_oneshot(m, sizeof m, want);
    size_t chunks[] = {1, 3, 135, 136, 137, 199, 200};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        hash_chunked(d, m, sizeof m, chunks[i]);
        digest_hex(got, d);
        CHECK_STR(got, want);
    }
}

/* One million 'a': published digest, one-shot and incremental in many chunkings. */
static void test_million_a(void)
{
    size_t len = 1000000;
    uint8_t *m = malloc(len);
    CHECK(m != NULL);
    if (m == NULL)
        return;
    memset(m, 'a', len);
    const char *want = "fadae6b49f129bbb812be8407b7b2894f34aecf6dbd1f9b0f0c7e9853098fc96";
    check_oneshot(m, len, want);
    size_t chunks[] = {1, 7, 64, 135, 136, 137, 1000, 65536, 0, 0};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        uint8_t d[32];
        char got[65];
        hash_chunked(d, m, len, chunks[i]);
        digest_hex(got, d);
        CHECK_MSG(strcmp(got, want) == 0, "chunk %zu: %s", chunks[i], got);
    }
    free(m);
}

/* For every length 0..600: byte-at-a-time, random chunks and zero-length
 * updates all equal the one-shot digest. */
static void test_incremental_equivalence(void)
{
    uint8_t m[600];
    for (size_t i = 0; i < sizeof m; i++)
        m[i] = (uint8_t)(harness_rand(&rng) & 0xff);
    for (size_t len = 0; len <= sizeof m; len++) {
        uint8_t one[32], bytewise[32], rnd[32], split[32];
        keccak256(one, m, len);
        hash_chunked(bytewise, m, len, 1);
        hash_chunked(rnd, m, len, 0);
        struct keccak k;
        keccak_init(&k);
        size_t cut = len / 3;
        keccak_update(&k, m, cut);
        keccak_update(&k, m + cut, 0);
        keccak_update(&k, m + cut, len - cut);
        keccak_final(&k, split);
        CHECK_MSG(memcmp(one, bytewise, 32) == 0, "bytewise differs at len %zu", len);
        CHECK_MSG(memcmp(one, rnd, 32) == 0, "random chunks differ at len %zu", len);
        CHECK_MSG(memcmp(one, split, 32) == 0, "split differs at len %zu", len);
    }
}

/* Different inputs of the same length, and inputs differing only in length,
 * give different digests (catches a sponge that ignores data or padding). */
static void test_distinct(void)
{
    uint8_t zero[137] = {0}, d1[32], d2[32];
    for (size_t len = 1; len <= sizeof zero; len++) {
        keccak256(d1, zero, len - 1);
        keccak256(d2, zero, len);
        CHECK_MSG(memcmp(d1, d2, 32) != 0, "len %zu and %zu collide", len - 1, len);
    }
    uint8_t a[136] = {0}, b[136] = {0};
    b[135] = 1;
    keccak256(d1, a, sizeof a);
    keccak256(d2, b, sizeof b);
    CHECK(memcmp(d1, d2, 32) != 0);
}

/* Parses one "<len> 0x<input> 0x<digest>" line; returns 1 if parsed. */
static int parse_cast_line(char *line, uint8_t *in, size_t *in_len, uint8_t digest[32])
{
    char *p = line, *end = NULL;
    unsigned long n = strtoul(p, &end, 10);
    if (end == p || *end != ' ' || n > CAST_INPUT_BYTES_MAX)
        return 0;
    char *hex_in = end + 1, *sp = strchr(hex_in, ' ');
    if (sp == NULL || strncmp(hex_in, "0x", 2) != 0 || strncmp(sp + 1, "0x", 2) != 0)
        return 0;
    char *hex_d = sp + 3;
    size_t d_len = strcspn(hex_d, "\r\n");
    if (unhex(in, CAST_INPUT_BYTES_MAX, hex_in + 2, (size_t)(sp - hex_in - 2)) != (long)n)
        return 0;
    if (unhex(digest, 32, hex_d, d_len) != 32)
        return 0;
    *in_len = n;
    return 1;
}

static void test_cast_vectors(void)
{
    static const size_t required[] = {0, 135, 136, 137, 271, 272, 300};
    enum { REQUIRED_N = sizeof required / sizeof required[0] };
    int seen[REQUIRED_N] = {0};
    FILE *f = fopen(cast_path, "r");
    CHECK_MSG(f != NULL, "cannot open %s", cast_path);
    if (f == NULL)
        return;
    char line[CAST_LINE_MAX];
    size_t count = 0;
    uint8_t in[CAST_INPUT_BYTES_MAX], want[32], got[32];
    while (fgets(line, sizeof line, f) != NULL) {
        if (line[0] == '#')
            continue;
        size_t len = 0;
        int ok = parse_cast_line(line, in, &len, want);
        CHECK_MSG(ok, "bad vector line: %.60s", line);
        if (!ok)
            continue;
        count++;
        for (size_t i = 0; i < REQUIRED_N; i++)
            seen[i] |= required[i] == len;
        keccak256(got, in, len);
        CHECK_MSG(memcmp(got, want, 32) == 0, "one-shot mismatch for len %zu", len);
        hash_chunked(got, in, len, 0);
        CHECK_MSG(memcmp(got, want, 32) == 0, "incremental mismatch for len %zu", len);
    }
    fclose(f);
    fprintf(stdout, "# %zu cast vectors from %s\n", count, cast_path);
    CHECK_MSG(count >= CAST_VECTORS_MIN, "only %zu vectors", count);
    for (size_t i = 0; i < REQUIRED_N; i++)
        CHECK_MSG(seen[i], "no vector of length %zu", required[i]);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        cast_path = argv[1];
    rng = harness_seed();
    RUN(test_published_vectors);
    RUN(test_200_bytes_a3);
    RUN(test_million_a);
    RUN(test_incremental_equivalence);
    RUN(test_distinct);
    RUN(test_cast_vectors);
    return harness_finish();
}
