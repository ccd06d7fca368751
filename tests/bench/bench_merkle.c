/*
 * bench_merkle.c - the settlement Merkle tree of `make bench` (issue
 * "Settlement service, part 2", Performance): the tree and every proof of
 * BENCH_MERKLE_LEAVES payees (default 1,000,000) built with merkle.h, side by
 * side in the same run with @openzeppelin/merkle-tree on the same leaves.
 * tests/bench/merkle.sh runs it; tests/bench/run.sh turns its output into
 * docs/benchmarks.md.
 *
 * Leaves: settlement leaves ["address","uint256"] (payee, amount_wei) from a
 * keccak-256 counter seeded with BENCH_MERKLE_SEED: 20 pseudo-random address
 * bytes; amounts of 96 random bits, every 16th of 256. They are written to
 * WORK/merkle_leaves.txt ("0x<40 hex>,<decimal>" a line) and read back from
 * it, so both sides start from the same file.
 *
 * Each repetition (ours and the reference alternate, the order flipping
 * every repetition):
 *   ours  one thread, timed with CLOCK_MONOTONIC: merkle_leaf_settlement()
 *         of every value into a fresh array, merkle_tree_build(), then
 *         merkle_tree_proof() of every value in value order (a binary search
 *         of its leaf hash, then the siblings), as a server answering "the
 *         proof of payee P" does. Proofs are copied into one caller array
 *         and dropped, but for the spot-checked ones.
 *   ref   `node --max-old-space-size=MB merkle_oz.js` (a new process every
 *         repetition), which times StandardMerkleTree.of(values,
 *         ["address","uint256"]) and getProof(i) for every value i in value
 *         order, from values already read and split (node start-up and the
 *         file are not timed). Its getProof() also re-hashes the value and
 *         verifies the proof before returning it: that is the library's API.
 * Checked on every repetition before it counts: the same root, the same
 * total number of proof nodes, and BENCH_SPOT_PROOFS proofs (the first,
 * the last, the middle and pseudo-random values) identical node for node.
 * A fast wrong answer is not a measurement.
 *
 * Settings (environment, through config.h): BENCH_MERKLE_LEAVES (default
 * 1000000, 2..MERKLE_LEAVES_MAX), BENCH_MERKLE_REPS (default 1),
 * BENCH_MERKLE_SEED (default 20260601); for development
 * BENCH_MERKLE_ONLY=ours|ref runs only that side (no checks, no bench row).
 * Output on stdout: logfmt records in bench_crypto's format (info, group,
 * bench); progress on stderr. Not a test: nothing judges time; the exit
 * status is non-zero only when something cannot run or the two sides
 * disagree.
 *
 * Usage: bench_merkle --work DIR --node PATH --driver FILE [--heap-mb N]
 *   --work    where the leaves file and the reference's output go (removed at exit)
 *   --node    the node binary; its environment (NODE_PATH) is passed on
 *   --driver  tests/bench/merkle_oz.js
 *   --heap-mb node's --max-old-space-size (default 6144)
 */
#include <errno.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bench/bench_util.h"
#include "config.h"
#include "hex.h"
#include "keccak.h"
#include "merkle.h"
#include "u256.h"

#define BENCH_LEAVES_DEFAULT "1000000"
#define BENCH_SEED_DEFAULT "20260601"
#define BENCH_REPS_MAX 9
#define BENCH_SPOT_PROOFS 32
#define BENCH_HEAP_MB_DEFAULT 6144u
#define BENCH_HEAP_MB_MAX 65536u
#define BENCH_ADDRESS_HEX_LEN 42                                       /* "0x" + 40 digits */
#define BENCH_LINE_MAX (BENCH_ADDRESS_HEX_LEN + 1 + U256_DEC_SIZE + 1) /* + ',' + '\n' */
#define BENCH_FILE_BUFFER_BYTES ((size_t)1 << 20)
#define BENCH_PATH_MAX 4096
#define BENCH_ARG_MAX (BENCH_SPOT_PROOFS * 24)
#define BENCH_TARGET_RATIO 20.0
#define BENCH_WIDE_AMOUNT_EVERY 16 /* every 16th amount has 256 random bits */
#define BENCH_NARROW_AMOUNT_BYTES 12

struct bench_config {
    const char *work;
    const char *node;
    const char *driver;
    uint64_t heap_mb;
    uint64_t leaves;
    uint64_t reps;
    uint64_t seed;
    char only[8]; /* "", "ours" or "ref" */
};

/* The values, in value order. */
struct payees {
    size_t n;
    uint8_t (*account)[MERKLE_ADDRESS_BYTES];
    uint8_t (*amount_be)[32];
};

/* The value indices whose proofs both sides report, ascending and distinct. */
struct spots {
    size_t n;
    size_t index[BENCH_SPOT_PROOFS];
};

/* One side's result of one repetition. */
struct side_run {
    double tree_s;  /* leaf hashes + tree (ref: StandardMerkleTree.of) */
    double total_s; /* tree + every proof */
    double wall_s;  /* ref only: spawn to exit, node start-up and file included */
    uint64_t max_rss_bytes;
    uint8_t root[MERKLE_HASH_BYTES];
    uint64_t proof_nodes;
    uint8_t proof[BENCH_SPOT_PROOFS][MERKLE_PROOF_MAX][MERKLE_HASH_BYTES];
    size_t proof_len[BENCH_SPOT_PROOFS];
    char node_version[32];
    char oz_version[32];
};

struct samples {
    size_t n;
    double v[BENCH_REPS_MAX];
};

static double now_s(void);
static void path_join(char out[BENCH_PATH_MAX], const char *dir, const char *name);
static void payees_alloc(struct payees *p, size_t n);
static void payees_free(struct payees *p);
static void bench_word(uint8_t out[32], uint64_t seed, uint64_t tag, uint64_t i);
static void payees_generate(struct payees *p, uint64_t seed);
static void payees_write(const struct payees *p, const char *path);
static void payees_read(struct payees *p, size_t n, const char *path);
static void spots_pick(struct spots *s, size_t n, uint64_t seed);
static void run_ours(struct side_run *r, const struct payees *p, const struct spots *s);
static void run_ref(struct side_run *r, const struct bench_config *cfg, const char *leaves_path,
                    const char *out_path, const struct spots *s);
static void ref_parse(struct side_run *r, const char *out_path, size_t n, const struct spots *s);
static void ref_hash(uint8_t out[MERKLE_HASH_BYTES], json_t *v, const char *what);
static void check_same(const struct side_run *ours, const struct side_run *ref,
                       const struct spots *s);
static double samples_best(const struct samples *s);
static double samples_median(const struct samples *s);
static void print_row(const char *name, const struct samples *ours, const struct samples *ref,
                      double target, const char *target_text, const char *detail);
static void parse_args(struct bench_config *cfg, int argc, char **argv);
static void load_env(struct bench_config *cfg);

/* ---- small helpers ------------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        bench_fail("clock_gettime(CLOCK_MONOTONIC) failed");
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void path_join(char out[BENCH_PATH_MAX], const char *dir, const char *name)
{
    bench_format(out, BENCH_PATH_MAX, "%s/%s", dir, name);
}

/* ---- the leaves ---------------------------------------------------------------------------- */

static void payees_alloc(struct payees *p, size_t n)
{
    p->n = n;
    p->account = malloc(n * sizeof *p->account);
    p->amount_be = malloc(n * sizeof *p->amount_be);
    if (p->account == NULL || p->amount_be == NULL)
        bench_fail("out of memory for %zu payees", n);
}

static void payees_free(struct payees *p)
{
    free(p->account);
    free(p->amount_be);
    memset(p, 0, sizeof *p);
}

/* word(tag, i) = keccak256(le64(seed) || le64(tag) || le64(i)): the generator. */
static void bench_word(uint8_t out[32], uint64_t seed, uint64_t tag, uint64_t i)
{
    uint8_t in[24];
    memcpy(in, &seed, 8);
    memcpy(in + 8, &tag, 8);
    memcpy(in + 16, &i, 8);
    keccak256(out, in, sizeof in);
}

/* Payee i: the first 20 bytes of word(0, i); its amount the last 12 bytes of
 * that word (96 bits), or all of word(1, i) for every 16th payee. */
static void payees_generate(struct payees *p, uint64_t seed)
{
    for (size_t i = 0; i < p->n; i++) {
        uint8_t w[32];
        bench_word(w, seed, 0, i);
        memcpy(p->account[i], w, MERKLE_ADDRESS_BYTES);
        memset(p->amount_be[i], 0, 32);
        if (i % BENCH_WIDE_AMOUNT_EVERY == 0)
            bench_word(p->amount_be[i], seed, 1, i);
        else
            memcpy(p->amount_be[i] + 32 - BENCH_NARROW_AMOUNT_BYTES, w + MERKLE_ADDRESS_BYTES,
                   BENCH_NARROW_AMOUNT_BYTES);
    }
}

static void payees_write(const struct payees *p, const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        bench_fail("cannot create %s: %s", path, strerror(errno));
    if (setvbuf(f, NULL, _IOFBF, BENCH_FILE_BUFFER_BYTES) != 0)
        bench_fail("setvbuf failed");
    for (size_t i = 0; i < p->n; i++) {
        char account[BENCH_ADDRESS_HEX_LEN + 1], amount[U256_DEC_SIZE];
        struct u256 a = u256_from_be32(p->amount_be[i]);
        if (hex_encode_0x(account, sizeof account, p->account[i], MERKLE_ADDRESS_BYTES) != 0)
            bench_fail("hex_encode_0x failed");
        u256_to_dec(amount, &a);
        if (fprintf(f, "%s,%s\n", account, amount) < 0)
            bench_fail("cannot write %s: %s", path, strerror(errno));
    }
    if (fclose(f) != 0)
        bench_fail("cannot write %s: %s", path, strerror(errno));
}

/* Reads exactly n values written by payees_write() into a fresh `p`. */
static void payees_read(struct payees *p, size_t n, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        bench_fail("cannot open %s: %s", path, strerror(errno));
    payees_alloc(p, n);
    char line[BENCH_LINE_MAX + 2];
    size_t i = 0;
    struct err e = {0};
    while (fgets(line, sizeof line, f) != NULL) {
        size_t len = strcspn(line, "\n");
        if (i >= n || line[len] != '\n' || len <= BENCH_ADDRESS_HEX_LEN + 1 ||
            line[BENCH_ADDRESS_HEX_LEN] != ',')
            bench_fail("%s:%zu: not \"0x<40 hex>,<decimal>\" or too many lines", path, i + 1);
        struct u256 amount;
        if (hex_decode_exact(p->account[i], MERKLE_ADDRESS_BYTES, line, BENCH_ADDRESS_HEX_LEN,
                             &e) != HEX_OK ||
            u256_from_dec(&amount, line + BENCH_ADDRESS_HEX_LEN + 1,
                          len - BENCH_ADDRESS_HEX_LEN - 1, &e) != U256_OK)
            bench_fail("%s:%zu: %s", path, i + 1, e.msg);
        u256_to_be32(p->amount_be[i], &amount);
        i++;
    }
    if (ferror(f) || i != n)
        bench_fail("%s: read %zu of %zu values", path, i, n);
    fclose(f);
}

/* The first, second, middle and last values and pseudo-random others. */
static void spots_pick(struct spots *s, size_t n, uint64_t seed)
{
    size_t want = n < BENCH_SPOT_PROOFS ? n : BENCH_SPOT_PROOFS;
    size_t fixed[4] = {0, n - 1, n / 2, 1};
    s->n = 0;
    for (size_t attempt = 0; s->n < want && attempt < 64 * BENCH_SPOT_PROOFS; attempt++) {
        uint8_t w[32];
        uint64_t r = 0;
        bench_word(w, seed, 2, attempt);
        memcpy(&r, w, sizeof r);
        size_t candidate = attempt < 4 ? fixed[attempt] : (size_t)(r % n);
        size_t at = 0;
        while (at < s->n && s->index[at] < candidate)
            at++;
        if (at < s->n && s->index[at] == candidate)
            continue;
        memmove(&s->index[at + 1], &s->index[at], (s->n - at) * sizeof s->index[0]);
        s->index[at] = candidate;
        s->n++;
    }
    if (s->n != want)
        bench_fail("could not pick %zu spot-check values", want);
}

/* ---- the two sides ------------------------------------------------------------------------- */

static void run_ours(struct side_run *r, const struct payees *p, const struct spots *s)
{
    struct err e = {0};
    struct merkle_tree t = {0};
    uint8_t proof[MERKLE_PROOF_MAX][MERKLE_HASH_BYTES];
    size_t next_spot = 0;
    r->proof_nodes = 0;

    double t0 = now_s();
    uint8_t(*leaves)[MERKLE_HASH_BYTES] = malloc(p->n * sizeof *leaves);
    if (leaves == NULL)
        bench_fail("out of memory for %zu leaf hashes", p->n);
    for (size_t i = 0; i < p->n; i++)
        merkle_leaf_settlement(leaves[i], p->account[i], p->amount_be[i]);
    if (merkle_tree_build(&t, (const uint8_t(*)[MERKLE_HASH_BYTES])leaves, p->n, &e) != MERKLE_OK)
        bench_fail("merkle_tree_build: %s", e.msg);
    double t1 = now_s();
    for (size_t i = 0; i < p->n; i++) {
        size_t len = 0;
        if (merkle_tree_proof(proof, MERKLE_PROOF_MAX, &len, &t, leaves[i], &e) != MERKLE_OK)
            bench_fail("merkle_tree_proof of value %zu: %s", i, e.msg);
        r->proof_nodes += len;
        if (next_spot < s->n && s->index[next_spot] == i) {
            memcpy(r->proof[next_spot], proof, len * MERKLE_HASH_BYTES);
            r->proof_len[next_spot++] = len;
        }
    }
    double t2 = now_s();

    merkle_tree_root(r->root, &t);
    merkle_tree_release(&t);
    free(leaves);
    r->tree_s = t1 - t0;
    r->total_s = t2 - t0;
    r->wall_s = r->total_s;
    struct rusage ru;
    r->max_rss_bytes = getrusage(RUSAGE_SELF, &ru) == 0 ? (uint64_t)ru.ru_maxrss * 1024u : 0;
}

static void run_ref(struct side_run *r, const struct bench_config *cfg, const char *leaves_path,
                    const char *out_path, const struct spots *s)
{
    char heap[64], spot_arg[BENCH_ARG_MAX];
    bench_format(heap, sizeof heap, "--max-old-space-size=%" PRIu64, cfg->heap_mb);
    size_t off = 0;
    spot_arg[0] = '\0';
    for (size_t i = 0; i < s->n; i++) {
        bench_format(spot_arg + off, sizeof spot_arg - off, "%s%zu", i > 0 ? "," : "", s->index[i]);
        off += strlen(spot_arg + off);
    }
    char *argv[] = {
        (char *)cfg->node, heap, (char *)cfg->driver, (char *)leaves_path, (char *)out_path,
        spot_arg,          NULL};
    extern char **environ;
    if (unlink(out_path) != 0 && errno != ENOENT)
        bench_fail("cannot remove %s: %s", out_path, strerror(errno));
    pid_t pid;
    double t0 = now_s();
    int rc = posix_spawn(&pid, cfg->node, NULL, NULL, argv, environ);
    if (rc != 0)
        bench_fail("cannot start %s: %s", cfg->node, strerror(rc));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            bench_fail("waitpid: %s", strerror(errno));
    r->wall_s = now_s() - t0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        bench_fail("%s %s failed (status %d)", cfg->node, cfg->driver, status);
    ref_parse(r, out_path, (size_t)cfg->leaves, s);
}

/* A "0x" + 64 hex digit string of the reference's output into `out`. */
static void ref_hash(uint8_t out[MERKLE_HASH_BYTES], json_t *v, const char *what)
{
    struct err e = {0};
    const char *text = json_string_value(v);
    if (text == NULL || strncmp(text, "0x", 2) != 0 ||
        hex_decode_exact(out, MERKLE_HASH_BYTES, text, strlen(text), &e) != HEX_OK)
        bench_fail("reference output: %s is not a 0x-prefixed 32-byte hash", what);
}

static void ref_parse(struct side_run *r, const char *out_path, size_t n, const struct spots *s)
{
    json_error_t je;
    json_t *doc = json_load_file(out_path, 0, &je);
    if (doc == NULL)
        bench_fail("%s: %s", out_path, je.text);
    json_t *spot = json_object_get(doc, "spot");
    double of_ms = json_number_value(json_object_get(doc, "ofMs"));
    double proofs_ms = json_number_value(json_object_get(doc, "proofsMs"));
    json_int_t count = json_integer_value(json_object_get(doc, "count"));
    json_int_t nodes = json_integer_value(json_object_get(doc, "proofNodes"));
    const char *node_v = json_string_value(json_object_get(doc, "node"));
    const char *oz_v = json_string_value(json_object_get(doc, "oz"));
    if (!json_is_array(spot) || json_array_size(spot) != s->n || count < 0 || (size_t)count != n ||
        nodes < 0 || of_ms <= 0.0 || proofs_ms <= 0.0 || node_v == NULL || oz_v == NULL)
        bench_fail("%s: missing or wrong fields", out_path);
    ref_hash(r->root, json_object_get(doc, "root"), "root");
    r->proof_nodes = (uint64_t)nodes;
    r->tree_s = of_ms / 1e3;
    r->total_s = (of_ms + proofs_ms) / 1e3;
    r->max_rss_bytes = (uint64_t)json_number_value(json_object_get(doc, "maxRssBytes"));
    bench_format(r->node_version, sizeof r->node_version, "%s", node_v);
    bench_format(r->oz_version, sizeof r->oz_version, "%s", oz_v);
    for (size_t i = 0; i < s->n; i++) {
        json_t *item = json_array_get(spot, i);
        json_t *proof = json_object_get(item, "proof");
        json_int_t index = json_integer_value(json_object_get(item, "index"));
        if (index < 0 || (size_t)index != s->index[i] || !json_is_array(proof) ||
            json_array_size(proof) > MERKLE_PROOF_MAX)
            bench_fail("%s: spot proof %zu is not value %zu's", out_path, i, s->index[i]);
        r->proof_len[i] = json_array_size(proof);
        for (size_t k = 0; k < r->proof_len[i]; k++)
            ref_hash(r->proof[i][k], json_array_get(proof, k), "a proof node");
    }
    json_decref(doc);
}

static void check_same(const struct side_run *ours, const struct side_run *ref,
                       const struct spots *s)
{
    if (memcmp(ours->root, ref->root, MERKLE_HASH_BYTES) != 0)
        bench_fail("the roots differ: merkle.h and @openzeppelin/merkle-tree disagree");
    if (ours->proof_nodes != ref->proof_nodes)
        bench_fail("the proofs differ: %" PRIu64 " proof nodes in all vs the reference's %" PRIu64,
                   ours->proof_nodes, ref->proof_nodes);
    for (size_t i = 0; i < s->n; i++)
        if (ours->proof_len[i] != ref->proof_len[i] ||
            memcmp(ours->proof[i], ref->proof[i], ours->proof_len[i] * MERKLE_HASH_BYTES) != 0)
            bench_fail("the proofs of value %zu differ", s->index[i]);
}

/* ---- statistics and output ----------------------------------------------------------------- */

static double samples_best(const struct samples *s)
{
    double best = 0.0;
    for (size_t i = 0; i < s->n; i++)
        best = s->v[i] > best ? s->v[i] : best;
    return best;
}

static double samples_median(const struct samples *s)
{
    double v[BENCH_REPS_MAX];
    memcpy(v, s->v, s->n * sizeof v[0]);
    for (size_t i = 1; i < s->n; i++) /* insertion sort: at most BENCH_REPS_MAX */
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double x = v[j];
            v[j] = v[j - 1];
            v[j - 1] = x;
        }
    return s->n % 2 == 1 ? v[s->n / 2] : (v[s->n / 2 - 1] + v[s->n / 2]) / 2.0;
}

/* One `bench` record; the samples are rates (payees/s), higher is better. */
static void print_row(const char *name, const struct samples *ours, const struct samples *ref,
                      double target, const char *target_text, const char *detail)
{
    double ob = samples_best(ours), rb = samples_best(ref);
    double om = samples_median(ours), rm = samples_median(ref);
    char target_word[32] = "none";
    if (target > 0.0)
        bench_format(target_word, sizeof target_word, "%.2f", target);
    printf("bench group=merkle name=%s unit=payees/s ours=%.1f ref=%.1f ratio=%.3f "
           "ours_median=%.1f ref_median=%.1f ratio_median=%.3f reps=%zu target=%s "
           "target_text=\"%s\" detail=\"%s\"\n",
           name, ob, rb, ob / rb, om, rm, om / rm, ours->n, target_word, target_text, detail);
    fflush(stdout);
}

/* ---- main ------------------------------------------------------------------------------------ */

static void parse_args(struct bench_config *cfg, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        bool has_value = i + 1 < argc;
        if (strcmp(argv[i], "--work") == 0 && has_value) {
            cfg->work = argv[++i];
        } else if (strcmp(argv[i], "--node") == 0 && has_value) {
            cfg->node = argv[++i];
        } else if (strcmp(argv[i], "--driver") == 0 && has_value) {
            cfg->driver = argv[++i];
        } else if (strcmp(argv[i], "--heap-mb") == 0 && has_value) {
            char *end = NULL;
            errno = 0;
            unsigned long long v = strtoull(argv[++i], &end, 10);
            if (errno != 0 || end == argv[i] || *end != '\0' || v < 256 || v > BENCH_HEAP_MB_MAX)
                bench_fail("--heap-mb must be 256..%u", BENCH_HEAP_MB_MAX);
            cfg->heap_mb = v;
        } else {
            fprintf(stderr, "usage: bench_merkle --work DIR --node PATH --driver FILE "
                            "[--heap-mb N]\n");
            exit(2);
        }
    }
    if (cfg->work == NULL || cfg->node == NULL || cfg->driver == NULL)
        bench_fail("--work, --node and --driver are required");
}

static void load_env(struct bench_config *cfg)
{
    struct config_entry t[4] = {{.name = "BENCH_MERKLE_LEAVES",
                                 .type = CONFIG_U64,
                                 .default_text = BENCH_LEAVES_DEFAULT,
                                 .min.u = 2,
                                 .max.u = MERKLE_LEAVES_MAX,
                                 .dest = &cfg->leaves,
                                 .dest_size = sizeof cfg->leaves},
                                {.name = "BENCH_MERKLE_REPS",
                                 .type = CONFIG_U64,
                                 .default_text = "1",
                                 .min.u = 1,
                                 .max.u = BENCH_REPS_MAX,
                                 .dest = &cfg->reps,
                                 .dest_size = sizeof cfg->reps},
                                {.name = "BENCH_MERKLE_SEED",
                                 .type = CONFIG_U64,
                                 .default_text = BENCH_SEED_DEFAULT,
                                 .min.u = 0,
                                 .max.u = UINT64_MAX,
                                 .dest = &cfg->seed,
                                 .dest_size = sizeof cfg->seed},
                                {.name = "BENCH_MERKLE_ONLY",
                                 .type = CONFIG_STRING,
                                 .min.u = 1,
                                 .max.u = sizeof cfg->only - 1,
                                 .dest = cfg->only,
                                 .dest_size = sizeof cfg->only}};
    struct config_errors errs;
    if (config_load(t, 4, config_lookup_env, NULL, &errs) != CONFIG_OK)
        bench_fail("%s", errs.items[0].e.msg);
    if (cfg->only[0] != '\0' && strcmp(cfg->only, "ours") != 0 && strcmp(cfg->only, "ref") != 0)
        bench_fail("BENCH_MERKLE_ONLY must be ours or ref, not '%s'", cfg->only);
}

int main(int argc, char **argv)
{
    struct bench_config cfg = {.heap_mb = BENCH_HEAP_MB_DEFAULT};
    bench_util_name = "bench_merkle";
    parse_args(&cfg, argc, argv);
    load_env(&cfg);
    if (mkdir(cfg.work, 0755) != 0 && errno != EEXIST)
        bench_fail("cannot create %s: %s", cfg.work, strerror(errno));
    setvbuf(stdout, NULL, _IOLBF, 0);
    char leaves_path[BENCH_PATH_MAX], out_path[BENCH_PATH_MAX];
    path_join(leaves_path, cfg.work, "merkle_leaves.txt");
    path_join(out_path, cfg.work, "merkle_oz.json");
    size_t n = (size_t)cfg.leaves;

    bench_say("writing %zu leaves (seed %" PRIu64 ") to %s", n, cfg.seed, leaves_path);
    struct payees generated = {0}, p = {0};
    payees_alloc(&generated, n);
    payees_generate(&generated, cfg.seed);
    payees_write(&generated, leaves_path);
    payees_read(&p, n, leaves_path);
    if (memcmp(p.account, generated.account, n * sizeof *p.account) != 0 ||
        memcmp(p.amount_be, generated.amount_be, n * sizeof *p.amount_be) != 0)
        bench_fail("%s does not read back as written", leaves_path);
    payees_free(&generated);
    struct spots spots;
    spots_pick(&spots, n, cfg.seed);

    static struct side_run ours, ref;
    struct samples ours_total = {0}, ref_total = {0}, ours_tree = {0}, ref_tree = {0};
    char runs[1024] = "";
    size_t runs_len = 0;
    for (uint64_t rep = 1; rep <= cfg.reps; rep++) {
        for (int step = 0; step < 2; step++) {
            bool ours_now = (step == 0) == (rep % 2 == 1);
            if (cfg.only[0] != '\0' && strcmp(cfg.only, ours_now ? "ours" : "ref") != 0)
                continue;
            bench_say("rep %" PRIu64 ": %s", rep,
                      ours_now ? "merkle.h" : "@openzeppelin/merkle-tree");
            if (ours_now)
                run_ours(&ours, &p, &spots);
            else
                run_ref(&ref, &cfg, leaves_path, out_path, &spots);
        }
        if (cfg.only[0] != '\0') {
            bench_say("rep %" PRIu64 ": %.2f s (tree %.2f s)", rep,
                      cfg.only[0] == 'o' ? ours.total_s : ref.total_s,
                      cfg.only[0] == 'o' ? ours.tree_s : ref.tree_s);
            continue;
        }
        check_same(&ours, &ref, &spots);
        bench_say("rep %" PRIu64 ": ours %.2f s, reference %.2f s (same root and proofs)", rep,
                  ours.total_s, ref.total_s);
        ours_total.v[ours_total.n++] = (double)n / ours.total_s;
        ref_total.v[ref_total.n++] = (double)n / ref.total_s;
        ours_tree.v[ours_tree.n++] = (double)n / ours.tree_s;
        ref_tree.v[ref_tree.n++] = (double)n / ref.tree_s;
        bench_format(runs + runs_len, sizeof runs - runs_len,
                     "%s %.2f s (tree %.2f) / %.2f s (of %.2f; node process %.2f)",
                     rep > 1 ? "," : "", ours.total_s, ours.tree_s, ref.total_s, ref.tree_s,
                     ref.wall_s);
        runs_len += strlen(runs + runs_len);
    }
    unlink(out_path);
    unlink(leaves_path);
    payees_free(&p);
    if (cfg.only[0] != '\0')
        return 0;

    char root_hex[2 * MERKLE_HASH_BYTES + 3];
    if (hex_encode_0x(root_hex, sizeof root_hex, ours.root, MERKLE_HASH_BYTES) != 0)
        bench_fail("hex_encode_0x failed");
    printf("info merkle_leaves=%zu merkle_reps=%" PRIu64 " merkle_seed=%" PRIu64
           " merkle_node=\"%s\" merkle_oz=\"%s\" merkle_node_heap_mb=%" PRIu64 "\n",
           n, cfg.reps, cfg.seed, ref.node_version, ref.oz_version, cfg.heap_mb);
    printf(
        "group id=merkle title=\"Settlement Merkle tree and all proofs vs "
        "@openzeppelin/merkle-tree\" "
        "ours=\"merkle.h, one thread: merkle_leaf_settlement of every (payee, amount_wei), "
        "merkle_tree_build (sort, internal nodes), then merkle_tree_proof of every payee in "
        "payee order (binary search of its leaf hash, then its siblings)\" "
        "ref=\"@openzeppelin/merkle-tree %s on node %s (--max-old-space-size=%" PRIu64 "): "
        "StandardMerkleTree.of(values, [address, uint256]), then getProof(i) of every value "
        "(which re-hashes the value and verifies the proof before returning it)\" "
        "note=\"The same %zu leaves (addresses and amounts from a keccak-256 counter, seed %" PRIu64
        ", written to one file that both sides read before their clock starts), %" PRIu64
        " repetition(s), the sides alternating; the reference is a new node process each "
        "time, timed inside it (node start-up and reading the file excluded). Every "
        "repetition checks the same root (%s), the same total number of proof nodes "
        "(%" PRIu64 ") and %zu proofs identical node for node. Proofs are produced and "
        "dropped (ours as bytes, the reference as 0x strings), but for the checked ones. "
        "payees/s = leaves with their proof per second; the tree-only row is context.\"\n",
        ref.oz_version, ref.node_version, cfg.heap_mb, n, cfg.seed, cfg.reps, root_hex,
        ours.proof_nodes, spots.n);
    char name[64], detail[1400];
    bench_format(detail, sizeof detail,
                 "Runs, seconds (ours / reference):%s. Peak RSS: ours %.0f MB (the bench process, "
                 "with the values), node %.0f MB",
                 runs, (double)ours.max_rss_bytes / 1e6, (double)ref.max_rss_bytes / 1e6);
    bench_format(name, sizeof name, "merkle_tree_proofs_%zu", n);
    print_row(name, &ours_total, &ref_total, BENCH_TARGET_RATIO,
              "Merkle tree plus all proofs vs @openzeppelin/merkle-tree", detail);
    bench_format(name, sizeof name, "merkle_tree_only_%zu", n);
    print_row(name, &ours_tree, &ref_tree, 0.0, "",
              "leaf hashes and tree only: merkle_leaf_settlement + merkle_tree_build vs "
              "StandardMerkleTree.of");
    return 0;
}
