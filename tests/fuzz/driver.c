/*
 * driver.c - runs one fuzz target (LLVMFuzzerTestOneInput) without libFuzzer,
 * as a unit test under ASan/UBSan/LSan. Linked with one tests/fuzz/fuzz_*.c.
 *
 *   fuzz_<name>              corpus pass + mutation pass (what tests/run.sh runs)
 *   fuzz_<name> FILE|DIR...  replays just those inputs (e.g. a crash file)
 *
 * Pass 1 feeds every file of tests/fuzz/corpus/<name>/ (FUZZ_NAME, set by the
 * Makefile; files sorted by name, dotfiles skipped). Pass 2 feeds
 * FUZZ_ITERATIONS (default DRIVER_ITERATIONS_DEFAULT) mutants of each corpus
 * entry: 1-4 stacked bit flips, byte sets/inserts/deletes, truncations,
 * splices with another entry, boundary bytes (RLP's 0x80/0xb7/0xb8/0xf7/0xf8/
 * 0xff...), tokens ("0x", 78/79-digit numbers, JSON pieces) and 32-byte ABI
 * words. The PRNG is splitmix64 (harness_rand) seeded with FUZZ_SEED, else
 * TEST_SEED (tests/run.sh pins one per run, so each run tries new mutants),
 * else DRIVER_SEED_DEFAULT; the seed and where it came from are printed, and
 * FUZZ_SEED=<seed> replays the same mutants.
 *
 * Every input is copied into a buffer of exactly its size, so ASan catches a
 * read one byte past the end. A broken property aborts the process: before it
 * dies the driver prints the input as hex (replay with `xxd -r -p`), the
 * entry it came from, the iteration and the seed. The runner then sees no
 * summary line and counts a failure. Otherwise each pass is one "ok - ..."
 * test and the last line is "N passed, N failed".
 */
#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "harness.h"

#if defined(__SANITIZE_ADDRESS__)
#define DRIVER_HAVE_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DRIVER_HAVE_SANITIZER 1
#endif
#endif
#ifdef DRIVER_HAVE_SANITIZER
#include <sanitizer/common_interface_defs.h>
#endif

#ifndef FUZZ_NAME
#error "build with -DFUZZ_NAME='\"<name>\"' (see the Makefile)"
#endif

#define DRIVER_CORPUS_DIR "tests/fuzz/corpus/"
#define DRIVER_FILES_MAX 512
#define DRIVER_PATH_BYTES_MAX 1024
#define DRIVER_FILE_BYTES_MAX ((size_t)1 << 20)
#define DRIVER_MUTANT_GROWTH_MAX 4096  /* a mutant is at most its entry + this */
#define DRIVER_ITERATIONS_DEFAULT 5000 /* all targets: ~20 s under ASan */
#define DRIVER_ITERATIONS_MAX 100000000ULL
#define DRIVER_SEED_DEFAULT 20240601ULL
#define DRIVER_STACK_MAX 4 /* mutations applied to one mutant */
#define DRIVER_DUMP_BYTES_MAX 4096

struct driver_entry {
    char name[DRIVER_PATH_BYTES_MAX];
    uint8_t *data;
    size_t len;
};

struct driver_corpus {
    struct driver_entry items[DRIVER_FILES_MAX];
    size_t count;
    size_t len_max;
    bool load_failed;
};

/* What runs now, for the crash report (read by the signal handler). */
struct driver_current {
    const char *entry;
    const uint8_t *data;
    size_t len;
    uint64_t iteration; /* 0 = the entry itself */
    uint64_t seed;
};

static struct driver_corpus driver_corpus;
static struct driver_current driver_now;
static uint64_t driver_seed, driver_iterations;
static volatile sig_atomic_t driver_reported;

static void driver_write_str(const char *s);
static void driver_write_u64(uint64_t v);
static void driver_report(void);
static void driver_on_abort(int sig);
static void driver_install_reporters(void);
static bool driver_load_file(struct driver_corpus *c, const char *path);
static int driver_cmp_names(const void *a, const void *b);
static bool driver_load_dir(struct driver_corpus *c, const char *dir);
static bool driver_load_path(struct driver_corpus *c, const char *path);
static void driver_run_one(const char *entry, const uint8_t *data, size_t len, uint64_t iteration);
static size_t driver_pick(uint64_t *rng, size_t n);
static size_t driver_insert(uint8_t *m, size_t len, size_t cap, size_t pos, const void *src,
                            size_t n);
static size_t driver_delete(uint8_t *m, size_t len, size_t pos, size_t n);
static size_t driver_word_pos(uint64_t *rng, size_t len);
static void driver_make_word(uint8_t word[32], uint64_t *rng, size_t len);
static size_t driver_mutate(uint8_t *m, size_t len, size_t cap, uint64_t *rng);
static size_t driver_mutate_once(uint8_t *m, size_t len, size_t cap, uint64_t *rng);
static void test_corpus(void);
static void test_mutations(void);

/* ---- crash report (async-signal-safe: write(2) only) ------------------------------ */

static void driver_write_str(const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void driver_write_u64(uint64_t v)
{
    char buf[24];
    size_t i = sizeof buf - 1;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0 && i > 0);
    driver_write_str(buf + i);
}

static void driver_report(void)
{
    static const char digits[] = "0123456789abcdef";
    if (driver_reported || driver_now.entry == NULL)
        return;
    driver_reported = 1;
    driver_write_str("# fuzz/" FUZZ_NAME ": crash on input from '");
    driver_write_str(driver_now.entry);
    driver_write_str("' iteration ");
    driver_write_u64(driver_now.iteration);
    driver_write_str(" seed ");
    driver_write_u64(driver_now.seed);
    driver_write_str(" (");
    driver_write_u64(driver_now.len);
    driver_write_str(" bytes; replay: echo HEX | xxd -r -p > f && fuzz_" FUZZ_NAME " f)\n# hex: ");
    size_t n = driver_now.len < DRIVER_DUMP_BYTES_MAX ? driver_now.len : DRIVER_DUMP_BYTES_MAX;
    for (size_t i = 0; i < n; i++) {
        char pair[3] = {digits[driver_now.data[i] >> 4], digits[driver_now.data[i] & 15], '\0'};
        driver_write_str(pair);
    }
    driver_write_str(n < driver_now.len ? "...\n" : "\n");
}

static void driver_on_abort(int sig)
{
    driver_report();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void driver_install_reporters(void)
{
    signal(SIGABRT, driver_on_abort);
#ifdef DRIVER_HAVE_SANITIZER
    __sanitizer_set_death_callback(driver_report);
#endif
}

/* UBSan (a separate runtime under gcc) never calls the ASan death callback:
 * make it abort() so that driver_on_abort() reports the input. UBSAN_OPTIONS
 * still overrides this default. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "abort_on_error=1";
}

/* ---- corpus ------------------------------------------------------------------------ */

static bool driver_load_file(struct driver_corpus *c, const char *path)
{
    if (c->count == DRIVER_FILES_MAX) {
        fprintf(stdout, "# too many corpus files: maximum %d\n", DRIVER_FILES_MAX);
        return false;
    }
    struct driver_entry *it = &c->items[c->count];
    int n = snprintf(it->name, sizeof it->name, "%s", path);
    FILE *f = n > 0 && (size_t)n < sizeof it->name ? fopen(path, "rb") : NULL;
    if (f == NULL) {
        fprintf(stdout, "# cannot open corpus file '%s'\n", path);
        return false;
    }
    struct stat st;
    bool ok = fstat(fileno(f), &st) == 0 && st.st_size >= 0 &&
              (uint64_t)st.st_size <= DRIVER_FILE_BYTES_MAX;
    size_t size = ok ? (size_t)st.st_size : 0;
    it->data = ok ? malloc(size + 1) : NULL; /* + 1: a file that grew is caught */
    it->len = it->data != NULL ? fread(it->data, 1, size + 1, f) : 0;
    ok = it->data != NULL && !ferror(f) && it->len == size;
    fclose(f);
    if (!ok) {
        fprintf(stdout, "# cannot read corpus file '%s' (at most %zu bytes)\n", path,
                DRIVER_FILE_BYTES_MAX);
        free(it->data);
        return false;
    }
    if (it->len > c->len_max)
        c->len_max = it->len;
    c->count++;
    return true;
}

static int driver_cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool driver_load_dir(struct driver_corpus *c, const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stdout, "# cannot open corpus directory '%s'\n", dir);
        return false;
    }
    char *names[DRIVER_FILES_MAX];
    size_t count = 0;
    bool ok = true;
    for (struct dirent *de = readdir(d); de != NULL && ok; de = readdir(d)) {
        if (de->d_name[0] == '.')
            continue;
        ok = count < DRIVER_FILES_MAX && (names[count] = strdup(de->d_name)) != NULL;
        count += ok;
    }
    closedir(d);
    qsort(names, count, sizeof names[0], driver_cmp_names);
    for (size_t i = 0; i < count; i++) {
        char path[DRIVER_PATH_BYTES_MAX];
        int n = snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        ok = ok && n > 0 && (size_t)n < sizeof path && driver_load_file(c, path);
        free(names[i]);
    }
    return ok;
}

static bool driver_load_path(struct driver_corpus *c, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stdout, "# corpus path '%s' does not exist\n", path);
        return false;
    }
    return S_ISDIR(st.st_mode) ? driver_load_dir(c, path) : driver_load_file(c, path);
}

/* ---- running ----------------------------------------------------------------------- */

/* Runs the target on an exact-size heap copy of data[0..len). */
static void driver_run_one(const char *entry, const uint8_t *data, size_t len, uint64_t iteration)
{
    uint8_t *copy = malloc(len > 0 ? len : 1);
    FUZZ_CHECK(copy != NULL);
    if (len > 0)
        memcpy(copy, data, len);
    driver_now.entry = entry;
    driver_now.data = copy;
    driver_now.len = len;
    driver_now.iteration = iteration;
    int rc = LLVMFuzzerTestOneInput(copy, len);
    FUZZ_CHECK(rc == 0);
    driver_now.entry = NULL;
    free(copy);
}

/* ---- mutations ------------------------------------------------------------------------ */

static const uint8_t driver_bytes[] = {
    0x00, 0x01, 0x02, 0x1b, 0x1c, 0x20, 0x7f, 0x80, 0x81, 0x82, 0xb7, 0xb8, 0xb9, 0xbf,
    0xc0, 0xc1, 0xf7, 0xf8, 0xf9, 0xff, '0',  '9',  'a',  'f',  'A',  'F',  'g',  'x',
    'X',  '"',  '\\', '{',  '}',  '[',  ']',  ',',  ':',  '=',  '\n', '-',  ' ',  '/'};

static const char *const driver_tokens[] = {
    "0x", "0X", "00", "ff", "0x0", "\"0x\"", "null", "true", "false", "[]", "{}", "-1", "1e3",
    "\\u0000", "\\\"", "\"\":", "9223372036854775807", "9223372036854775808",
    "18446744073709551615", "18446744073709551616",
    /* 2^256 - 1, 2^256 (78 digits) and 10^78 (79 digits) */
    "115792089237316195423570985008687907853269984665640564039457584007913129639935",
    "115792089237316195423570985008687907853269984665640564039457584007913129639936",
    "1000000000000000000000000000000000000000000000000000000000000000000000000000000",
    "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", "0x10000000000000000",
    "\"jsonrpc\":\"2.0\"", "\"id\":1", "\"id\":null", "\"result\":",
    "\"error\":{\"code\":3,\"message\":\"execution reverted\",\"data\":\"0x08c379a0\"}",
    "\"logs\":[]", "\"to\":null", "://", "http://", ":65535", ":0", "[::1]", "ms", "h", "\xb8\x38",
    "\xf8\x38", "\xb9\x01\x01", "\xf9\x01\x01", "\x81\x01", "\xc0", "\x80"};

/* Low 8 bytes of 32-byte big-endian words: ABI offsets and lengths, too wide ones. */
static const uint64_t driver_words[] = {0, 1, 0x1f, 0x20, 0x40, 0x60, 4097, INT64_MAX, UINT64_MAX};

static size_t driver_pick(uint64_t *rng, size_t n)
{
    return n == 0 ? 0 : (size_t)(harness_rand(rng) % n);
}

/* Inserts src[0..n) at pos if it fits (else nothing); returns the new length. */
static size_t driver_insert(uint8_t *m, size_t len, size_t cap, size_t pos, const void *src,
                            size_t n)
{
    if (n > cap - len)
        return len;
    memmove(m + pos + n, m + pos, len - pos);
    memcpy(m + pos, src, n);
    return len + n;
}

static size_t driver_delete(uint8_t *m, size_t len, size_t pos, size_t n)
{
    memmove(m + pos, m + pos + n, len - pos - n);
    return len - n;
}

/* A 32-byte word position aligned relative to the END of the input, so a
 * fixed-size header before ABI data keeps the words aligned. */
static size_t driver_word_pos(uint64_t *rng, size_t len)
{
    size_t words = len / 32;
    return len % 32 + 32 * driver_pick(rng, words + 1);
}

static void driver_make_word(uint8_t word[32], uint64_t *rng, size_t len)
{
    const size_t n = sizeof driver_words / sizeof driver_words[0];
    size_t k = driver_pick(rng, n + 3);
    uint64_t v = k < n ? driver_words[k] : k == n ? (uint64_t)len : harness_rand(rng) % 512;
    memset(word, k == n + 2 ? 0xff : 0, 32); /* n + 2: a small value under dirty high bits */
    for (size_t i = 0; i < 8; i++)
        word[31 - i] = (uint8_t)(v >> (8 * i));
}

static size_t driver_mutate_once(uint8_t *m, size_t len, size_t cap, uint64_t *rng)
{
    size_t pos = driver_pick(rng, len + 1); /* insertion point; < len when len > 0 */
    size_t at = len > 0 ? driver_pick(rng, len) : 0;
    uint8_t word[32];
    switch (driver_pick(rng, 14)) {
    case 0: /* flip one bit */
        if (len > 0)
            m[at] ^= (uint8_t)(1u << driver_pick(rng, 8));
        return len;
    case 1: /* random byte */
        if (len > 0)
            m[at] = (uint8_t)harness_rand(rng);
        return len;
    case 2: /* boundary byte */
        if (len > 0)
            m[at] = driver_bytes[driver_pick(rng, sizeof driver_bytes)];
        return len;
    case 3: { /* insert a boundary or random byte */
        uint8_t b = harness_rand(rng) & 1 ? driver_bytes[driver_pick(rng, sizeof driver_bytes)]
                                          : (uint8_t)harness_rand(rng);
        return driver_insert(m, len, cap, pos, &b, 1);
    }
    case 4: /* delete a short range */
        if (len == 0)
            return len;
        return driver_delete(m, len, at, 1 + driver_pick(rng, len - at < 8 ? len - at : 8));
    case 5: /* truncate */
        return driver_pick(rng, len + 1);
    case 6: { /* splice: our prefix, another entry's suffix */
        const struct driver_entry *o = &driver_corpus.items[driver_pick(rng, driver_corpus.count)];
        size_t from = driver_pick(rng, o->len + 1);
        size_t n = o->len - from < cap - pos ? o->len - from : cap - pos;
        memcpy(m + pos, o->data + from, n);
        return pos + n;
    }
    case 7: { /* duplicate a range */
        if (len == 0)
            return len;
        size_t n = 1 + driver_pick(rng, len - at < 64 ? len - at : 64);
        uint8_t tmp[64];
        memcpy(tmp, m + at, n);
        return driver_insert(m, len, cap, pos, tmp, n);
    }
    case 8: { /* insert a token */
        const char *t =
            driver_tokens[driver_pick(rng, sizeof driver_tokens / sizeof *driver_tokens)];
        return driver_insert(m, len, cap, pos, t, strlen(t));
    }
    case 9: { /* overwrite with a token */
        const char *t =
            driver_tokens[driver_pick(rng, sizeof driver_tokens / sizeof *driver_tokens)];
        size_t n = strlen(t) < len - at ? strlen(t) : len - at;
        memcpy(m + at, t, n);
        return len;
    }
    case 10: /* overwrite a 32-byte word */
        pos = driver_word_pos(rng, len);
        if (pos + 32 > len)
            return len;
        driver_make_word(m + pos, rng, len);
        return len;
    case 11: /* insert a word */
        driver_make_word(word, rng, len);
        return driver_insert(m, len, cap, driver_word_pos(rng, len), word, 32);
    case 12: /* delete a word */
        pos = driver_word_pos(rng, len);
        return pos + 32 <= len ? driver_delete(m, len, pos, 32) : len;
    default: /* small add/subtract */
        if (len > 0)
            m[at] = (uint8_t)(m[at] + (uint8_t)(driver_pick(rng, 33)) - 16);
        return len;
    }
}

static size_t driver_mutate(uint8_t *m, size_t len, size_t cap, uint64_t *rng)
{
    size_t ops = 1 + driver_pick(rng, DRIVER_STACK_MAX);
    for (size_t i = 0; i < ops; i++) {
        len = driver_mutate_once(m, len, cap, rng);
        FUZZ_CHECK(len <= cap);
    }
    return len;
}

/* ---- the two passes ------------------------------------------------------------------- */

static void test_corpus(void)
{
    CHECK_MSG(!driver_corpus.load_failed, "corpus did not load");
    CHECK_MSG(driver_corpus.count > 0, "empty corpus");
    for (size_t i = 0; i < driver_corpus.count; i++) {
        const struct driver_entry *it = &driver_corpus.items[i];
        driver_run_one(it->name, it->data, it->len, 0);
    }
    fprintf(stdout, "# %zu corpus inputs\n", driver_corpus.count);
}

static void test_mutations(void)
{
    size_t cap = driver_corpus.len_max + DRIVER_MUTANT_GROWTH_MAX;
    uint8_t *m = malloc(cap);
    CHECK(m != NULL);
    if (m == NULL)
        return;
    uint64_t rng = driver_seed;
    uint64_t runs = 0;
    for (size_t i = 0; i < driver_corpus.count; i++) {
        const struct driver_entry *it = &driver_corpus.items[i];
        for (uint64_t k = 1; k <= driver_iterations; k++) {
            memcpy(m, it->data, it->len);
            size_t len = driver_mutate(m, it->len, cap, &rng);
            driver_run_one(it->name, m, len, k);
            runs++;
        }
    }
    free(m);
    fprintf(stdout, "# %llu mutants (%llu per corpus input)\n", (unsigned long long)runs,
            (unsigned long long)driver_iterations);
}

int main(int argc, char **argv)
{
    driver_install_reporters();
    bool replay = argc > 1;
    driver_seed = DRIVER_SEED_DEFAULT;
    const char *seed_from = "default";
    if (harness_env_u64(&driver_seed, "FUZZ_SEED", UINT64_MAX))
        seed_from = "FUZZ_SEED";
    else if (harness_env_u64(&driver_seed, "TEST_SEED", UINT64_MAX))
        seed_from = "TEST_SEED";
    driver_iterations = replay ? 0 : DRIVER_ITERATIONS_DEFAULT;
    harness_env_u64(&driver_iterations, "FUZZ_ITERATIONS", DRIVER_ITERATIONS_MAX);
    driver_now.seed = driver_seed;
    fprintf(stdout,
            "# fuzz target '%s': seed=%llu (%s) iterations=%llu (replay with FUZZ_SEED=%llu)\n",
            FUZZ_NAME, (unsigned long long)driver_seed, seed_from,
            (unsigned long long)driver_iterations, (unsigned long long)driver_seed);
    fflush(stdout);
    if (replay) {
        for (int i = 1; i < argc; i++)
            driver_corpus.load_failed |= !driver_load_path(&driver_corpus, argv[i]);
    } else {
        driver_corpus.load_failed = !driver_load_dir(&driver_corpus, DRIVER_CORPUS_DIR FUZZ_NAME);
    }
    RUN(test_corpus);
    if (driver_iterations > 0 && driver_corpus.count > 0)
        RUN(test_mutations);
    for (size_t i = 0; i < driver_corpus.count; i++)
        free(driver_corpus.items[i].data);
    return harness_finish();
}
