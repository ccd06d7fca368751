/* test_ingest.c - the ingest naming rules of ingest.c (pure): the media
 * sequence of a segment from the decimal digits ending its file name's stem
 * (ffmpeg's index<N>.ts), and the rendition index of a decimal rendition
 * name before the master playlist arrives (ffmpeg's %v). Checked on fixed
 * cases and against a reference model over every number up to 99999 and
 * over seeded random names. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "harness.h"

static uint64_t test_seed;

static bool seq_of(uint64_t *out, const char *name)
{
    return gw_ingest_sequence_of_name(out, name, strlen(name));
}

static void test_sequence_fixed(void)
{
    uint64_t v = 77;
    CHECK(seq_of(&v, "index0.ts"));
    CHECK_INT(v, 0);
    CHECK(seq_of(&v, "index1.ts"));
    CHECK_INT(v, 1);
    CHECK(seq_of(&v, "index12345.ts"));
    CHECK_INT(v, 12345);
    CHECK(seq_of(&v, "seg007.m4s"));
    CHECK_INT(v, 7);
    CHECK(seq_of(&v, "42.ts")); /* an all-digit stem */
    CHECK_INT(v, 42);
    CHECK(seq_of(&v, "a1b22.aac")); /* only the trailing run counts */
    CHECK_INT(v, 22);
    CHECK(seq_of(&v, "index_3.vtt"));
    CHECK_INT(v, 3);
    CHECK(seq_of(&v, "x999999999999999999.ts")); /* 18 digits */
    CHECK(v == 999999999999999999ULL);
    CHECK(seq_of(&v, "x000000000000000001.ts")); /* 18 digits, leading zeros */
    CHECK_INT(v, 1);
    v = 77;
    CHECK(!seq_of(&v, "x1000000000000000000.ts")); /* 19 digits */
    CHECK(!seq_of(&v, "x0000000000000000001.ts"));
    CHECK(!seq_of(&v, "index.ts"));
    CHECK(!seq_of(&v, "index1a.ts"));
    CHECK(!seq_of(&v, ".ts"));
    CHECK(!seq_of(&v, ""));
    CHECK_INT(v, 77); /* untouched on refusal */
    /* The extension does not count: digits after the dot are not the stem's. */
    CHECK(!seq_of(&v, "index.m4s"));
    CHECK(!seq_of(&v, "index.mp4"));
    /* Only name_len bytes are read. */
    CHECK(gw_ingest_sequence_of_name(&v, "index5.ts", 6));
    CHECK_INT(v, 5);
    CHECK(!gw_ingest_sequence_of_name(&v, "index5.ts", 5));
}

/* Every number 0..99999 as "index<N>.ts" and "s<N zero-padded to 8>.ts". */
static void test_sequence_model(void)
{
    for (uint64_t n = 0; n < 100000; n++) {
        char a[32], b[32];
        uint64_t va = UINT64_MAX, vb = UINT64_MAX;
        snprintf(a, sizeof a, "index%" PRIu64 ".ts", n);
        snprintf(b, sizeof b, "s%08" PRIu64 ".ts", n);
        if (!seq_of(&va, a) || va != n || !seq_of(&vb, b) || vb != n) {
            CHECK_MSG(false, "%s -> %" PRIu64 ", %s -> %" PRIu64, a, va, b, vb);
            return;
        }
    }
}

/* Random names over [a-z0-9_] stems against the reference rule. */
static void test_sequence_random(void)
{
    static const char chars[] = "abz_-0123456789";
    uint64_t state = test_seed;
    for (int round = 0; round < 20000; round++) {
        char name[40];
        size_t stem = 1 + harness_rand(&state) % 24;
        for (size_t i = 0; i < stem; i++)
            name[i] = chars[harness_rand(&state) % (sizeof chars - 1)];
        memcpy(name + stem, ".ts", 4);
        size_t digits = 0;
        while (digits < stem && name[stem - 1 - digits] >= '0' && name[stem - 1 - digits] <= '9')
            digits++;
        uint64_t want = 0, got = UINT64_MAX;
        for (size_t i = stem - digits; i < stem; i++)
            want = want * 10 + (uint64_t)(name[i] - '0');
        bool want_ok = digits >= 1 && digits <= 18, ok = seq_of(&got, name);
        if (ok != want_ok || (ok && got != want)) {
            CHECK_MSG(false, "%s: got %d/%" PRIu64 " want %d/%" PRIu64, name, ok, got, want_ok,
                      want);
            return;
        }
    }
}

static void test_rendition_of_name(void)
{
    uint32_t v = 99;
    char name[8];
    for (uint32_t i = 0; i < 32; i++) {
        snprintf(name, sizeof name, "%" PRIu32, i);
        CHECK(gw_ingest_rendition_of_name(&v, name, strlen(name)));
        CHECK_INT(v, i);
    }
    v = 99;
    static const char *const bad[] = {"32", "99", "100", "00", "01",   "-1", "+1",
                                      "1a", "a",  "",    " 1", "720p", "0x1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_MSG(!gw_ingest_rendition_of_name(&v, bad[i], strlen(bad[i])), "'%s'", bad[i]);
    CHECK_INT(v, 99);
    CHECK(gw_ingest_rendition_of_name(&v, "31x", 2)); /* only the given bytes */
    CHECK_INT(v, 31);
}

int main(void)
{
    test_seed = harness_seed();
    RUN(test_sequence_fixed);
    RUN(test_sequence_model);
    RUN(test_sequence_random);
    RUN(test_rendition_of_name);
    return harness_finish();
}
