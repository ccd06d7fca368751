/* test_rpc_anvil.c - the JSON-RPC client against a real anvil node.
 *
 * Environment: ETH_RPC_URL (required; the runner starts anvil, chain id
 * 31337). Without it the test fails, it does not skip. Transactions are sent
 * from anvil account 8 (unlocked, eth_sendTransaction) so account 0 stays
 * untouched for the balance check. */
#include "chain_fixture.h"
#include "config.h"
#include "crypto.h"
#include "harness.h"
#include "hex.h"
#include "rpc.h"

#include <string.h>
#include <time.h>

static struct rpc_client client;

static const char account0_hex[] = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
static const char account8_hex[] = "0x23618e81e3f5cdf7f54c3d65f7fbc0abf5b21e8f";

static void addr_from_hex(uint8_t out[20], const char *hex)
{
    if (hex_decode_exact(out, 20, hex, strlen(hex), NULL) != HEX_OK)
        abort();
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* eth_sendTransaction from an unlocked anvil account; waits for the receipt. */
static enum rpc_result send_and_wait(struct rpc_receipt *rc, json_t *tx, struct err *e)
{
    json_t *result = NULL;
    enum rpc_result r = rpc_call(&client, "eth_sendTransaction", json_pack("[o]", tx), &result, e);
    if (r != RPC_OK)
        return r;
    uint8_t hash[32];
    const char *s = json_string_value(result);
    if (s == NULL || hex_decode_exact(hash, 32, s, strlen(s), NULL) != HEX_OK) {
        json_decref(result);
        return RPC_ERR_BAD_RESPONSE;
    }
    json_decref(result);
    return rpc_wait_receipt(&client, rc, hash, 10000, 20, e);
}

static void test_chain_id(void)
{
    uint64_t id = 0;
    struct err e = {0};
    CHECK_INT(rpc_chain_id(&client, &id, &e), RPC_OK);
    CHECK_INT(id, 31337);
    CHECK_INT(client.last_attempts, 1);
}

static void test_block_number_advances(void)
{
    uint64_t b0 = 0, b1 = 0;
    struct err e = {0};
    CHECK_INT(rpc_block_number(&client, &b0, &e), RPC_OK);
    json_t *res = NULL;
    CHECK_INT(rpc_call(&client, "evm_mine", NULL, &res, &e), RPC_OK);
    json_decref(res);
    CHECK_INT(rpc_block_number(&client, &b1, &e), RPC_OK);
    CHECK_INT(b1, b0 + 1);
}

static void test_balance_account0(void)
{
    uint8_t a0[20];
    addr_from_hex(a0, account0_hex);
    struct err e = {0};
    struct u256 bal;
    uint64_t nonce = 99;
    CHECK_INT(rpc_get_transaction_count(&client, &nonce, a0, "latest", &e), RPC_OK);
    CHECK_INT(rpc_get_balance(&client, &bal, a0, "latest", &e), RPC_OK);
    char dec[U256_DEC_SIZE];
    u256_to_dec(dec, &bal);
    if (nonce == 0) {
        CHECK_STR(dec, "10000000000000000000000"); /* 10000 ether */
    } else {
        /* Another test already spent from account 0 on this node: it can only be less. */
        fprintf(stdout, "# account 0 has nonce %llu on this node; balance %s wei\n",
                (unsigned long long)nonce, dec);
        CHECK(strlen(dec) <= 23 && strcmp(dec, "10000000000000000000000") != 0);
    }
    /* Account 9 is never used by the project's tests: exactly 10000 ether. */
    uint8_t a9[20];
    addr_from_hex(a9, "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720");
    CHECK_INT(rpc_get_balance(&client, &bal, a9, "latest", &e), RPC_OK);
    u256_to_dec(dec, &bal);
    CHECK_STR(dec, "10000000000000000000000");
}

static void test_batch_of_three(void)
{
    struct rpc_batch_item *items = calloc(3, sizeof *items);
    struct err e = {0};
    items[0].method = "eth_chainId";
    items[1].method = "eth_getBalance";
    items[1].params = json_pack("[ss]", "0xa0ee7a142d267c1f36714e4a8f75612f20a79720", "latest");
    items[2].method = "eth_getTransactionCount";
    items[2].params = json_pack("[ss]", account8_hex, "latest");
    uint64_t attempts_before = client.attempts_total;
    CHECK_INT(rpc_batch(&client, items, 3, &e), RPC_OK);
    CHECK_INT(client.attempts_total - attempts_before, 1); /* one HTTP request */
    CHECK_STR(json_string_value(items[0].result), "0x7a69");
    CHECK_STR(json_string_value(items[1].result), "0x21e19e0c9bab2400000");
    uint64_t batch_nonce = 0, single_nonce = 1;
    CHECK_INT(rpc_parse_quantity_u64(&batch_nonce, items[2].result, &e), RPC_OK);
    uint8_t a8[20];
    addr_from_hex(a8, account8_hex);
    CHECK_INT(rpc_get_transaction_count(&client, &single_nonce, a8, "latest", &e), RPC_OK);
    CHECK_INT(batch_nonce, single_nonce);
    for (size_t i = 0; i < 3; i++) {
        CHECK_INT(items[i].code, RPC_OK);
        json_decref(items[i].result);
    }
    /* A batch with one unknown method: the others still answer. */
    memset(items, 0, 3 * sizeof *items);
    items[0].method = "eth_chainId";
    items[1].method = "foo_bar";
    items[2].method = "eth_blockNumber";
    CHECK_INT(rpc_batch(&client, items, 3, &e), RPC_ERR_REMOTE);
    CHECK_INT(items[0].code, RPC_OK);
    CHECK_INT(items[1].code, RPC_ERR_REMOTE);
    CHECK_INT(items[1].remote.code, -32601);
    CHECK_INT(items[2].code, RPC_OK);
    for (size_t i = 0; i < 3; i++)
        json_decref(items[i].result);
    free(items);
}

static void test_unknown_method_is_remote_error(void)
{
    json_t *res = NULL;
    struct err e = {0};
    CHECK_INT(rpc_call(&client, "foo_bar", NULL, &res, &e), RPC_ERR_REMOTE);
    CHECK(res == NULL);
    CHECK_INT(client.last_remote.code, -32601);
    CHECK_INT(client.last_attempts, 1);
    CHECK(strncmp(e.msg, "rpc foo_bar failed: remote error -32601:", 40) == 0);
    /* A raw transaction the node cannot decode: a remote error, sent once. */
    uint8_t hash[32];
    CHECK_INT(rpc_send_raw_transaction(&client, hash, "0x00", &e), RPC_ERR_REMOTE);
    CHECK_INT(client.last_attempts, 1);
}

static void test_receipts(void)
{
    uint8_t hash[32];
    struct err e = {0};
    CHECK_INT(crypto_random_bytes(hash, sizeof hash, &e), CRYPTO_OK);
    struct rpc_receipt rc;
    CHECK_INT(rpc_get_transaction_receipt(&client, &rc, hash, &e), RPC_ERR_NO_RECEIPT);
    uint64_t t0 = now_ms();
    CHECK_INT(rpc_wait_receipt(&client, &rc, hash, 300, 50, &e), RPC_ERR_RECEIPT_TIMEOUT);
    uint64_t took = now_ms() - t0;
    /* lower bound: the wait was honoured; the upper one only guards against a hang */
    CHECK_MSG(took >= 300 && took < 30000, "took %llu ms", (unsigned long long)took);
    CHECK_STR(e.msg, "no receipt after 300 ms");
}

static void test_value_transfer(void)
{
    uint8_t to[20], a8[20];
    struct err e = {0};
    CHECK_INT(crypto_random_bytes(to, sizeof to, &e), CRYPTO_OK);
    addr_from_hex(a8, account8_hex);
    char to_hex[43];
    CHECK(hex_encode_0x(to_hex, sizeof to_hex, to, 20) == 0);
    uint64_t nonce0 = 0, nonce1 = 0;
    CHECK_INT(rpc_get_transaction_count(&client, &nonce0, a8, "pending", &e), RPC_OK);
    struct rpc_receipt rc;
    json_t *tx =
        json_pack("{s:s, s:s, s:s}", "from", account8_hex, "to", to_hex, "value", "0x3039");
    CHECK_INT(send_and_wait(&rc, tx, &e), RPC_OK);
    CHECK_INT(rc.status, 1);
    CHECK_INT(rc.gas_used, 21000);
    CHECK(rc.has_to);
    CHECK_MEM(rc.to, to, 20);
    CHECK_MEM(rc.from, a8, 20);
    CHECK(!rc.has_contract_address);
    CHECK_INT(json_array_size(rc.logs), 0);
    CHECK(!u256_is_zero(&rc.effective_gas_price_wei));
    rpc_receipt_release(&rc);
    struct u256 bal;
    CHECK_INT(rpc_get_balance(&client, &bal, to, "latest", &e), RPC_OK);
    uint64_t v = 0;
    CHECK(u256_to_u64(&v, &bal));
    CHECK_INT(v, 12345);
    CHECK_INT(rpc_get_transaction_count(&client, &nonce1, a8, "latest", &e), RPC_OK);
    CHECK_INT(nonce1, nonce0 + 1);
}

/* Deploys a contract whose code reverts with 0xdeadbeef, then calls it. */
static void test_deploy_and_revert(void)
{
    /* init: CODECOPY 13 runtime bytes from offset 12 and RETURN them.
     * runtime: PUSH4 deadbeef PUSH1 0 MSTORE PUSH1 4 PUSH1 28 REVERT */
    const char *init = "0x600d600c600039600d6000f3"
                       "63deadbeef6000526004601cfd";
    struct err e = {0};
    struct rpc_receipt rc;
    json_t *tx = json_pack("{s:s, s:s}", "from", account8_hex, "data", init);
    CHECK_INT(send_and_wait(&rc, tx, &e), RPC_OK);
    CHECK_INT(rc.status, 1);
    CHECK(rc.has_contract_address);
    CHECK(!rc.has_to);
    CHECK(rc.gas_used > 53000);
    uint64_t head = 0;
    CHECK_INT(rpc_block_number(&client, &head, &e), RPC_OK);
    CHECK(rc.block_number <= head && rc.block_number > 0);
    uint8_t out[64];
    size_t out_len = 99;
    CHECK_INT(rpc_eth_call(&client, out, sizeof out, &out_len, NULL, rc.contract_address,
                           (const uint8_t *)"\x12\x34\x56\x78", 4, "latest", &e),
              RPC_ERR_EXECUTION_REVERTED);
    CHECK_STR(client.last_remote.data_hex, "0xdeadbeef");
    CHECK_INT(client.last_attempts, 1);
    /* Runtime code is what we deployed (eth_getCode through rpc_call). */
    char addr_hex[43];
    CHECK(hex_encode_0x(addr_hex, sizeof addr_hex, rc.contract_address, 20) == 0);
    json_t *code = NULL;
    CHECK_INT(rpc_call(&client, "eth_getCode", json_pack("[ss]", addr_hex, "latest"), &code, &e),
              RPC_OK);
    CHECK_STR(json_string_value(code), "0x63deadbeef6000526004601cfd");
    json_decref(code);
    rpc_receipt_release(&rc);
    /* eth_call to an account without code returns empty bytes. */
    uint8_t a8[20];
    addr_from_hex(a8, account8_hex);
    CHECK_INT(rpc_eth_call(&client, out, sizeof out, &out_len, a8, a8, NULL, 0, "latest", &e),
              RPC_OK);
    CHECK_INT(out_len, 0);
}

static void test_fee_suggestion(void)
{
    struct rpc_fees f;
    struct err e = {0};
    CHECK_INT(rpc_fee_suggestion(&client, &f, &e), RPC_OK);
    CHECK(!u256_is_zero(&f.base_fee_wei));
    CHECK(!u256_is_zero(&f.priority_fee_wei));
    struct u256 want, two = u256_from_u64(2);
    CHECK_INT(u256_mul(&want, &f.base_fee_wei, &two), U256_OK);
    CHECK_INT(u256_add(&want, &want, &f.priority_fee_wei), U256_OK);
    CHECK_INT(u256_cmp(&want, &f.max_fee_wei), 0);
    /* The base fee matches the latest block as read directly. */
    json_t *blk = NULL;
    CHECK_INT(rpc_call(&client, "eth_getBlockByNumber", json_pack("[sb]", "latest", 0), &blk, &e),
              RPC_OK);
    struct u256 base;
    const char *s = json_string_value(json_object_get(blk, "baseFeePerGas"));
    CHECK(s != NULL && u256_from_hex(&base, s, strlen(s), NULL) == U256_OK);
    CHECK_INT(u256_cmp(&base, &f.base_fee_wei), 0);
    json_decref(blk);
}

int main(void)
{
    char rpc_url[CONFIG_URL_BYTES_MAX + 1];
    struct err e = {0};
    if (!chain_load_rpc_url(rpc_url, &e)) {
        fprintf(stdout, "# %s\nnot ok - environment\n0 passed, 1 failed\n", e.msg);
        return 1;
    }
    if (rpc_global_init(&e) != RPC_OK || rpc_client_init(&client, rpc_url, NULL, &e) != RPC_OK) {
        fprintf(stdout, "# %s\nnot ok - client\n0 passed, 1 failed\n", e.msg);
        return 1;
    }
    RUN(test_chain_id);
    RUN(test_block_number_advances);
    RUN(test_balance_account0);
    RUN(test_batch_of_three);
    RUN(test_unknown_method_is_remote_error);
    RUN(test_receipts);
    RUN(test_value_transfer);
    RUN(test_deploy_and_revert);
    RUN(test_fee_suggestion);
    rpc_client_release(&client);
    return harness_finish();
}
