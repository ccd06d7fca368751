/* test_siwe_1271.c - SIWE sign-in by contract wallets (EIP-1271) against a
 * real anvil: the test-only Eip1271Wallet (contracts-abi/src/test/
 * TestActors.sol; it answers the magic value when OpenZeppelin's ECDSA
 * recovers its owner) and Eip1271FixedAnswer (the same 32-byte answer to
 * every call, or a revert). Checked: the owner's signature is accepted as
 * SIWE_SIGNER_CONTRACT; another signer, v 0/1 (which ECDSA refuses), a wrong
 * or dirty answer, a revert and an address without code are
 * SIWE_ERR_SIGNER_MISMATCH; a high-s signature is refused before any call;
 * an account's own signature never calls; a node that is down is a bounded
 * SIWE_ERR_RPC. Messages are signed by our own signer (sig.h, checked
 * against cast in test_sig) over the EIP-191 hash.
 *
 * Environment: ETH_RPC_URL (anvil, chain 31337), set by tests/run.sh.
 * Contracts are deployed from dev account 5; accounts 1-4 sign. */
#include "chain_fixture.h"
#include "clock.h"
#include "harness.h"
#include "siwe.h"

#include <stdio.h>
#include <string.h>

#define DEPLOYER 5
#define OWNER 1
#define STRANGER 2
#define NOW 1704067210
#define WALLET_ARTIFACT "contracts-abi/test/Eip1271Wallet.json"
#define FIXED_ARTIFACT "contracts-abi/test/Eip1271FixedAnswer.json"

static struct chain chain;
static struct rpc_client siwe_rpc; /* built with siwe_eip1271_rpc_options() */
static struct address wallet;      /* Eip1271Wallet owned by dev account OWNER */
static const struct siwe_expect expect = {"localhost:8080", "http", 31337, NOW};

/* A SIWE message naming `a` (EIP-55). */
static size_t make_message(char out[SIWE_MESSAGE_BYTES_MAX], const struct address *a)
{
    char text[ADDRESS_TEXT_SIZE];
    address_format_checksum(text, a);
    int n = snprintf(out, SIWE_MESSAGE_BYTES_MAX,
                     "localhost:8080 wants you to sign in with your Ethereum account:\n%s\n\n"
                     "Sign in with a contract wallet.\n\nURI: http://localhost:8080\nVersion: 1\n"
                     "Chain ID: 31337\nNonce: 1271abcdef\nIssued At: 2024-01-01T00:00:00Z",
                     text);
    ASSERT(n > 0 && n < SIWE_MESSAGE_BYTES_MAX);
    return (size_t)n;
}

/* "0x" + r || s || v of `msg` signed by dev account `who` (v 27/28, low s). */
static void sign_message(char out[SIWE_SIGNATURE_HEX_LEN + 1], const char *msg, size_t len,
                         size_t who)
{
    uint8_t hash[SIG_HASH_BYTES], sig[SIG_BYTES];
    if (sig_hash_personal_message(hash, (const uint8_t *)msg, len, NULL) != SIG_OK ||
        sig_sign_recoverable(sig, hash, &chain.key[who], NULL) != SIG_OK ||
        hex_encode_0x(out, SIWE_SIGNATURE_HEX_LEN + 1, sig, SIG_BYTES) != 0)
        abort();
}

/* siwe_verify() through siwe_rpc; *calls_out = HTTP requests it made. */
static enum siwe_result verify(enum siwe_signer *signer, uint64_t *calls_out, const char *msg,
                               size_t len, const char *sig, struct err *e)
{
    struct siwe_message m;
    uint64_t before = siwe_rpc.attempts_total;
    enum siwe_result r = siwe_verify(&m, signer, msg, len, sig, strlen(sig), &expect, &siwe_rpc, e);
    *calls_out = siwe_rpc.attempts_total - before;
    return r;
}

static void test_wallet_owner_accepted(void)
{
    char msg[SIWE_MESSAGE_BYTES_MAX], sig[SIWE_SIGNATURE_HEX_LEN + 1];
    size_t len = make_message(msg, &wallet);
    sign_message(sig, msg, len, OWNER);
    enum siwe_signer signer = SIWE_SIGNER_NONE;
    uint64_t calls = 0;
    struct err e = {0};
    CHECK_MSG(verify(&signer, &calls, msg, len, sig, &e) == SIWE_OK, "%s", e.msg);
    CHECK_INT(signer, SIWE_SIGNER_CONTRACT);
    CHECK_INT(calls, 1);
    struct siwe_message m;
    CHECK_INT(siwe_verify(&m, &signer, msg, len, sig, strlen(sig), &expect, &siwe_rpc, NULL),
              SIWE_OK);
    CHECK(address_eq(&m.address, &wallet));
    CHECK_STR(m.nonce, "1271abcdef");
}

static void test_wallet_refusals(void)
{
    char msg[SIWE_MESSAGE_BYTES_MAX], sig[SIWE_SIGNATURE_HEX_LEN + 1];
    size_t len = make_message(msg, &wallet);
    enum siwe_signer signer = SIWE_SIGNER_CONTRACT;
    uint64_t calls = 0;
    struct err e = {0};
    sign_message(sig, msg, len, STRANGER);
    CHECK_INT(verify(&signer, &calls, msg, len, sig, &e), SIWE_ERR_SIGNER_MISMATCH);
    CHECK_INT(signer, SIWE_SIGNER_NONE);
    CHECK_INT(calls, 1);
    CHECK(strstr(e.msg, "did not return 0x1626ba7e") != NULL);
    /* the owner's signature with v 0/1: we would take it from an account,
     * but OpenZeppelin's ECDSA (the wallet's own rule) does not */
    sign_message(sig, msg, len, OWNER);
    bool v28 = strcmp(sig + 130, "1c") == 0;
    memcpy(sig + 130, v28 ? "01" : "00", 2);
    CHECK_INT(verify(&signer, &calls, msg, len, sig, &e), SIWE_ERR_SIGNER_MISMATCH);
    CHECK_INT(calls, 1);
    /* the owner's high-s twin is refused before the node is asked */
    sign_message(sig, msg, len, OWNER);
    uint8_t raw[SIG_BYTES];
    CHECK(hex_decode_exact(raw, SIG_BYTES, sig, strlen(sig), NULL) == HEX_OK);
    struct u256 n, s, hs;
    CHECK(u256_from_hex(&n, "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
                        66, NULL) == U256_OK);
    s = u256_from_be32(raw + 32);
    CHECK(u256_sub(&hs, &n, &s) == U256_OK);
    u256_to_be32(raw + 32, &hs);
    raw[64] = raw[64] == 27 ? 28 : 27;
    CHECK(hex_encode_0x(sig, sizeof sig, raw, SIG_BYTES) == 0);
    CHECK_INT(verify(&signer, &calls, msg, len, sig, &e), SIWE_ERR_SIGNATURE_HIGH_S);
    CHECK_INT(calls, 0);
}

static void test_account_and_no_code(void)
{
    char msg[SIWE_MESSAGE_BYTES_MAX], sig[SIWE_SIGNATURE_HEX_LEN + 1];
    size_t len = make_message(msg, &chain.addr[3]);
    enum siwe_signer signer = SIWE_SIGNER_NONE;
    uint64_t calls = 0;
    struct err e = {0};
    sign_message(sig, msg, len, 3); /* the account itself: no call */
    CHECK_INT(verify(&signer, &calls, msg, len, sig, &e), SIWE_OK);
    CHECK_INT(signer, SIWE_SIGNER_ACCOUNT);
    CHECK_INT(calls, 0);
    sign_message(sig, msg, len, 4); /* someone else: the address has no code */
    CHECK_INT(verify(&signer, &calls, msg, len, sig, &e), SIWE_ERR_SIGNER_MISMATCH);
    CHECK_INT(calls, 1);
    CHECK(strstr(e.msg, "no eip-1271 contract code") != NULL);
}

/* Deploys Eip1271FixedAnswer(answer) and signs in for it with a stranger's signature. */
static enum siwe_result fixed_answer(const uint8_t answer[32], uint64_t *calls, struct err *e)
{
    struct address a;
    struct abi_value arg = abi_value_bytes32(answer);
    struct err de = {0};
    if (!chain_deploy(&a, NULL, &chain, DEPLOYER, FIXED_ARTIFACT, &arg, 1, &de)) {
        fprintf(stdout, "# deploy: %s\n", de.msg);
        return SIWE_ERR_INTERNAL;
    }
    char msg[SIWE_MESSAGE_BYTES_MAX], sig[SIWE_SIGNATURE_HEX_LEN + 1];
    size_t len = make_message(msg, &a);
    sign_message(sig, msg, len, STRANGER);
    enum siwe_signer signer = SIWE_SIGNER_NONE;
    enum siwe_result r = verify(&signer, calls, msg, len, sig, e);
    CHECK(r == SIWE_OK ? signer == SIWE_SIGNER_CONTRACT : signer == SIWE_SIGNER_NONE);
    return r;
}

static void test_fixed_answers(void)
{
    uint8_t w[32];
    uint64_t calls = 0;
    struct err e = {0};
    memset(w, 0, sizeof w);
    memcpy(w, "\x16\x26\xba\x7e", 4); /* exactly the magic value: whatever the signature */
    CHECK_INT(fixed_answer(w, &calls, &e), SIWE_OK);
    CHECK_INT(calls, 1);
    w[31] = 1; /* dirty padding */
    CHECK_INT(fixed_answer(w, &calls, &e), SIWE_ERR_SIGNER_MISMATCH);
    memset(w, 0, sizeof w);
    memcpy(w + 28, "\x16\x26\xba\x7e", 4); /* right-aligned, as a uint32 */
    CHECK_INT(fixed_answer(w, &calls, &e), SIWE_ERR_SIGNER_MISMATCH);
    memset(w, 0xff, 4); /* 0xffffffff */
    memset(w + 4, 0, 28);
    CHECK_INT(fixed_answer(w, &calls, &e), SIWE_ERR_SIGNER_MISMATCH);
    memcpy(w, "\x16\x26\xba\x7f", 4); /* one bit off */
    CHECK_INT(fixed_answer(w, &calls, &e), SIWE_ERR_SIGNER_MISMATCH);
    memset(w, 0, sizeof w); /* zero: the contract reverts */
    CHECK_INT(fixed_answer(w, &calls, &e), SIWE_ERR_SIGNER_MISMATCH);
    CHECK_INT(calls, 1);
    CHECK(strstr(e.msg, "reverted") != NULL);
}

static void test_node_down(void)
{
    struct rpc_options opt;
    siwe_eip1271_rpc_options(&opt, 500);
    struct rpc_client down;
    /* port 1 on loopback: nothing listens (tcpmux is never run here) */
    CHECK_INT(rpc_client_init(&down, "http://127.0.0.1:1", &opt, NULL), RPC_OK);
    char msg[SIWE_MESSAGE_BYTES_MAX], sig[SIWE_SIGNATURE_HEX_LEN + 1];
    size_t len = make_message(msg, &wallet);
    sign_message(sig, msg, len, OWNER);
    struct siwe_message m;
    enum siwe_signer signer = SIWE_SIGNER_CONTRACT;
    struct err e = {0};
    uint64_t t0 = clock_now_ms();
    CHECK_INT(siwe_verify(&m, &signer, msg, len, sig, strlen(sig), &expect, &down, &e),
              SIWE_ERR_RPC);
    uint64_t ms = clock_now_ms() - t0;
    CHECK_INT(signer, SIWE_SIGNER_NONE);
    CHECK_INT(down.attempts_total, 1);
    CHECK_MSG(ms < 5000, "took %llu ms", (unsigned long long)ms);
    fprintf(stdout, "# node down: %llu ms: %s\n", (unsigned long long)ms, e.msg);
    rpc_client_release(&down);
}

int main(void)
{
    struct err e = {0};
    char url[CONFIG_URL_BYTES_MAX + 1];
    struct rpc_options opt;
    siwe_eip1271_rpc_options(&opt, SIWE_EIP1271_TIMEOUT_MS_DEFAULT);
    bool ok = chain_open(&chain, &e) && chain_load_rpc_url(url, &e) &&
              rpc_client_init(&siwe_rpc, url, &opt, &e) == RPC_OK;
    struct abi_value owner = abi_value_address(&chain.addr[OWNER]);
    ok = ok && chain_deploy(&wallet, NULL, &chain, DEPLOYER, WALLET_ARTIFACT, &owner, 1, &e);
    if (!ok) {
        fprintf(stdout, "# %s\nnot ok - environment\n0 passed, 1 failed\n", e.msg);
        return 1;
    }
    RUN(test_wallet_owner_accepted);
    RUN(test_wallet_refusals);
    RUN(test_account_and_no_code);
    RUN(test_fixed_answers);
    RUN(test_node_down);
    rpc_client_release(&siwe_rpc);
    chain_close(&chain);
    return harness_finish();
}
