/* store.c - see store.h. */
#include "store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "hex.h"

/* One query's parameters: text, or bytea in binary. */
#define STORE_PARAMS_MAX 12

struct store_params {
    const char *values[STORE_PARAMS_MAX];
    int lengths[STORE_PARAMS_MAX];
    int formats[STORE_PARAMS_MAX];
    int n;
};

static void store_param_text(struct store_params *p, const char *text);
static void store_param_bytes(struct store_params *p, const uint8_t *bytes, size_t len);
static enum store_result store_exec(PGresult **res_out, struct pg_session *pc, const char *sql,
                                    const struct store_params *p, struct err *e);
static bool store_get_text(char *out, size_t size, const PGresult *res, int row, int col);
static enum store_result store_corrupt(struct err *e, const char *what);
static enum store_result store_stream_rules(struct store_stream *out, struct pg_session *pc,
                                            struct err *e);
static bool store_text_array(char *out, size_t size, const char *const *names, size_t n);

static void store_param_text(struct store_params *p, const char *text)
{
    ASSERT(p->n < STORE_PARAMS_MAX);
    p->values[p->n] = text;
    p->lengths[p->n] = 0;
    p->formats[p->n] = 0;
    p->n++;
}

static void store_param_bytes(struct store_params *p, const uint8_t *bytes, size_t len)
{
    ASSERT(p->n < STORE_PARAMS_MAX && len <= 64);
    p->values[p->n] = (const char *)bytes;
    p->lengths[p->n] = (int)len;
    p->formats[p->n] = 1;
    p->n++;
}

static enum store_result store_exec(PGresult **res_out, struct pg_session *pc, const char *sql,
                                    const struct store_params *p, struct err *e)
{
    enum pg_code r = pg_exec_params(pc, res_out, sql, p->values, p->lengths, p->formats, p->n, e);
    if (r == PG_OK)
        return STORE_OK;
    if (r == PG_ERR_UNIQUE)
        return STORE_ERR_CONFLICT;
    return STORE_ERR_DB;
}

static bool store_get_text(char *out, size_t size, const PGresult *res, int row, int col)
{
    size_t n = (size_t)PQgetlength(res, row, col);
    if (PQgetisnull(res, row, col) || n >= size)
        return false;
    memcpy(out, PQgetvalue(res, row, col), n + 1);
    return true;
}

static enum store_result store_corrupt(struct err *e, const char *what)
{
    return (enum store_result)err_set(e, STORE_ERR_CORRUPT, "stored %s does not parse", what);
}

/* Fills out->passes from stream_passes (ordered by contract). */
static enum store_result store_stream_rules(struct store_stream *out, struct pg_session *pc,
                                            struct err *e)
{
    static const char sql[] =
        "SELECT sp.contract, sp.min_balance::text, p.price_wei::text FROM stream_passes sp "
        "JOIN passes p ON p.contract = sp.contract WHERE sp.stream_id = $1::uuid "
        "ORDER BY sp.contract LIMIT " MACRO_TEXT(STORE_STREAM_PASSES_MAX);
    struct store_params p = {0};
    store_param_text(&p, out->id);
    PGresult *res = NULL;
    enum store_result r = store_exec(&res, pc, sql, &p, e);
    if (r != STORE_OK)
        return r;
    int rows = PQntuples(res);
    out->passes_len = 0;
    for (int i = 0; i < rows; i++) {
        struct store_pass_rule *rule = &out->passes[out->passes_len];
        if (!pg_get_bytea(rule->contract.bytes, ADDRESS_BYTES, res, i, 0) ||
            !pg_get_u256(&rule->min_balance, res, i, 1) ||
            !pg_get_u256(&rule->price_wei, res, i, 2)) {
            PQclear(res);
            return store_corrupt(e, "access rule");
        }
        out->passes_len++;
    }
    PQclear(res);
    return STORE_OK;
}

enum store_result store_stream_get(struct store_stream *out, struct pg_session *pc,
                                   const char *stream_id, struct err *e)
{
    static const char sql[] =
        "SELECT s.id::text, s.creator_id::text, s.title, s.status, c.creator_key, s.stream_key, "
        "c.owner, s.tip_min_wei::text FROM streams s JOIN creators c ON c.id = s.creator_id "
        "WHERE s.id = $1::uuid";
    memset(out, 0, sizeof *out);
    if (!ids_uuid_valid(stream_id, strnlen(stream_id, IDS_UUID_SIZE)))
        return (enum store_result)err_set(e, STORE_ERR_BAD_INPUT, "stream id is not a uuid");
    struct store_params p = {0};
    store_param_text(&p, stream_id);
    PGresult *res = NULL;
    enum store_result r = store_exec(&res, pc, sql, &p, e);
    if (r != STORE_OK)
        return r;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return (enum store_result)err_set(e, STORE_ERR_NOT_FOUND, "no stream '%s'", stream_id);
    }
    bool ok = store_get_text(out->id, sizeof out->id, res, 0, 0) &&
              store_get_text(out->creator_id, sizeof out->creator_id, res, 0, 1) &&
              store_get_text(out->title, sizeof out->title, res, 0, 2) &&
              store_get_text(out->status, sizeof out->status, res, 0, 3) &&
              pg_get_bytea(out->creator_key, 32, res, 0, 4) &&
              pg_get_bytea(out->stream_key, 32, res, 0, 5) &&
              pg_get_bytea(out->owner.bytes, ADDRESS_BYTES, res, 0, 6);
    out->has_tip_min = !PQgetisnull(res, 0, 7);
    if (ok && out->has_tip_min)
        ok = pg_get_u256(&out->tip_min_wei, res, 0, 7);
    PQclear(res);
    if (!ok)
        return store_corrupt(e, "stream");
    return store_stream_rules(out, pc, e);
}

enum store_result store_tips_total(struct u256 *out_wei, struct pg_session *pc, uint64_t chain_id,
                                   const uint8_t stream_key[32], const struct address *from,
                                   struct err *e)
{
    static const char sql[] = "SELECT coalesce(sum(amount_wei), 0)::text FROM tips "
                              "WHERE chain_id = $1::bigint AND stream_key = $2 AND "
                              "from_address = $3";
    char chain[24];
    snprintf(chain, sizeof chain, "%" PRIu64, chain_id);
    struct store_params p = {0};
    store_param_text(&p, chain);
    store_param_bytes(&p, stream_key, 32);
    store_param_bytes(&p, from->bytes, ADDRESS_BYTES);
    PGresult *res = NULL;
    enum store_result r = store_exec(&res, pc, sql, &p, e);
    if (r != STORE_OK)
        return r;
    bool ok = PQntuples(res) == 1 && pg_get_u256(out_wei, res, 0, 0);
    PQclear(res);
    /* A sum of u256 values can exceed 2^256 - 1 only after ~10^59 ether. */
    return ok ? STORE_OK : store_corrupt(e, "tip total");
}

enum store_result store_tip_insert(bool *inserted, struct pg_session *pc, const struct store_tip *t,
                                   struct err *e)
{
    static const char sql[] =
        "INSERT INTO tips (chain_id, tx_hash, log_index, block_number, block_hash, creator_key, "
        "stream_key, from_address, amount_wei, source) VALUES ($1::bigint, $2, $3::int, "
        "$4::bigint, $5, $6, $7, $8, $9::numeric, $10) "
        "ON CONFLICT (chain_id, tx_hash, log_index) DO UPDATE SET block_number = "
        "EXCLUDED.block_number, block_hash = EXCLUDED.block_hash "
        "WHERE tips.block_hash <> EXCLUDED.block_hash RETURNING (xmax = 0)";
    char chain[24], index[16], block[24], amount[U256_DEC_SIZE];
    snprintf(chain, sizeof chain, "%" PRIu64, t->chain_id);
    snprintf(index, sizeof index, "%" PRIu32, t->log_index);
    snprintf(block, sizeof block, "%" PRIu64, t->block_number);
    u256_to_dec(amount, &t->amount_wei);
    struct store_params p = {0};
    store_param_text(&p, chain);
    store_param_bytes(&p, t->tx_hash, 32);
    store_param_text(&p, index);
    store_param_text(&p, block);
    store_param_bytes(&p, t->block_hash, 32);
    store_param_bytes(&p, t->creator_key, 32);
    store_param_bytes(&p, t->stream_key, 32);
    store_param_bytes(&p, t->from.bytes, ADDRESS_BYTES);
    store_param_text(&p, amount);
    store_param_text(&p, t->from_follower ? "follow" : "receipt");
    PGresult *res = NULL;
    enum store_result r = store_exec(&res, pc, sql, &p, e);
    if (r != STORE_OK)
        return r;
    /* A new row says t (xmax 0); the same log seen in another block (a reorg
     * re-mined it) moves the row there and says f; a known one returns none. */
    *inserted = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return STORE_OK;
}

enum store_result store_tips_forget_from(struct pg_session *pc, uint64_t chain_id,
                                         uint64_t block_number, struct err *e)
{
    static const char sql[] =
        "DELETE FROM tips WHERE chain_id = $1::bigint AND block_number >= $2::bigint";
    char chain[24], block[24];
    snprintf(chain, sizeof chain, "%" PRIu64, chain_id);
    snprintf(block, sizeof block, "%" PRIu64, block_number);
    struct store_params p = {0};
    store_param_text(&p, chain);
    store_param_text(&p, block);
    return store_exec(NULL, pc, sql, &p, e);
}

enum store_result store_ingest_key_check(bool *matches, struct pg_session *pc,
                                         const char *stream_id, const uint8_t key_sha256[32],
                                         struct err *e)
{
    static const char sql[] = "SELECT ingest_key_hash FROM streams WHERE id = $1::uuid";
    *matches = false;
    struct store_params p = {0};
    store_param_text(&p, stream_id);
    PGresult *res = NULL;
    enum store_result r = store_exec(&res, pc, sql, &p, e);
    if (r != STORE_OK)
        return r;
    uint8_t stored[32];
    bool found = PQntuples(res) == 1, ok = found && pg_get_bytea(stored, 32, res, 0, 0);
    PQclear(res);
    if (!found)
        return (enum store_result)err_set(e, STORE_ERR_NOT_FOUND, "no stream '%s'", stream_id);
    if (!ok)
        return store_corrupt(e, "ingest key hash");
    *matches = crypto_equal_ct(stored, key_sha256, 32);
    return STORE_OK;
}

enum store_result store_recording_open(struct pg_session *pc, const char *stream_id, struct err *e)
{
    /* The upsert returns the row whether it inserted it or found it, and it
     * locks it: two first uploads at once both see the recording. */
    static const char sql[] =
        "WITH r AS (INSERT INTO recordings (stream_id) VALUES ($1::uuid) "
        "ON CONFLICT (stream_id) DO UPDATE SET stream_id = EXCLUDED.stream_id "
        "RETURNING status), "
        "s AS (UPDATE streams SET status = 'live' WHERE id = $1::uuid AND status = 'created') "
        "SELECT status FROM r";
    struct store_params p = {0};
    store_param_text(&p, stream_id);
    PGresult *res = NULL;
    enum store_result r = store_exec(&res, pc, sql, &p, e);
    if (r != STORE_OK)
        return r;
    bool recording = PQntuples(res) >= 1 && strcmp(PQgetvalue(res, 0, 0), "recording") == 0;
    PQclear(res);
    if (!recording)
        return (enum store_result)err_set(e, STORE_ERR_CONFLICT,
                                          "the recording of stream '%s' has ended", stream_id);
    return STORE_OK;
}

/* names as a PostgreSQL text[] literal: {"a","b"}; names are [A-Za-z0-9_-]. */
static bool store_text_array(char *out, size_t size, const char *const *names, size_t n)
{
    size_t o = 0;
    out[o++] = '{';
    for (size_t i = 0; i < n; i++) {
        size_t len = strnlen(names[i], STORE_RENDITION_BYTES_MAX + 1);
        if (len == 0 || len > STORE_RENDITION_BYTES_MAX || o + len + 4 >= size)
            return false;
        for (size_t k = 0; k < len; k++) {
            char c = names[i][k];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-'))
                return false;
        }
        if (i > 0)
            out[o++] = ',';
        memcpy(out + o, names[i], len);
        o += len;
    }
    out[o++] = '}';
    out[o] = '\0';
    return true;
}

enum store_result store_recording_set_renditions(struct pg_session *pc, const char *stream_id,
                                                 const char *const *names, size_t names_len,
                                                 struct err *e)
{
    static const char sql[] =
        "UPDATE recordings SET renditions = $2::text[] WHERE stream_id = $1::uuid "
        "AND (renditions = '{}' OR renditions = $2::text[]) RETURNING 1";
    char list[STORE_RENDITIONS_MAX * (STORE_RENDITION_BYTES_MAX + 1) + 3];
    if (names_len == 0 || names_len > STORE_RENDITIONS_MAX ||
        !store_text_array(list, sizeof list, names, names_len))
        return (enum store_result)err_set(e, STORE_ERR_BAD_INPUT,
                                          "%zu rendition names: 1..%d names of [A-Za-z0-9_-]",
                                          names_len, STORE_RENDITIONS_MAX);
    struct store_params p = {0};
    store_param_text(&p, stream_id);
    store_param_text(&p, list);
    PGresult *res = NULL;
    enum store_result r = store_exec(&res, pc, sql, &p, e);
    if (r != STORE_OK)
        return r;
    bool updated = PQntuples(res) == 1;
    PQclear(res);
    if (!updated)
        return (enum store_result)err_set(
            e, STORE_ERR_CONFLICT, "stream '%s' has no recording or other renditions", stream_id);
    return STORE_OK;
}

enum store_result store_rendition_index(uint32_t *index_out, struct pg_session *pc,
                                        const char *stream_id, const char *rendition, struct err *e)
{
    static const char sql[] = "SELECT array_position(renditions, $2::text) - 1 FROM recordings "
                              "WHERE stream_id = $1::uuid";
    struct store_params p = {0};
    store_param_text(&p, stream_id);
    store_param_text(&p, rendition);
    PGresult *res = NULL;
    enum store_result r = store_exec(&res, pc, sql, &p, e);
    if (r != STORE_OK)
        return r;
    bool found = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0);
    long v = found ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : -1;
    PQclear(res);
    if (!found || v < 0 || v >= STORE_RENDITIONS_MAX)
        return (enum store_result)err_set(
            e, STORE_ERR_NOT_FOUND, "rendition '%s' is not in the master playlist", rendition);
    *index_out = (uint32_t)v;
    return STORE_OK;
}

enum store_result store_segment_record(struct pg_session *pc, const struct store_segment *s,
                                       struct err *e)
{
    static const char sql[] =
        "WITH ins AS (INSERT INTO segments (stream_id, rendition_index, rendition, "
        "media_sequence, name, sha256, bytes, duration_us) SELECT $1::uuid, $2::int, $3, "
        "$4::bigint, $5, $6, $7::bigint, $8::bigint WHERE EXISTS (SELECT 1 FROM recordings "
        "WHERE stream_id = $1::uuid AND status = 'recording') "
        "ON CONFLICT DO NOTHING RETURNING 1) "
        "SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM segments WHERE "
        "stream_id = $1::uuid AND rendition_index = $2::int AND media_sequence = $4::bigint "
        "AND rendition = $3 AND name = $5 AND sha256 = $6 AND bytes = $7::bigint)";
    char index[16], seq[24], bytes[24], dur[24];
    snprintf(index, sizeof index, "%" PRIu32, s->rendition_index);
    snprintf(seq, sizeof seq, "%" PRIu64, s->media_sequence);
    snprintf(bytes, sizeof bytes, "%" PRIu64, s->bytes);
    snprintf(dur, sizeof dur, "%" PRIu64, s->duration_us);
    struct store_params p = {0};
    store_param_text(&p, s->stream_id);
    store_param_text(&p, index);
    store_param_text(&p, s->rendition);
    store_param_text(&p, seq);
    store_param_text(&p, s->name);
    store_param_bytes(&p, s->sha256, 32);
    store_param_text(&p, bytes);
    store_param_text(&p, dur);
    PGresult *res = NULL;
    enum store_result r = store_exec(&res, pc, sql, &p, e);
    if (r != STORE_OK)
        return r;
    bool inserted = strcmp(PQgetvalue(res, 0, 0), "1") == 0;
    bool same = strcmp(PQgetvalue(res, 0, 1), "1") == 0;
    PQclear(res);
    if (inserted || same)
        return STORE_OK;
    return (enum store_result)err_set(e, STORE_ERR_CONFLICT,
                                      "segment %s/%s (sequence %" PRIu64
                                      ") conflicts with the recording (other content "
                                      "recorded there, or the recording has ended)",
                                      s->rendition, s->name, s->media_sequence);
}

enum store_result store_recording_end(struct pg_session *pc, const char *stream_id, struct err *e)
{
    static const char sql[] = "WITH s AS (UPDATE streams SET status = 'ended' WHERE id = $1::uuid) "
                              "UPDATE recordings SET status = 'ended', ended_at = now() "
                              "WHERE stream_id = $1::uuid AND status = 'recording'";
    struct store_params p = {0};
    store_param_text(&p, stream_id);
    return store_exec(NULL, pc, sql, &p, e);
}

enum store_result store_pass_contracts(struct address *out, size_t cap, size_t *len_out,
                                       struct pg_session *pc, struct err *e)
{
    static const char sql[] = "SELECT contract FROM passes ORDER BY contract LIMIT $1::int";
    char limit[24];
    snprintf(limit, sizeof limit, "%zu", cap);
    struct store_params p = {0};
    store_param_text(&p, limit);
    PGresult *res = NULL;
    *len_out = 0;
    enum store_result r = store_exec(&res, pc, sql, &p, e);
    if (r != STORE_OK)
        return r;
    int rows = PQntuples(res);
    for (int i = 0; i < rows; i++) {
        if (!pg_get_bytea(out[i].bytes, ADDRESS_BYTES, res, i, 0)) {
            PQclear(res);
            return store_corrupt(e, "pass contract");
        }
    }
    *len_out = (size_t)rows;
    PQclear(res);
    return STORE_OK;
}

enum store_result store_cursor_get(uint64_t *block_out, uint8_t hash_out[32], struct pg_session *pc,
                                   const char *name, uint64_t chain_id, struct err *e)
{
    static const char sql[] = "SELECT block_number, block_hash FROM follow_cursors "
                              "WHERE name = $1 AND chain_id = $2::bigint";
    char chain[24];
    snprintf(chain, sizeof chain, "%" PRIu64, chain_id);
    struct store_params p = {0};
    store_param_text(&p, name);
    store_param_text(&p, chain);
    PGresult *res = NULL;
    enum store_result r = store_exec(&res, pc, sql, &p, e);
    if (r != STORE_OK)
        return r;
    bool found = PQntuples(res) == 1;
    bool ok = found && pg_get_bytea(hash_out, 32, res, 0, 1);
    if (ok)
        *block_out = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (!found)
        return (enum store_result)err_set(e, STORE_ERR_NOT_FOUND, "no cursor '%s'", name);
    return ok ? STORE_OK : store_corrupt(e, "cursor");
}

enum store_result store_cursor_set(struct pg_session *pc, const char *name, uint64_t chain_id,
                                   uint64_t block, const uint8_t hash[32], struct err *e)
{
    static const char sql[] =
        "INSERT INTO follow_cursors (name, chain_id, block_number, block_hash) "
        "VALUES ($1, $2::bigint, $3::bigint, $4) ON CONFLICT (name) DO UPDATE SET "
        "chain_id = EXCLUDED.chain_id, block_number = EXCLUDED.block_number, "
        "block_hash = EXCLUDED.block_hash, updated_at = now()";
    char chain[24], number[24];
    snprintf(chain, sizeof chain, "%" PRIu64, chain_id);
    snprintf(number, sizeof number, "%" PRIu64, block);
    struct store_params p = {0};
    store_param_text(&p, name);
    store_param_text(&p, chain);
    store_param_text(&p, number);
    store_param_bytes(&p, hash, 32);
    return store_exec(NULL, pc, sql, &p, e);
}
