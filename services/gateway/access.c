/* access.c - see access.h. */
#include "access.h"

#include <string.h>

#include "abi.h"
#include "buf.h"

static enum access_result access_by_pass(struct access_decision *out, struct owncache *cache,
                                         struct rpc_client *rpc, const struct store_pass_rule *rule,
                                         const struct address *viewer, uint64_t now_ms,
                                         bool *allowed, struct err *e);

const char *access_via_name(enum access_via via)
{
    switch (via) {
    case ACCESS_VIA_PASS:
        return "pass";
    case ACCESS_VIA_TIP:
        return "tip";
    case ACCESS_VIA_OWNER:
        return "owner";
    case ACCESS_DENIED:
        break;
    }
    return "denied";
}

enum rpc_result access_balance_of(struct u256 *out, struct rpc_client *rpc,
                                  const struct address *contract, const struct address *holder,
                                  struct err *e)
{
    struct abi_value arg = abi_value_address(holder);
    uint8_t word[32];
    enum rpc_result r =
        rpc_view_word(rpc, word, contract->bytes, "balanceOf(address)", &arg, 1, "latest", e);
    if (r == RPC_OK)
        *out = u256_from_be32(word);
    return r;
}

/* One pass rule: the cached balance if fresh, else the chain's (cached), else
 * a stale cached one. *allowed when balance >= min_balance. */
static enum access_result access_by_pass(struct access_decision *out, struct owncache *cache,
                                         struct rpc_client *rpc, const struct store_pass_rule *rule,
                                         const struct address *viewer, uint64_t now_ms,
                                         bool *allowed, struct err *e)
{
    struct u256 balance;
    enum owncache_lookup hit = owncache_get(&balance, cache, &rule->contract, viewer, now_ms);
    bool stale_used = false;
    if (hit != OWNCACHE_FRESH) {
        uint64_t generation = owncache_generation(cache);
        struct u256 fetched;
        struct err why = {0};
        enum rpc_result r = RPC_ERR_BAD_INPUT;
        if (rpc != NULL) {
            out->rpc_calls++;
            r = access_balance_of(&fetched, rpc, &rule->contract, viewer, &why);
        }
        if (r == RPC_OK) {
            balance = fetched;
            (void)owncache_put(cache, &rule->contract, viewer, &fetched, now_ms, generation);
        } else if (hit == OWNCACHE_STALE) {
            stale_used = true;
        } else {
            err_set(e, ACCESS_ERR_CHAIN_DOWN, "cannot read the pass balance: %s",
                    rpc != NULL ? why.msg : "no chain connection");
            return ACCESS_ERR_CHAIN_DOWN;
        }
    }
    *allowed = u256_cmp(&balance, &rule->min_balance) >= 0;
    if (*allowed && stale_used)
        out->used_stale = true;
    return ACCESS_OK;
}

enum access_result access_decide(struct access_decision *out, struct owncache *cache,
                                 struct pg_session *pc, struct rpc_client *rpc, uint64_t chain_id,
                                 const struct store_stream *s, const struct address *viewer,
                                 uint64_t now_ms, struct err *e)
{
    memset(out, 0, sizeof *out);
    out->via = ACCESS_DENIED;
    if (store_tips_total(&out->tipped_wei, pc, chain_id, s->stream_key, viewer, e) != STORE_OK) {
        if (e != NULL)
            e->code = ACCESS_ERR_DB;
        return ACCESS_ERR_DB;
    }
    if (address_eq(viewer, &s->owner)) {
        out->via = ACCESS_VIA_OWNER;
        return ACCESS_OK;
    }
    if (s->has_tip_min && u256_cmp(&out->tipped_wei, &s->tip_min_wei) >= 0) {
        out->via = ACCESS_VIA_TIP;
        return ACCESS_OK;
    }
    enum access_result first_failure = ACCESS_OK;
    struct err failure = {0};
    for (size_t i = 0; i < s->passes_len; i++) {
        bool allowed = false;
        enum access_result r =
            access_by_pass(out, cache, rpc, &s->passes[i], viewer, now_ms, &allowed, &failure);
        if (r != ACCESS_OK && first_failure == ACCESS_OK)
            first_failure = r;
        if (r == ACCESS_OK && allowed) {
            out->via = ACCESS_VIA_PASS;
            return ACCESS_OK;
        }
    }
    if (first_failure != ACCESS_OK) {
        err_set(e, first_failure, "%s", failure.msg);
        return first_failure;
    }
    return ACCESS_OK;
}
