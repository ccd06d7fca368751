/* anchor.c - recording anchors and their evidence packages; see anchor.h. */
#include "anchor.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "hex.h"
#include "keccak.h"

#define ANCHOR_HEX32_SIZE (2 + 2 * 32 + 1)
#define ANCHOR_RENDITIONS_TEXT_BYTES (ANCHOR_RENDITIONS_MAX * (ANCHOR_RENDITION_BYTES_MAX + 3) + 3)
#define ANCHOR_U64_TEXT_BYTES 24

/* The segments of one recording as read (leaves plus the file names). */
struct anchor_segments {
    PGresult *res; /* owned: columns 0 index, 1 sequence, 2 sha256, 3 rendition, 4 name, 5 bytes */
    struct anchor_leaf *leaves; /* owned, res rows in order */
    size_t n;
};

/* Rendition names in master order: the anchor row's copy. */
struct anchor_renditions {
    char names[ANCHOR_RENDITIONS_MAX][ANCHOR_RENDITION_BYTES_MAX + 1];
    size_t len;
};

/* What one submission did (counted once its transaction commits). */
enum anchor_outcome_kind {
    ANCHOR_OUTCOME_NONE = 0, /* nothing to do (locked elsewhere, anchored meanwhile) */
    ANCHOR_OUTCOME_SUBMITTED = 1,
    ANCHOR_OUTCOME_FAILED = 2 /* the vault already had a root: row 'failed' */
};

struct anchor_outcome {
    enum anchor_outcome_kind kind;
    char failure[ANCHOR_FAILURE_BYTES_MAX];
};

/* An anchor row as the evidence needs it. */
struct anchor_row {
    char status[ANCHOR_STATUS_BYTES_MAX];
    char recording_status[ANCHOR_STATUS_BYTES_MAX];
    uint8_t stream_key[32], root[32], tx_hash[32];
    uint64_t segment_count, chain_id, block_number, block_timestamp;
    struct address vault;
    struct anchor_renditions renditions;
};

static void anchor_hex(char out[ANCHOR_HEX32_SIZE], const uint8_t *bytes, size_t len);
static enum anchor_result anchor_db(struct err *e, enum pg_code r);
static void anchor_rollback(struct pg_session *pc);
static enum anchor_result anchor_exec_id(PGresult **res, struct pg_session *pc, const char *sql,
                                         const char *stream_id, struct err *e);
static bool anchor_renditions_split(struct anchor_renditions *out, const char *text);
static void anchor_renditions_literal(char out[ANCHOR_RENDITIONS_TEXT_BYTES],
                                      const struct anchor_renditions *r);
static enum anchor_result anchor_segments_read(struct anchor_segments *out, struct pg_session *pc,
                                               const char *stream_id, struct err *e);
static void anchor_segments_release(struct anchor_segments *s);
static enum anchor_result anchor_renditions_check(struct anchor_renditions *r,
                                                  const struct anchor_segments *s, struct err *e);
static enum anchor_result anchor_root_of(uint8_t root[MERKLE_HASH_BYTES], struct merkle_tree *t,
                                         const struct anchor_segments *s, struct err *e);
static enum anchor_result anchor_row_read(struct anchor_row *out, struct pg_session *pc,
                                          const char *stream_id, struct err *e);
static enum buf_result anchor_value_json(struct buf *out, size_t index, void *ctx);
static enum buf_result anchor_evidence_head(struct buf *out, const struct anchor_row *a,
                                            const char *stream_id);
static enum buf_result anchor_evidence_lists(struct buf *out, const struct anchor_segments *s);
static enum anchor_result anchor_evidence_write(struct buf *out, const struct anchor_row *a,
                                                const struct anchor_segments *s,
                                                const struct merkle_tree *t, const char *stream_id,
                                                struct err *e);
static enum anchor_result anchor_view_root(uint8_t root[32], struct rpc_client *rpc,
                                           const struct address *vault,
                                           const uint8_t stream_key[32], struct err *e);
static enum anchor_result anchor_block_time(uint64_t *out, struct rpc_client *rpc, uint64_t block,
                                            const uint8_t block_hash[32], struct err *e);
static void anchor_log(const struct anchor_job *j, enum log_level level, const char *msg,
                       const char *stream_id, const char *error);
static enum anchor_result anchor_lock_ended(bool *locked, uint8_t stream_key[32],
                                            struct anchor_renditions *r, struct pg_session *pc,
                                            const char *stream_id, struct err *e);
static enum anchor_result anchor_insert(bool *inserted, struct pg_session *pc,
                                        const struct anchor_job *j, const char *stream_id,
                                        const uint8_t stream_key[32], const uint8_t root[32],
                                        size_t count, const struct anchor_renditions *r,
                                        const char *failure, struct err *e);
static enum anchor_result anchor_submit_tx(struct anchor_job *j, struct pg_session *pc,
                                           struct rpc_client *rpc, const char *stream_id,
                                           const uint8_t stream_key[32], const uint8_t root[32],
                                           size_t count, struct err *e);
static enum anchor_result anchor_submit_locked(struct anchor_outcome *o, struct anchor_job *j,
                                               struct pg_session *pc, struct rpc_client *rpc,
                                               const char *stream_id, struct err *e);
static void anchor_submit_one(struct anchor_job_report *rep, struct anchor_job *j,
                              struct pg_session *pc, struct rpc_client *rpc, const char *stream_id);
static enum anchor_result anchor_finish(bool *done, struct pg_session *pc, const char *stream_id,
                                        const struct txmgr_tx *tx, uint64_t block_time,
                                        const uint8_t onchain_root[32], struct err *e);
static enum anchor_result anchor_mark_failed(bool *done, struct pg_session *pc,
                                             const char *stream_id, const char *failure,
                                             struct err *e);
static enum anchor_result anchor_confirm_one(struct anchor_job_report *rep, struct anchor_job *j,
                                             struct pg_session *pc, struct rpc_client *rpc,
                                             const char *stream_id, struct err *e);
static enum anchor_result anchor_list(PGresult **res, struct pg_session *pc, const char *sql,
                                      struct err *e);

/* ---- leaves and trees --------------------------------------------------------- */

void anchor_leaf_hash(uint8_t out[MERKLE_HASH_BYTES], const struct anchor_leaf *l)
{
    merkle_leaf_recording_u64(out, l->rendition_index, l->media_sequence, l->sha256);
}

enum anchor_result anchor_tree_build(struct merkle_tree *t, uint8_t root[MERKLE_HASH_BYTES],
                                     const struct anchor_leaf *leaves, size_t n, struct err *e)
{
    memset(t, 0, sizeof *t);
    if (n == 0)
        return err_set(e, ANCHOR_ERR_BAD_INPUT, "a recording tree needs at least one segment");
    if (n > ANCHOR_SEGMENTS_MAX)
        return err_set(e, ANCHOR_ERR_TOO_MANY, "%zu segments: at most %d are anchored", n,
                       ANCHOR_SEGMENTS_MAX);
    uint8_t(*hashes)[MERKLE_HASH_BYTES] = malloc(n * MERKLE_HASH_BYTES);
    if (hashes == NULL)
        return err_set(e, ANCHOR_ERR_NOMEM, "out of memory for %zu leaves", n);
    enum anchor_result r = ANCHOR_OK;
    for (size_t i = 0; i < n && r == ANCHOR_OK; i++) {
        if (leaves[i].rendition_index >= ANCHOR_RENDITIONS_MAX)
            r = err_set(e, ANCHOR_ERR_BAD_INPUT,
                        "segment %zu: rendition index %" PRIu32 " (at most %d)", i,
                        leaves[i].rendition_index, ANCHOR_RENDITIONS_MAX - 1);
        anchor_leaf_hash(hashes[i], &leaves[i]);
    }
    if (r == ANCHOR_OK &&
        merkle_tree_build(t, (const uint8_t(*)[MERKLE_HASH_BYTES])hashes, n, e) != MERKLE_OK)
        r = ANCHOR_ERR_BAD_INPUT;
    if (r == ANCHOR_OK)
        merkle_tree_root(root, t);
    if (e != NULL && r != ANCHOR_OK)
        e->code = (int)r;
    free(hashes);
    return r;
}

/* ---- reading -------------------------------------------------------------------- */

enum anchor_result anchor_recording_get(struct anchor_recording *out, struct pg_session *pc,
                                        const char *stream_id, struct err *e)
{
    static const char sql[] =
        "SELECT s.stream_key, r.status, (SELECT count(*) FROM segments g "
        "WHERE g.stream_id = s.id), a.status, a.merkle_root, a.tx_hash, a.block_number "
        "FROM streams s LEFT JOIN recordings r ON r.stream_id = s.id "
        "LEFT JOIN recording_anchors a ON a.stream_id = s.id WHERE s.id = $1::uuid";
    memset(out, 0, sizeof *out);
    PGresult *res = NULL;
    enum anchor_result r = anchor_exec_id(&res, pc, sql, stream_id, e);
    if (r != ANCHOR_OK)
        return r;
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 1)) {
        r = err_set(e, ANCHOR_ERR_NOT_FOUND,
                    PQntuples(res) != 1 ? "no stream '%s'" : "stream '%s' has no recording",
                    stream_id);
        goto out;
    }
    snprintf(out->stream_id, sizeof out->stream_id, "%s", stream_id);
    snprintf(out->status, sizeof out->status, "%s", PQgetvalue(res, 0, 1));
    out->has_root = !PQgetisnull(res, 0, 3);
    out->has_tx = !PQgetisnull(res, 0, 5);
    if (out->has_root)
        snprintf(out->anchor_status, sizeof out->anchor_status, "%s", PQgetvalue(res, 0, 3));
    if (!pg_get_bytea(out->stream_key, 32, res, 0, 0) ||
        !pg_get_u64(&out->segment_count, res, 0, 2) ||
        (out->has_root && !pg_get_bytea(out->merkle_root, 32, res, 0, 4)) ||
        (out->has_tx && (!pg_get_bytea(out->tx_hash, 32, res, 0, 5) ||
                         !pg_get_u64(&out->block_number, res, 0, 6))))
        r = err_set(e, ANCHOR_ERR_CORRUPT, "the recording of stream '%s' does not parse",
                    stream_id);
out:
    PQclear(res);
    return r;
}

enum anchor_result anchor_evidence(struct buf *out, struct pg_session *pc, const char *stream_id,
                                   struct err *e)
{
    size_t len_on_entry = out->len;
    struct anchor_row a;
    struct anchor_segments s = {0};
    struct merkle_tree t = {0};
    uint8_t root[MERKLE_HASH_BYTES];
    enum anchor_result r = anchor_row_read(&a, pc, stream_id, e);
    if (r == ANCHOR_OK)
        r = anchor_segments_read(&s, pc, stream_id, e);
    if (r == ANCHOR_OK && s.n != a.segment_count)
        r = err_set(e, ANCHOR_ERR_CORRUPT, "stream '%s': %zu segments stored, %" PRIu64 " anchored",
                    stream_id, s.n, a.segment_count);
    if (r == ANCHOR_OK)
        r = anchor_renditions_check(&a.renditions, &s, e);
    if (r == ANCHOR_OK)
        r = anchor_root_of(root, &t, &s, e);
    if (r == ANCHOR_OK && memcmp(root, a.root, 32) != 0)
        r = err_set(e, ANCHOR_ERR_CORRUPT,
                    "stream '%s': the stored segments no longer give the "
                    "anchored root",
                    stream_id);
    if (r == ANCHOR_OK)
        r = anchor_evidence_write(out, &a, &s, &t, stream_id, e);
    if (r != ANCHOR_OK && out->data != NULL) {
        out->len = len_on_entry;
        out->data[len_on_entry] = '\0';
    }
    merkle_tree_release(&t);
    anchor_segments_release(&s);
    return r;
}

/* The JSON of the package (anchor.h "Evidence") from the checked row,
 * segments and tree. */
static enum anchor_result anchor_evidence_write(struct buf *out, const struct anchor_row *a,
                                                const struct anchor_segments *s,
                                                const struct merkle_tree *t, const char *stream_id,
                                                struct err *e)
{
    static const char *const types[3] = {"uint256", "uint256", "bytes32"};
    enum buf_result br = anchor_evidence_head(out, a, stream_id);
    if (br == BUF_OK)
        br = anchor_evidence_lists(out, s);
    if (br == BUF_OK)
        br = buf_append_str(out, ",\"tree\":");
    enum merkle_result mr = br == BUF_ERR_NOMEM ? MERKLE_ERR_NOMEM : MERKLE_ERR_DUMP_TOO_BIG;
    if (br == BUF_OK) {
        uint8_t(*hashes)[MERKLE_HASH_BYTES] = malloc(s->n * MERKLE_HASH_BYTES);
        for (size_t i = 0; hashes != NULL && i < s->n; i++)
            anchor_leaf_hash(hashes[i], &s->leaves[i]);
        mr = hashes == NULL
                 ? MERKLE_ERR_NOMEM
                 : merkle_tree_dump(out, t, types, 3, (const uint8_t(*)[MERKLE_HASH_BYTES])hashes,
                                    s->n, anchor_value_json, (void *)s, e);
        free(hashes);
    }
    if (mr == MERKLE_OK && (br = buf_append_byte(out, '}')) == BUF_OK)
        return ANCHOR_OK;
    if (mr == MERKLE_ERR_NOMEM || br == BUF_ERR_NOMEM)
        return err_set(e, ANCHOR_ERR_NOMEM, "out of memory for the evidence of stream '%s'",
                       stream_id);
    return err_set(e, ANCHOR_ERR_TOO_BIG,
                   "the evidence of stream '%s' (%zu segments) is above "
                   "%zu bytes",
                   stream_id, s->n, out->len_max);
}

/* The recording's anchor row; NOT_FOUND or NOT_ANCHORED unless it is anchored. */
static enum anchor_result anchor_row_read(struct anchor_row *out, struct pg_session *pc,
                                          const char *stream_id, struct err *e)
{
    static const char sql[] =
        "SELECT r.status, a.status, a.stream_key, a.merkle_root, a.segment_count, "
        "array_to_string(a.renditions, ','), a.chain_id, a.vault, a.tx_hash, a.block_number, "
        "a.block_timestamp FROM recordings r LEFT JOIN recording_anchors a "
        "ON a.stream_id = r.stream_id WHERE r.stream_id = $1::uuid";
    memset(out, 0, sizeof *out);
    PGresult *res = NULL;
    enum anchor_result r = anchor_exec_id(&res, pc, sql, stream_id, e);
    if (r != ANCHOR_OK)
        return r;
    if (PQntuples(res) != 1) {
        r = err_set(e, ANCHOR_ERR_NOT_FOUND, "no recording of stream '%s'", stream_id);
        goto out;
    }
    snprintf(out->recording_status, sizeof out->recording_status, "%s", PQgetvalue(res, 0, 0));
    snprintf(out->status, sizeof out->status, "%s", PQgetvalue(res, 0, 1));
    if (strcmp(out->status, "anchored") != 0) {
        r = err_set(e, ANCHOR_ERR_NOT_ANCHORED, "the recording of stream '%s' is %s%s%s", stream_id,
                    out->recording_status, out->status[0] ? ", its anchor " : "", out->status);
        goto out;
    }
    if (!pg_get_bytea(out->stream_key, 32, res, 0, 2) || !pg_get_bytea(out->root, 32, res, 0, 3) ||
        !pg_get_u64(&out->segment_count, res, 0, 4) ||
        !anchor_renditions_split(&out->renditions, PQgetvalue(res, 0, 5)) ||
        !pg_get_u64(&out->chain_id, res, 0, 6) ||
        !pg_get_bytea(out->vault.bytes, ADDRESS_BYTES, res, 0, 7) ||
        !pg_get_bytea(out->tx_hash, 32, res, 0, 8) || !pg_get_u64(&out->block_number, res, 0, 9) ||
        !pg_get_u64(&out->block_timestamp, res, 0, 10))
        r = err_set(e, ANCHOR_ERR_CORRUPT, "the anchor of stream '%s' does not parse", stream_id);
out:
    PQclear(res);
    return r;
}

/* Every segment of the recording, ordered by rendition index and sequence. */
static enum anchor_result anchor_segments_read(struct anchor_segments *out, struct pg_session *pc,
                                               const char *stream_id, struct err *e)
{
    static const char sql[] = "SELECT rendition_index, media_sequence, sha256, rendition, name, "
                              "bytes FROM segments WHERE stream_id = $1::uuid "
                              "ORDER BY rendition_index, media_sequence LIMIT $2::int";
    char limit[ANCHOR_U64_TEXT_BYTES];
    snprintf(limit, sizeof limit, "%d", ANCHOR_SEGMENTS_MAX + 1);
    const char *params[2] = {stream_id, limit};
    memset(out, 0, sizeof *out);
    enum pg_code pr = pg_exec(pc, &out->res, sql, params, 2, e);
    if (pr != PG_OK)
        return anchor_db(e, pr);
    size_t n = (size_t)PQntuples(out->res);
    if (n > ANCHOR_SEGMENTS_MAX) {
        anchor_segments_release(out);
        return err_set(e, ANCHOR_ERR_TOO_MANY, "stream '%s' has more than %d segments", stream_id,
                       ANCHOR_SEGMENTS_MAX);
    }
    out->leaves = calloc(n > 0 ? n : 1, sizeof *out->leaves);
    if (out->leaves == NULL) {
        anchor_segments_release(out);
        return err_set(e, ANCHOR_ERR_NOMEM, "out of memory for %zu segments", n);
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t index = 0, bytes = 0;
        struct anchor_leaf *l = &out->leaves[i];
        if (!pg_get_u64(&index, out->res, (int)i, 0) || index >= ANCHOR_RENDITIONS_MAX ||
            !pg_get_u64(&l->media_sequence, out->res, (int)i, 1) ||
            !pg_get_bytea(l->sha256, 32, out->res, (int)i, 2) ||
            !pg_get_u64(&bytes, out->res, (int)i, 5)) {
            anchor_segments_release(out);
            return err_set(e, ANCHOR_ERR_CORRUPT, "segment row %zu of stream '%s' does not parse",
                           i, stream_id);
        }
        l->rendition_index = (uint32_t)index;
    }
    out->n = n;
    return ANCHOR_OK;
}

static void anchor_segments_release(struct anchor_segments *s)
{
    PQclear(s->res);
    free(s->leaves);
    memset(s, 0, sizeof *s);
}

/* With r->len == 0 (the gateway never got a master playlist): fills r from
 * the segments' rendition names by index (a gap stays ""). Then every
 * segment's rendition name must be r->names[its index]. */
static enum anchor_result anchor_renditions_check(struct anchor_renditions *r,
                                                  const struct anchor_segments *s, struct err *e)
{
    bool derive = r->len == 0;
    for (size_t i = 0; i < s->n; i++) {
        uint32_t index = s->leaves[i].rendition_index;
        const char *name = PQgetvalue(s->res, (int)i, 3);
        if (derive && index >= r->len) {
            for (size_t k = r->len; k <= index; k++)
                r->names[k][0] = '\0';
            snprintf(r->names[index], sizeof r->names[index], "%s", name);
            r->len = (size_t)index + 1;
        }
        if (index >= r->len || strcmp(r->names[index], name) != 0)
            return err_set(e, ANCHOR_ERR_CORRUPT,
                           "segment %zu: rendition '%.32s' is not index "
                           "%" PRIu32 " of the recording's renditions",
                           i, name, index);
    }
    return ANCHOR_OK;
}

static enum anchor_result anchor_root_of(uint8_t root[MERKLE_HASH_BYTES], struct merkle_tree *t,
                                         const struct anchor_segments *s, struct err *e)
{
    enum anchor_result r = anchor_tree_build(t, root, s->leaves, s->n, e);
    if (r == ANCHOR_ERR_BAD_INPUT) { /* stored rows that do not make a tree */
        r = ANCHOR_ERR_CORRUPT;
        if (e != NULL)
            e->code = (int)r;
    }
    return r;
}

/* ---- evidence JSON ------------------------------------------------------------- */

/* The tree dump's value i: ["<rendition>","<sequence>","0x<sha256>"]. */
static enum buf_result anchor_value_json(struct buf *out, size_t index, void *ctx)
{
    const struct anchor_segments *s = ctx;
    const struct anchor_leaf *l = &s->leaves[index];
    char sha[ANCHOR_HEX32_SIZE];
    anchor_hex(sha, l->sha256, 32);
    return buf_printf(out, "[\"%" PRIu32 "\",\"%" PRIu64 "\",\"%s\"]", l->rendition_index,
                      l->media_sequence, sha);
}

static enum buf_result anchor_evidence_head(struct buf *out, const struct anchor_row *a,
                                            const char *stream_id)
{
    char vault[ADDRESS_TEXT_SIZE], key[ANCHOR_HEX32_SIZE], root[ANCHOR_HEX32_SIZE],
        tx[ANCHOR_HEX32_SIZE];
    address_format_checksum(vault, &a->vault);
    anchor_hex(key, a->stream_key, 32);
    anchor_hex(root, a->root, 32);
    anchor_hex(tx, a->tx_hash, 32);
    enum buf_result r = buf_printf(
        out,
        "{\"chain_id\":%" PRIu64 ",\"vault\":\"%s\",\"stream_id\":\"%s\",\"stream_key\":\"%s\","
        "\"root\":\"%s\",\"tx_hash\":\"%s\",\"block_number\":%" PRIu64
        ",\"block_timestamp\":%" PRIu64 ",\"renditions\":[",
        a->chain_id, vault, stream_id, key, root, tx, a->block_number, a->block_timestamp);
    for (size_t i = 0; r == BUF_OK && i < a->renditions.len; i++)
        r = buf_printf(out, "%s\"%s\"", i > 0 ? "," : "", a->renditions.names[i]);
    if (r == BUF_OK)
        r = buf_append_str(out, "],\"leaf_types\":[\"uint256\",\"uint256\",\"bytes32\"]");
    return r;
}

/* ,"leaves":[[r,s,"0x.."],...],"segments":[{rendition, sequence, name, bytes},...] */
static enum buf_result anchor_evidence_lists(struct buf *out, const struct anchor_segments *s)
{
    enum buf_result r = buf_append_str(out, ",\"leaves\":[");
    for (size_t i = 0; r == BUF_OK && i < s->n; i++) {
        char sha[ANCHOR_HEX32_SIZE];
        anchor_hex(sha, s->leaves[i].sha256, 32);
        r = buf_printf(out, "%s[%" PRIu32 ",%" PRIu64 ",\"%s\"]", i > 0 ? "," : "",
                       s->leaves[i].rendition_index, s->leaves[i].media_sequence, sha);
    }
    if (r == BUF_OK)
        r = buf_append_str(out, "],\"segments\":[");
    for (size_t i = 0; r == BUF_OK && i < s->n; i++) {
        /* names match ^[A-Za-z0-9_-]{1,64}\.[a-z0-9]{2,4}$ (0002): nothing to escape */
        uint64_t bytes = 0;
        ASSERT(pg_get_u64(&bytes, s->res, (int)i, 5)); /* checked when read */
        r = buf_printf(out,
                       "%s{\"rendition\":%" PRIu32 ",\"sequence\":%" PRIu64
                       ",\"name\":\"%s\",\"bytes\":%" PRIu64 "}",
                       i > 0 ? "," : "", s->leaves[i].rendition_index, s->leaves[i].media_sequence,
                       PQgetvalue(s->res, (int)i, 4), bytes);
    }
    if (r == BUF_OK)
        r = buf_append_byte(out, ']');
    return r;
}

/* ---- the job --------------------------------------------------------------------- */

void anchor_job_init(struct anchor_job *j, const struct anchor_job_config *cfg, struct txmgr *tm)
{
    ASSERT(j != NULL && cfg != NULL && tm != NULL && cfg->chain_id > 0);
    memset(j, 0, sizeof *j);
    j->cfg = *cfg;
    j->tm = tm;
}

enum anchor_result anchor_job_tick(struct anchor_job_report *report, struct anchor_job *j,
                                   struct pg_session *pc, struct rpc_client *rpc, struct err *e)
{
    static const char ended_sql[] =
        "SELECT r.stream_id FROM recordings r WHERE r.status = 'ended' "
        "AND NOT EXISTS (SELECT 1 FROM recording_anchors a WHERE a.stream_id = r.stream_id) "
        "AND EXISTS (SELECT 1 FROM segments g WHERE g.stream_id = r.stream_id) "
        "ORDER BY r.ended_at, r.stream_id LIMIT $1::int";
    static const char submitted_sql[] = "SELECT stream_id FROM recording_anchors "
                                        "WHERE status = 'submitted' ORDER BY created_at, "
                                        "stream_id LIMIT $1::int";
    memset(report, 0, sizeof *report);
    PGresult *res = NULL;
    enum anchor_result r = anchor_list(&res, pc, ended_sql, e);
    if (r != ANCHOR_OK)
        return r;
    for (int i = 0; i < PQntuples(res); i++)
        anchor_submit_one(report, j, pc, rpc, PQgetvalue(res, i, 0));
    PQclear(res);
    r = anchor_list(&res, pc, submitted_sql, e);
    if (r != ANCHOR_OK)
        return r;
    for (int i = 0; i < PQntuples(res); i++) {
        struct err one = {0};
        const char *id = PQgetvalue(res, i, 0);
        if (anchor_confirm_one(report, j, pc, rpc, id, &one) != ANCHOR_OK) {
            report->skipped++;
            anchor_log(j, LOG_ERROR, "recording anchor not confirmed", id, one.msg);
        }
    }
    PQclear(res);
    return ANCHOR_OK;
}

static enum anchor_result anchor_list(PGresult **res, struct pg_session *pc, const char *sql,
                                      struct err *e)
{
    char limit[ANCHOR_U64_TEXT_BYTES];
    snprintf(limit, sizeof limit, "%d", ANCHOR_JOB_ROWS_MAX);
    const char *params[1] = {limit};
    enum pg_code pr = pg_exec(pc, res, sql, params, 1, e);
    return pr == PG_OK ? ANCHOR_OK : anchor_db(e, pr);
}

/* One recording's submission in a transaction of its own (see anchor.h). */
static void anchor_submit_one(struct anchor_job_report *rep, struct anchor_job *j,
                              struct pg_session *pc, struct rpc_client *rpc, const char *stream_id)
{
    struct err e = {0};
    struct anchor_outcome o = {.kind = ANCHOR_OUTCOME_NONE};
    enum pg_code pr = pg_begin(pc, PG_READ_COMMITTED, &e);
    enum anchor_result r =
        pr == PG_OK ? anchor_submit_locked(&o, j, pc, rpc, stream_id, &e) : anchor_db(&e, pr);
    if (r == ANCHOR_OK) {
        pr = pg_commit(pc, &e);
        r = pr == PG_OK ? ANCHOR_OK : anchor_db(&e, pr);
    } else if (pr == PG_OK) {
        anchor_rollback(pc);
    }
    if (r != ANCHOR_OK) {
        rep->skipped++;
        anchor_log(j, r == ANCHOR_ERR_DB ? LOG_WARN : LOG_ERROR, "recording not anchored",
                   stream_id, e.msg);
    } else if (o.kind == ANCHOR_OUTCOME_SUBMITTED) {
        rep->submitted++;
        anchor_log(j, LOG_INFO, "recording anchor submitted", stream_id, NULL);
    } else if (o.kind == ANCHOR_OUTCOME_FAILED) {
        rep->failed++;
        anchor_log(j, LOG_ERROR, "recording anchor failed", stream_id, o.failure);
    }
}

/* Inside the submission's transaction: lock, build, insert, submit. A
 * recording that is no longer to anchor (locked elsewhere, anchored
 * meanwhile) is ANCHOR_OK with outcome NONE. */
static enum anchor_result anchor_submit_locked(struct anchor_outcome *o, struct anchor_job *j,
                                               struct pg_session *pc, struct rpc_client *rpc,
                                               const char *stream_id, struct err *e)
{
    uint8_t stream_key[32], root[MERKLE_HASH_BYTES], onchain[32], zero[32] = {0};
    struct anchor_renditions names;
    struct anchor_segments s = {0};
    struct merkle_tree t = {0};
    bool locked = false, inserted = false;
    enum anchor_result r = anchor_lock_ended(&locked, stream_key, &names, pc, stream_id, e);
    if (r != ANCHOR_OK || !locked)
        return r;
    r = anchor_segments_read(&s, pc, stream_id, e);
    if (r == ANCHOR_OK)
        r = anchor_renditions_check(&names, &s, e);
    if (r == ANCHOR_OK)
        r = anchor_root_of(root, &t, &s, e);
    if (r == ANCHOR_OK)
        r = anchor_view_root(onchain, rpc, &j->cfg.vault, stream_key, e);
    bool foreign = r == ANCHOR_OK && memcmp(onchain, zero, 32) != 0;
    if (foreign) {
        char hex[ANCHOR_HEX32_SIZE];
        anchor_hex(hex, onchain, 32);
        snprintf(o->failure, sizeof o->failure,
                 "the vault already holds root %s for this "
                 "stream (anchored outside this service): nothing sent",
                 hex);
    }
    if (r == ANCHOR_OK)
        r = anchor_insert(&inserted, pc, j, stream_id, stream_key, root, s.n, &names,
                          foreign ? o->failure : NULL, e);
    if (r == ANCHOR_OK && inserted && !foreign)
        r = anchor_submit_tx(j, pc, rpc, stream_id, stream_key, root, s.n, e);
    if (r == ANCHOR_OK && inserted)
        o->kind = foreign ? ANCHOR_OUTCOME_FAILED : ANCHOR_OUTCOME_SUBMITTED;
    merkle_tree_release(&t);
    anchor_segments_release(&s);
    return r;
}

/* Locks the recordings row of `stream_id` when it is ended and has no
 * anchor (FOR UPDATE SKIP LOCKED); *locked false when it is not (any more)
 * or another worker holds it. */
static enum anchor_result anchor_lock_ended(bool *locked, uint8_t stream_key[32],
                                            struct anchor_renditions *r, struct pg_session *pc,
                                            const char *stream_id, struct err *e)
{
    static const char sql[] =
        "SELECT s.stream_key, array_to_string(r.renditions, ','), cardinality(r.renditions) "
        "FROM recordings r JOIN streams s ON s.id = r.stream_id "
        "WHERE r.stream_id = $1::uuid AND r.status = 'ended' AND NOT EXISTS "
        "(SELECT 1 FROM recording_anchors a WHERE a.stream_id = r.stream_id) "
        "FOR UPDATE OF r SKIP LOCKED";
    PGresult *res = NULL;
    *locked = false;
    memset(r, 0, sizeof *r);
    enum anchor_result out = anchor_exec_id(&res, pc, sql, stream_id, e);
    if (out != ANCHOR_OK)
        return out;
    if (PQntuples(res) == 1) {
        uint8_t want[32];
        bool empty = strcmp(PQgetvalue(res, 0, 2), "0") == 0;
        *locked = true;
        ids_key_of(want, stream_id);
        if (!pg_get_bytea(stream_key, 32, res, 0, 0) ||
            (!empty && !anchor_renditions_split(r, PQgetvalue(res, 0, 1))))
            out = err_set(e, ANCHOR_ERR_CORRUPT, "the recording of stream '%s' does not parse",
                          stream_id);
        else if (memcmp(want, stream_key, 32) != 0)
            out = err_set(e, ANCHOR_ERR_CORRUPT,
                          "stream '%s': the stored stream_key is not keccak256(id)", stream_id);
    }
    PQclear(res);
    return out;
}

/* Inserts the anchor row (status submitted, or failed with `failure`);
 * *inserted false when one exists. */
static enum anchor_result anchor_insert(bool *inserted, struct pg_session *pc,
                                        const struct anchor_job *j, const char *stream_id,
                                        const uint8_t stream_key[32], const uint8_t root[32],
                                        size_t count, const struct anchor_renditions *r,
                                        const char *failure, struct err *e)
{
    static const char sql[] =
        "INSERT INTO recording_anchors (stream_id, purpose, stream_key, merkle_root, "
        "segment_count, renditions, chain_id, vault, status, failure) VALUES ($1::uuid, $2, "
        "$3::bytea, $4::bytea, $5::int, $6::text[], $7::bigint, $8::bytea, $9, $10) "
        "ON CONFLICT DO NOTHING RETURNING 1";
    char purpose[ANCHOR_PURPOSE_SIZE], key[PG_BYTEA_TEXT_SIZE], root_text[PG_BYTEA_TEXT_SIZE],
        vault[PG_BYTEA_TEXT_SIZE], count_text[ANCHOR_U64_TEXT_BYTES], chain[ANCHOR_U64_TEXT_BYTES],
        names[ANCHOR_RENDITIONS_TEXT_BYTES];
    snprintf(purpose, sizeof purpose, ANCHOR_PURPOSE_PREFIX "%s", stream_id);
    pg_bytea_text(key, stream_key, 32);
    pg_bytea_text(root_text, root, 32);
    pg_bytea_text(vault, j->cfg.vault.bytes, ADDRESS_BYTES);
    snprintf(count_text, sizeof count_text, "%zu", count);
    snprintf(chain, sizeof chain, "%" PRIu64, j->cfg.chain_id);
    anchor_renditions_literal(names, r);
    const char *params[10] = {stream_id, purpose,    key,
                              root_text, count_text, names,
                              chain,     vault,      failure ? "failed" : "submitted",
                              failure};
    PGresult *res = NULL;
    *inserted = false;
    enum pg_code pr = pg_exec(pc, &res, sql, params, 10, e);
    if (pr != PG_OK)
        return anchor_db(e, pr);
    *inserted = PQntuples(res) == 1;
    PQclear(res);
    return ANCHOR_OK;
}

/* txmgr_submit(anchorRecording(streamKey, root, count)) in the caller's
 * transaction; an existing row of the purpose is this anchor's. */
static enum anchor_result anchor_submit_tx(struct anchor_job *j, struct pg_session *pc,
                                           struct rpc_client *rpc, const char *stream_id,
                                           const uint8_t stream_key[32], const uint8_t root[32],
                                           size_t count, struct err *e)
{
    struct abi_value args[3] = {abi_value_bytes32(stream_key), abi_value_bytes32(root),
                                abi_value_u64((uint64_t)count)};
    char purpose[ANCHOR_PURPOSE_SIZE];
    struct buf data;
    struct txmgr_tx tx;
    snprintf(purpose, sizeof purpose, ANCHOR_PURPOSE_PREFIX "%s", stream_id);
    buf_init(&data, 4 + 3 * 32);
    if (abi_encode_call(&data, ANCHOR_CALL_SIG, args, 3, e) != ABI_OK) {
        buf_release(&data);
        return ANCHOR_ERR_BAD_INPUT;
    }
    struct txmgr_request req = {.purpose = purpose,
                                .has_to = true,
                                .to = j->cfg.vault,
                                .data = data.data,
                                .data_len = data.len,
                                .gas_limit = 0};
    enum txmgr_result tr = txmgr_submit(&tx, j->tm, pc, rpc, &req, e);
    buf_release(&data);
    if (tr == TXMGR_ERR_EXISTS)
        anchor_log(j, LOG_WARN, "anchor transaction already submitted", stream_id, purpose);
    if (tr == TXMGR_OK || tr == TXMGR_ERR_EXISTS)
        return ANCHOR_OK;
    return tr == TXMGR_ERR_DB    ? ANCHOR_ERR_DB
           : tr == TXMGR_ERR_RPC ? ANCHOR_ERR_RPC
                                 : ANCHOR_ERR_TX;
}

/* A submitted anchor: acts on its transaction's final state. */
static enum anchor_result anchor_confirm_one(struct anchor_job_report *rep, struct anchor_job *j,
                                             struct pg_session *pc, struct rpc_client *rpc,
                                             const char *stream_id, struct err *e)
{
    char purpose[ANCHOR_PURPOSE_SIZE];
    snprintf(purpose, sizeof purpose, ANCHOR_PURPOSE_PREFIX "%s", stream_id);
    struct txmgr_tx tx;
    enum txmgr_result tr = txmgr_get(&tx, pc, purpose, e);
    if (tr != TXMGR_OK)
        return tr == TXMGR_ERR_DB ? ANCHOR_ERR_DB : ANCHOR_ERR_TX;
    bool done = false;
    enum anchor_result r = ANCHOR_OK;
    if (tx.status == TXMGR_REVERTED) {
        char failure[ANCHOR_FAILURE_BYTES_MAX], hash[ANCHOR_HEX32_SIZE];
        anchor_hex(hash, tx.tx_hash, 32);
        snprintf(failure, sizeof failure, "the anchor transaction %s reverted in block %" PRIu64,
                 hash, tx.block_number);
        r = anchor_mark_failed(&done, pc, stream_id, failure, e);
        if (r == ANCHOR_OK && done) {
            rep->failed++;
            anchor_log(j, LOG_ERROR, "recording anchor failed", stream_id, failure);
        }
        return r;
    }
    if (tx.status != TXMGR_CONFIRMED || !tx.has_block)
        return ANCHOR_OK; /* not final yet */
    uint8_t onchain[32], stream_key[32];
    uint64_t block_time = 0;
    ids_key_of(stream_key, stream_id);
    r = anchor_block_time(&block_time, rpc, tx.block_number, tx.block_hash, e);
    if (r == ANCHOR_OK)
        r = anchor_view_root(onchain, rpc, &j->cfg.vault, stream_key, e);
    if (r == ANCHOR_OK)
        r = anchor_finish(&done, pc, stream_id, &tx, block_time, onchain, e);
    if (r == ANCHOR_OK && done) {
        rep->anchored++;
        anchor_log(j, LOG_INFO, "recording anchored", stream_id, NULL);
    }
    return r;
}

/* One transaction: the submitted anchor row (locked) must hold the vault's
 * root; then it becomes anchored and its recording too. *done false when
 * another worker finished it first. */
static enum anchor_result anchor_finish(bool *done, struct pg_session *pc, const char *stream_id,
                                        const struct txmgr_tx *tx, uint64_t block_time,
                                        const uint8_t onchain_root[32], struct err *e)
{
    static const char lock_sql[] = "SELECT merkle_root FROM recording_anchors WHERE stream_id = "
                                   "$1::uuid AND status = 'submitted' FOR UPDATE";
    static const char anchor_sql[] =
        "UPDATE recording_anchors SET status = 'anchored', tx_hash = $2::bytea, "
        "block_number = $3::bigint, block_hash = $4::bytea, block_timestamp = $5::bigint, "
        "updated_at = now() WHERE stream_id = $1::uuid AND status = 'submitted'";
    static const char recording_sql[] =
        "UPDATE recordings SET status = 'anchored', merkle_root = $2::bytea, "
        "anchor_tx_hash = $3::bytea, anchor_block = $4::bigint "
        "WHERE stream_id = $1::uuid AND status = 'ended' RETURNING 1";
    char tx_hash[PG_BYTEA_TEXT_SIZE], block_hash[PG_BYTEA_TEXT_SIZE], root[PG_BYTEA_TEXT_SIZE];
    char block[ANCHOR_U64_TEXT_BYTES], time_text[ANCHOR_U64_TEXT_BYTES];
    pg_bytea_text(tx_hash, tx->tx_hash, 32);
    pg_bytea_text(block_hash, tx->block_hash, 32);
    pg_bytea_text(root, onchain_root, 32);
    snprintf(block, sizeof block, "%" PRIu64, tx->block_number);
    snprintf(time_text, sizeof time_text, "%" PRIu64, block_time);
    const char *anchor_params[5] = {stream_id, tx_hash, block, block_hash, time_text};
    const char *recording_params[4] = {stream_id, root, tx_hash, block};
    PGresult *res = NULL;
    uint8_t stored[32];
    *done = false;
    enum pg_code pr = pg_begin(pc, PG_READ_COMMITTED, e);
    if (pr == PG_OK)
        pr = pg_exec(pc, &res, lock_sql, &stream_id, 1, e);
    enum anchor_result r = pr == PG_OK ? ANCHOR_OK : anchor_db(e, pr);
    bool open = r == ANCHOR_OK && PQntuples(res) == 1;
    if (open && (!pg_get_bytea(stored, 32, res, 0, 0) || memcmp(stored, onchain_root, 32) != 0))
        r = err_set(e, ANCHOR_ERR_CORRUPT, "the vault's recordingRoot is not the anchored root");
    PQclear(res);
    res = NULL;
    if (r == ANCHOR_OK && open) {
        pr = pg_exec(pc, NULL, anchor_sql, anchor_params, 5, e);
        if (pr == PG_OK)
            pr = pg_exec(pc, &res, recording_sql, recording_params, 4, e);
        r = pr == PG_OK ? ANCHOR_OK : anchor_db(e, pr);
        if (r == ANCHOR_OK && PQntuples(res) != 1)
            r = err_set(e, ANCHOR_ERR_CORRUPT, "the recording is not 'ended'");
        PQclear(res);
    }
    if (r == ANCHOR_OK && pr == PG_OK) {
        pr = pg_commit(pc, e);
        r = pr == PG_OK ? ANCHOR_OK : anchor_db(e, pr);
        *done = r == ANCHOR_OK && open;
    } else if (pc->conn != NULL) {
        anchor_rollback(pc);
    }
    return r;
}

static enum anchor_result anchor_mark_failed(bool *done, struct pg_session *pc,
                                             const char *stream_id, const char *failure,
                                             struct err *e)
{
    static const char sql[] = "UPDATE recording_anchors SET status = 'failed', failure = $2, "
                              "updated_at = now() WHERE stream_id = $1::uuid "
                              "AND status = 'submitted' RETURNING 1";
    const char *params[2] = {stream_id, failure};
    PGresult *res = NULL;
    enum pg_code pr = pg_exec(pc, &res, sql, params, 2, e);
    if (pr != PG_OK)
        return anchor_db(e, pr);
    *done = PQntuples(res) == 1;
    PQclear(res);
    return ANCHOR_OK;
}

/* ---- chain reads ------------------------------------------------------------------ */

/* The vault's recordingRoot(streamKey) at the latest block. */
static enum anchor_result anchor_view_root(uint8_t root[32], struct rpc_client *rpc,
                                           const struct address *vault,
                                           const uint8_t stream_key[32], struct err *e)
{
    struct abi_value arg = abi_value_bytes32(stream_key);
    enum rpc_result rr =
        rpc_view_word(rpc, root, vault->bytes, ANCHOR_ROOT_VIEW_SIG, &arg, 1, "latest", e);
    enum anchor_result r = rr == RPC_OK              ? ANCHOR_OK
                           : rr == RPC_ERR_BAD_INPUT ? ANCHOR_ERR_BAD_INPUT
                                                     : ANCHOR_ERR_RPC;
    if (e != NULL && r != ANCHOR_OK)
        e->code = (int)r;
    return r;
}

/* The timestamp of block `block`, which must still have hash `block_hash`. */
static enum anchor_result anchor_block_time(uint64_t *out, struct rpc_client *rpc, uint64_t block,
                                            const uint8_t block_hash[32], struct err *e)
{
    char tag[ANCHOR_U64_TEXT_BYTES];
    uint8_t hash[32];
    json_t *result = NULL;
    snprintf(tag, sizeof tag, "0x%" PRIx64, block);
    if (rpc_call(rpc, "eth_getBlockByNumber", json_pack("[s, b]", tag, 0), &result, e) != RPC_OK) {
        if (e != NULL)
            e->code = ANCHOR_ERR_RPC;
        return ANCHOR_ERR_RPC;
    }
    const char *hex = json_string_value(json_object_get(result, "hash"));
    enum anchor_result r = ANCHOR_OK;
    if (!json_is_object(result) || hex == NULL ||
        hex_decode_exact(hash, 32, hex, strlen(hex), NULL) != HEX_OK ||
        rpc_parse_quantity_u64(out, json_object_get(result, "timestamp"), NULL) != RPC_OK)
        r = err_set(e, ANCHOR_ERR_RPC, "block %" PRIu64 ": no usable header", block);
    else if (memcmp(hash, block_hash, 32) != 0)
        r = err_set(e, ANCHOR_ERR_RPC, "block %" PRIu64 " is no longer the receipt's block", block);
    json_decref(result);
    return r;
}

/* ---- small helpers ---------------------------------------------------------------- */

static void anchor_log(const struct anchor_job *j, enum log_level level, const char *msg,
                       const char *stream_id, const char *error)
{
    if (j->cfg.log == NULL)
        return;
    if (error != NULL)
        log_write(j->cfg.log, level, msg,
                  LOG_KVS(log_str("stream", stream_id), log_str("error", error)));
    else
        log_write(j->cfg.log, level, msg, LOG_KVS(log_str("stream", stream_id)));
}

/* ROLLBACK after a failure; one that fails too leaves a broken session,
 * which the next statement reports. */
static void anchor_rollback(struct pg_session *pc)
{
    if (pg_rollback(pc, NULL) != PG_OK)
        return;
}

/* One statement whose only parameter is the stream id. */
static enum anchor_result anchor_exec_id(PGresult **res, struct pg_session *pc, const char *sql,
                                         const char *stream_id, struct err *e)
{
    enum pg_code pr = pg_exec(pc, res, sql, &stream_id, 1, e);
    return pr == PG_OK ? ANCHOR_OK : anchor_db(e, pr);
}

static enum anchor_result anchor_db(struct err *e, enum pg_code r)
{
    (void)r;
    if (e != NULL)
        e->code = ANCHOR_ERR_DB;
    return ANCHOR_ERR_DB;
}

static void anchor_hex(char out[ANCHOR_HEX32_SIZE], const uint8_t *bytes, size_t len)
{
    ASSERT(len <= 32 && hex_encode_0x(out, ANCHOR_HEX32_SIZE, bytes, len) == 0);
}

/* "a,b,,d" (array_to_string of a text[]) -> names; each [A-Za-z0-9_-]{0,32}. */
static bool anchor_renditions_split(struct anchor_renditions *out, const char *text)
{
    memset(out, 0, sizeof *out);
    for (const char *p = text;; p++) {
        size_t len = strcspn(p, ",");
        if (out->len == ANCHOR_RENDITIONS_MAX || len > ANCHOR_RENDITION_BYTES_MAX ||
            strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") < len)
            return false;
        memcpy(out->names[out->len++], p, len);
        p += len;
        if (*p == '\0')
            return true;
    }
}

/* names as a PostgreSQL text[] literal: {"a","b"} (names need no escaping). */
static void anchor_renditions_literal(char out[ANCHOR_RENDITIONS_TEXT_BYTES],
                                      const struct anchor_renditions *r)
{
    size_t o = 0;
    out[o++] = '{';
    for (size_t i = 0; i < r->len; i++) {
        int n = snprintf(out + o, ANCHOR_RENDITIONS_TEXT_BYTES - o, "%s\"%s\"", i > 0 ? "," : "",
                         r->names[i]);
        ASSERT(n > 0 && (size_t)n < ANCHOR_RENDITIONS_TEXT_BYTES - o);
        o += (size_t)n;
    }
    ASSERT(o + 2 <= ANCHOR_RENDITIONS_TEXT_BYTES);
    out[o++] = '}';
    out[o] = '\0';
}
