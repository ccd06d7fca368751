/* api_passes.c - POST /v1/creators/{id}/passes: the operator deploys a
 * RightsPass for the creator (service.h; docs/architecture.md "The
 * settlement API as built"); the service's operator (st_operator_open); and
 * the worker's txmgr job, which broadcasts, bumps and follows every chain
 * write of the service (txmgr_tick() every ST_TXMGR_JOB_MS while an
 * operator key is loaded).
 *
 * Request (owner only) {name, symbol, price_wei, max_supply, royalty_bps}:
 *   name         1..ST_PASS_NAME_BYTES_MAX bytes, symbol
 *                1..ST_PASS_SYMBOL_BYTES_MAX bytes, neither with a control
 *                character (0x00-0x1f, 0x7f): wallets display them
 *   price_wei    decimal string, 1..2^256-1 (the contract refuses 0: the
 *                vault refuses zero-value deposits)
 *   max_supply   decimal string, 1..ST_PASS_SUPPLY_MAX
 *   royalty_bps  integer 0..10000 (ERC-2981's denominator: the constructor
 *                reverts above it)
 * -> 201 {contract, tx_hash}. In the write's transaction (st_write, so an
 * Idempotency-Key replays the first answer): the creator row is locked and
 * its owner checked, the creation transaction
 *   RightsPass bytecode || abi.encode(name, symbol, price, maxSupply,
 *   royaltyBps, VAULT_ADDRESS, creatorKey, owner = the creator's owner)
 * is signed and stored by txmgr_submit() with purpose
 * "deploy_pass:<creator id>:<suffix>" (suffix: 32 hex digits of
 * sha256(caller || Idempotency-Key) when a key is given, else a random
 * UUID), and the passes row (0002) is inserted with contract =
 * CREATE(operator, nonce) and deploy_block (0007) = the head before the
 * submission minus CONFIRMATIONS: a lower bound of the block the creation
 * can be mined in, which bounds the indexer's backfill of the pass's logs
 * (indexer.h "Pass contracts"). Both commit together, so the pass is registered
 * for indexing before its transaction can be broadcast: its first mint can
 * never be missed. Nothing is broadcast here: the service's worker does it
 * (txmgr_tick()). tx_hash is the first signed attempt's; a fee bump replaces
 * the hash but keeps the nonce, hence the contract address. (txmgr re-signs
 * with a fresh nonce only when the operator's nonce was used outside the
 * service with none of its attempts mined; for a creation that would move
 * the contract away from the registered address: the operator key must not
 * be used elsewhere.)
 *
 * Errors: 401, 404 (not a UUID, no such creator), 403 (not the owner), 400
 * / 413 / 422 (body; field named), 503 "operator key not configured" (no
 * OPERATOR_KEY_FILE) or "vault address not configured", 422 when the node
 * says the constructor would revert, 503 when the node fails or its base fee
 * is above MAX_FEE_PER_GAS_WEI, 409 when the purpose already has a
 * transaction (an Idempotency-Key reused after its row was purged).
 *
 * Operator: OPERATOR_KEY_FILE (config.h; 32-byte hex key, mode 0600). An
 * empty path or a file that does not exist leaves the service without an
 * operator (logged; POST passes answers 503); an unreadable or malformed
 * file, or a missing ST_PASS_ARTIFACT, fails st_open(). The key lives in
 * struct st until st_operator_close() wipes it.
 *
 * Each POST passes request uses its own JSON-RPC client (txmgr_submit needs
 * the node inside the write's transaction, whose pool slot st_write holds). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abi.h"
#include "buf.h"
#include "crypto.h"
#include "hex.h"
#include "httpjson.h"
#include "ids.h"
#include "service.h"
#include "tx.h"

#define PASS_SUFFIX_BYTES 16 /* of sha256(caller || Idempotency-Key) */
#define PASS_CTOR_ARGS 8

struct pass_req {
    struct st *s;
    const char *creator_id;
    const char *name, *symbol;
    struct u256 price_wei, max_supply;
    uint32_t royalty_bps;
    char purpose[TXMGR_PURPOSE_BYTES_MAX + 1];
    struct rpc_client rpc;
};

static bool pass_text_ok(const char *text);
static bool pass_read(struct pass_req *q, struct http_response *resp, const json_t *body);
static bool pass_purpose(struct pass_req *q, const struct address *caller, const char *idem_key,
                         struct err *e);
static bool pass_calldata(struct buf *out, const struct pass_req *q, const struct address *owner,
                          struct err *e);
static enum pg_code pass_submit_failed(struct st_answer *out, enum txmgr_result r,
                                       const struct txmgr_tx *tx, const struct pg_session *pc,
                                       const struct err *te);
static enum pg_code pass_deploy(struct st_answer *out, struct pg_session *pc,
                                const struct address *caller, void *ctx, struct err *e);
static bool pass_txmgr_tick(void *state, struct jobs_env *env, struct err *e);

static const struct json_body_field pass_fields[] = {
    {.name = "name",
     .type = JSON_BODY_STRING,
     .required = true,
     .len_min = 1,
     .len_max = ST_PASS_NAME_BYTES_MAX},
    {.name = "symbol",
     .type = JSON_BODY_STRING,
     .required = true,
     .len_min = 1,
     .len_max = ST_PASS_SYMBOL_BYTES_MAX},
    {.name = "price_wei", .type = JSON_BODY_DECIMAL, .required = true},
    {.name = "max_supply", .type = JSON_BODY_DECIMAL, .required = true},
    {.name = "royalty_bps",
     .type = JSON_BODY_INTEGER,
     .required = true,
     .int_min = 0,
     .int_max = ST_PASS_ROYALTY_BPS_MAX},
};

/* ---- the operator ------------------------------------------------------------------ */

bool st_operator_open(struct st *s, struct err *e)
{
    const char *path = s->cfg.operator_key_file;
    s->operator_ready = false;
    if (path[0] == '\0' || (access(path, F_OK) != 0 && errno == ENOENT)) {
        log_write(&s->log, LOG_WARN, "no operator key: POST passes answers 503",
                  LOG_KVS(log_str("file", path)));
        return true;
    }
    uint8_t raw[SIG_PRIVATE_KEY_BYTES];
    size_t raw_len = 0;
    bool ok = config_read_key_file(raw, &raw_len, sizeof raw, sizeof raw, path, e) == CONFIG_OK &&
              sig_private_key_from_bytes(&s->operator_key, raw, e) == SIG_OK;
    crypto_wipe(raw, sizeof raw);
    struct txmgr_config tc;
    txmgr_config_default(&tc);
    tc.chain_id = s->cfg.chain_id;
    tc.key = &s->operator_key;
    tc.max_fee_per_gas_cap_wei = s->cfg.max_fee_per_gas_wei;
    tc.confirmations = (uint32_t)s->cfg.confirmations;
    tc.rpc_timeout_ms = ST_RPC_TIMEOUT_MS;
    tc.log = &s->log;
    ok = ok && txmgr_init(&s->txmgr, &tc, e) == TXMGR_OK &&
         artifact_load(&s->pass_artifact, ST_PASS_ARTIFACT, e) == ARTIFACT_OK;
    if (!ok) {
        st_operator_close(s);
        return false;
    }
    char a[ADDRESS_TEXT_SIZE];
    address_format_checksum(a, &s->txmgr.from);
    log_write(&s->log, LOG_INFO, "operator key loaded", LOG_KVS(log_str("operator", a)));
    s->operator_ready = true;
    return true;
}

void st_operator_close(struct st *s)
{
    sig_private_key_wipe(&s->operator_key);
    artifact_release(&s->pass_artifact);
    s->operator_ready = false;
}

/* ---- POST /v1/creators/{id}/passes ------------------------------------------------- */

static bool pass_text_ok(const char *text)
{
    for (const unsigned char *c = (const unsigned char *)text; *c != '\0'; c++)
        if (*c < 0x20 || *c == 0x7f)
            return false;
    return true;
}

/* The validated body into *q; false after answering 422. */
static bool pass_read(struct pass_req *q, struct http_response *resp, const json_t *body)
{
    int64_t bps = 0;
    ASSERT(json_body_get_string(&q->name, NULL, body, "name") &&
           json_body_get_string(&q->symbol, NULL, body, "symbol") &&
           json_body_get_u256(&q->price_wei, body, "price_wei") &&
           json_body_get_u256(&q->max_supply, body, "max_supply") &&
           json_body_get_int(&bps, body, "royalty_bps") && bps >= 0 &&
           bps <= ST_PASS_ROYALTY_BPS_MAX);
    q->royalty_bps = (uint32_t)bps;
    uint64_t supply = 0;
    const char *bad = NULL;
    if (!pass_text_ok(q->name))
        bad = "field 'name' has a control character";
    else if (!pass_text_ok(q->symbol))
        bad = "field 'symbol' has a control character";
    else if (u256_is_zero(&q->price_wei))
        bad = "field 'price_wei' must be at least 1";
    else if (!u256_to_u64(&supply, &q->max_supply) || supply == 0 || supply > ST_PASS_SUPPLY_MAX)
        bad = "field 'max_supply' must be from 1 to " MACRO_TEXT(ST_PASS_SUPPLY_MAX);
    if (bad != NULL)
        http_reply_error(resp, PROBLEM_UNPROCESSABLE, "%s", bad);
    return bad == NULL;
}

/* "deploy_pass:<creator id>:<suffix>", see the top. */
static bool pass_purpose(struct pass_req *q, const struct address *caller, const char *idem_key,
                         struct err *e)
{
    char suffix[IDS_UUID_SIZE > 2 * PASS_SUFFIX_BYTES + 1 ? IDS_UUID_SIZE
                                                          : 2 * PASS_SUFFIX_BYTES + 1];
    if (idem_key != NULL) {
        uint8_t in[ADDRESS_BYTES + ST_IDEM_KEY_BYTES_MAX], digest[CRYPTO_SHA256_BYTES];
        size_t key_len = strnlen(idem_key, ST_IDEM_KEY_BYTES_MAX + 1);
        if (key_len > ST_IDEM_KEY_BYTES_MAX) /* st_write answers it */
            key_len = ST_IDEM_KEY_BYTES_MAX;
        memcpy(in, caller->bytes, ADDRESS_BYTES);
        memcpy(in + ADDRESS_BYTES, idem_key, key_len);
        if (crypto_sha256(digest, in, ADDRESS_BYTES + key_len, e) != CRYPTO_OK)
            return false;
        ASSERT(hex_encode(suffix, sizeof suffix, digest, PASS_SUFFIX_BYTES) == 0);
    } else if (!ids_uuid_new(suffix, e)) {
        return false;
    }
    int n = snprintf(q->purpose, sizeof q->purpose, "deploy_pass:%s:%s", q->creator_id, suffix);
    ASSERT(n > 0 && (size_t)n < sizeof q->purpose);
    return true;
}

/* bytecode || abi.encode(constructor arguments), see the top. */
static bool pass_calldata(struct buf *out, const struct pass_req *q, const struct address *owner,
                          struct err *e)
{
    uint8_t creator_key[IDS_KEY_BYTES];
    ids_key_of(creator_key, q->creator_id);
    struct abi_value ctor[PASS_CTOR_ARGS] = {
        abi_value_string(q->name, strlen(q->name)),
        abi_value_string(q->symbol, strlen(q->symbol)),
        abi_value_uint256(&q->price_wei),
        abi_value_uint256(&q->max_supply),
        abi_value_u64(q->royalty_bps), /* uint96: one word, like uint256 */
        abi_value_address(&q->s->vault),
        abi_value_bytes32(creator_key),
        abi_value_address(owner)};
    const struct artifact *art = &q->s->pass_artifact;
    if (buf_append(out, art->bytecode, art->bytecode_len) != BUF_OK)
        return !err_set(e, 1, "pass creation code above %zu bytes", out->len_max);
    return abi_encode(out, ctor, PASS_CTOR_ARGS, e) == ABI_OK;
}

/* The answer to a failed txmgr_submit(); PG_OK for a stored 4xx, a pg_code
 * to roll back otherwise (a serialization failure or deadlock: retried). */
static enum pg_code pass_submit_failed(struct st_answer *out, enum txmgr_result r,
                                       const struct txmgr_tx *tx, const struct pg_session *pc,
                                       const struct err *te)
{
    char a[ADDRESS_TEXT_SIZE];
    switch (r) {
    case TXMGR_ERR_EXISTS:
        address_format_checksum(a, &tx->contract);
        st_answer_problem(out, PROBLEM_CONFLICT,
                          "this request already has a deployment transaction (contract %s)", a);
        return PG_OK;
    case TXMGR_ERR_ESTIMATE_REVERT:
        st_answer_problem(out, PROBLEM_UNPROCESSABLE, "the pass constructor would revert: %s",
                          te->msg);
        return PG_OK;
    case TXMGR_ERR_DB: /* rolled back; st_write retries or answers 503 */
        return pc->sqlstate[0] != '\0' ? pg_classify_sqlstate(pc->sqlstate) : PG_ERR_QUERY;
    case TXMGR_ERR_RPC:
    case TXMGR_ERR_BAD_ESTIMATE:
    case TXMGR_ERR_FEE_CAP:
        st_answer_problem(out, PROBLEM_UNAVAILABLE, "the chain node cannot take it now: %s; retry",
                          te->msg);
        return PG_ERR_CALLBACK;
    default:
        st_answer_problem(out, PROBLEM_INTERNAL, "the deployment could not be signed: %s", te->msg);
        return PG_ERR_CALLBACK;
    }
}

static enum pg_code pass_deploy(struct st_answer *out, struct pg_session *pc,
                                const struct address *caller, void *ctx, struct err *e)
{
    struct pass_req *q = ctx;
    bool ok = false;
    enum pg_code r = st_owned_creator(out, &ok, pc, q->creator_id, caller, e);
    if (r != PG_OK || !ok)
        return r;
    struct buf code;
    buf_init(&code, TX_DATA_BYTES_MAX);
    struct txmgr_tx tx;
    struct err te = {0};
    memset(&tx, 0, sizeof tx);
    if (!pass_calldata(&code, q, caller, &te)) {
        buf_release(&code);
        st_answer_problem(out, PROBLEM_INTERNAL, "cannot encode the pass: %s", te.msg);
        return PG_ERR_CALLBACK;
    }
    struct txmgr_request treq = {
        .purpose = q->purpose, .has_to = false, .data = code.data, .data_len = code.len};
    uint64_t head = 0;
    enum txmgr_result tr = rpc_block_number(&q->rpc, &head, &te) == RPC_OK
                               ? txmgr_submit(&tx, &q->s->txmgr, pc, &q->rpc, &treq, &te)
                               : TXMGR_ERR_RPC;
    buf_release(&code);
    if (tr != TXMGR_OK) {
        *e = te;
        return pass_submit_failed(out, tr, &tx, pc, &te);
    }
    ASSERT(tx.is_creation);
    /* Not broadcast yet: mined above the head, or above head - CONFIRMATIONS
     * after a reorg that shortens the chain (a deeper one halts the indexer). */
    uint64_t confirmations = q->s->cfg.confirmations;
    char contract[2 * ADDRESS_BYTES + 1], price[U256_DEC_SIZE], supply[U256_DEC_SIZE], bps[16],
        block[24];
    ASSERT(hex_encode(contract, sizeof contract, tx.contract.bytes, ADDRESS_BYTES) == 0);
    u256_to_dec(price, &q->price_wei);
    u256_to_dec(supply, &q->max_supply);
    snprintf(bps, sizeof bps, "%u", q->royalty_bps);
    snprintf(block, sizeof block, "%" PRIu64, head > confirmations ? head - confirmations : 0);
    const char *params[8] = {contract, q->creator_id, q->name, q->symbol,
                             price,    supply,        bps,     block};
    r = pg_exec(pc, NULL,
                "INSERT INTO passes (contract, creator_id, name, symbol, price_wei, max_supply,"
                " royalty_bps, deploy_block) VALUES (decode($1, 'hex'), $2::uuid, $3, $4,"
                " $5::numeric, $6::numeric, $7::integer, $8::bigint)",
                params, 8, e);
    if (r != PG_OK)
        return r;
    out->status = 201;
    out->body = json_pack("{s:o, s:o}", "contract", httpjson_address(&tx.contract), "tx_hash",
                          httpjson_hex(tx.tx_hash, 32));
    return out->body != NULL ? PG_OK : PG_ERR_CALLBACK;
}

void st_handle_pass_post(struct http_response *resp, const struct http_request *req, void *ctx)
{
    struct st *s = ctx;
    struct address caller;
    json_t *body = NULL;
    static struct pass_req q_zero;
    struct pass_req q = q_zero;
    struct err e = {0};
    q.s = s;
    if (!st_signed_in_creator(&caller, &q.creator_id, resp, req, s) ||
        !httpjson_read_body(&body, resp, req, pass_fields, 5, ST_PASS_BODY_BYTES_MAX))
        return;
    if (!pass_read(&q, resp, body)) {
        /* answered */
    } else if (!s->operator_ready) {
        http_reply_error(resp, PROBLEM_UNAVAILABLE, "operator key not configured");
    } else if (!s->cfg.vault_address_set) {
        http_reply_error(resp, PROBLEM_UNAVAILABLE, "vault address not configured");
    } else if (!pass_purpose(&q, &caller, http_request_header(req, "Idempotency-Key"), &e)) {
        http_reply_error(resp, PROBLEM_INTERNAL, "%s", e.msg);
    } else {
        struct rpc_options opt;
        rpc_options_default(&opt);
        opt.total_timeout_ms = ST_RPC_TIMEOUT_MS;
        if (rpc_client_init(&q.rpc, s->cfg.eth_rpc_url, &opt, &e) != RPC_OK)
            http_reply_error(resp, PROBLEM_INTERNAL, "%s", e.msg);
        else
            st_write(resp, req, s, &caller, pass_deploy, &q);
        rpc_client_release(&q.rpc);
    }
    json_decref(body);
}

/* ---- the txmgr job (jobs.c's table) ------------------------------------------------ */

static bool pass_txmgr_tick(void *state, struct jobs_env *env, struct err *e)
{
    (void)state;
    struct txmgr_tick_report rep;
    memset(&rep, 0, sizeof rep);
    if (txmgr_tick(&rep, &env->s->txmgr, env->pc, env->rpc, e) != TXMGR_OK)
        return false;
    if (rep.broadcast + rep.bumped + rep.mined + rep.unmined + rep.confirmed + rep.renonced > 0)
        log_write(&env->s->log, LOG_INFO, "chain transactions advanced",
                  LOG_KVS(log_u64("broadcast", rep.broadcast), log_u64("bumped", rep.bumped),
                          log_u64("mined", rep.mined), log_u64("unmined", rep.unmined),
                          log_u64("confirmed", rep.confirmed), log_u64("renonced", rep.renonced)));
    return true;
}

const struct jobs_module st_job_txmgr = {.round_failed = "transaction manager round failed",
                                         .every_ms = ST_TXMGR_JOB_MS,
                                         .off_ms = ST_TXMGR_JOB_OFF_MS,
                                         .tick = pass_txmgr_tick};
