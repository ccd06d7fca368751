/*
 * rpc.h - Ethereum JSON-RPC 2.0 client over HTTP(S) (libcurl + jansson).
 *
 * Ownership and threads: `struct rpc_client` is caller-allocated and owns one
 * curl easy handle (keep-alive connection reuse) from rpc_client_init() until
 * rpc_client_release(). A client is NOT thread-safe: use one per thread.
 * Call rpc_global_init() once in main() before starting threads.
 *
 * JSON ownership (jansson reference counts):
 * - `params` passed to rpc_call()/rpc_batch() is STOLEN, on success and on
 *   failure alike, so `rpc_call(c, "m", json_pack("[s]", x), ...)` never
 *   leaks. NULL means no parameters ("[]").
 * - Every `json_t **result_out` / item `result` is a new reference owned by
 *   the caller (json_decref), set only on RPC_OK; it may be JSON null
 *   (e.g. eth_getTransactionReceipt for an unknown hash).
 *
 * Errors: transport and HTTP failures are retried with bounded exponential
 * backoff only when transient (connect/resolve/send/receive errors, timeouts,
 * HTTP 429/502/503/504). A JSON-RPC error object is never retried: it is the
 * node's answer (for eth_sendRawTransaction, resending is not the fix). A
 * remote error's code, message and revert data are kept in
 * client->last_remote. Messages never contain the URL (it may hold an API key).
 *
 * Limits: URL RPC_URL_BYTES_MAX, method RPC_METHOD_BYTES_MAX, request body
 * RPC_REQUEST_BYTES_MAX, response body options.response_bytes_max (default
 * RPC_RESPONSE_BYTES_MAX; the transfer is aborted as soon as it passes the
 * cap), JSON nesting RPC_JSON_DEPTH_MAX, batch RPC_BATCH_CALLS_MAX calls,
 * retries RPC_RETRIES_MAX, timeouts RPC_TIMEOUT_MS_MAX.
 */
#ifndef COMMON_RPC_H
#define COMMON_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "abi.h"
#include "check.h"
#include "err.h"
#include "u256.h"

#define RPC_URL_BYTES_MAX 2048
#define RPC_METHOD_BYTES_MAX 64
#define RPC_REQUEST_BYTES_MAX ((size_t)1 << 20)
#define RPC_RESPONSE_BYTES_MAX ((size_t)8 << 20)
#define RPC_JSON_DEPTH_MAX 64
#define RPC_BATCH_CALLS_MAX 100
#define RPC_RETRIES_MAX 10
#define RPC_TIMEOUT_MS_MAX 600000
#define RPC_BACKOFF_MS_MAX 30000
#define RPC_ERROR_MESSAGE_BYTES_MAX 256
#define RPC_ERROR_DATA_HEX_MAX (2 + 2 * 2048) /* "0x" + 2 KiB of revert data */
#define RPC_CALL_DATA_BYTES_MAX ((size_t)128 * 1024)
#define RPC_RAW_TX_BYTES_MAX ((size_t)128 * 1024)
#define RPC_WAIT_TIMEOUT_MS_MAX (3600u * 1000u)
#define RPC_CURL_ERROR_BYTES 256                  /* CURL_ERROR_SIZE */
#define RPC_PRIORITY_FEE_FALLBACK_WEI 1000000000u /* 1 gwei, if the node has no suggestion */

#define RPC_CONNECT_TIMEOUT_MS_DEFAULT 3000
#define RPC_TOTAL_TIMEOUT_MS_DEFAULT 15000
#define RPC_RETRIES_DEFAULT 3
#define RPC_BACKOFF_INITIAL_MS_DEFAULT 100
#define RPC_BACKOFF_MAX_MS_DEFAULT 2000

/* Stable result codes; numbers are never reused. */
enum rpc_result {
    RPC_OK = 0,
    RPC_ERR_TRANSPORT = 1,    /* connect/resolve/send/receive or other curl failure */
    RPC_ERR_TIMEOUT = 2,      /* connect or total timeout */
    RPC_ERR_HTTP_STATUS = 3,  /* HTTP status other than 200 */
    RPC_ERR_TOO_LARGE = 4,    /* response above the cap, or result above the caller's buffer */
    RPC_ERR_BAD_RESPONSE = 5, /* malformed JSON, wrong version, id mismatch, bad field */
    RPC_ERR_REMOTE = 6,       /* JSON-RPC error object (see last_remote) */
    RPC_ERR_EXECUTION_REVERTED = 7, /* error code 3 / "execution reverted" (data in last_remote) */
    RPC_ERR_BAD_INPUT = 8,          /* caller argument invalid (method, tag, hex, limits) */
    RPC_ERR_NOMEM = 9,
    RPC_ERR_NO_RECEIPT = 10,     /* receipt not available yet (result null) */
    RPC_ERR_RECEIPT_TIMEOUT = 11 /* rpc_wait_receipt gave up */
};

struct rpc_remote_error {
    int64_t code;
    char message[RPC_ERROR_MESSAGE_BYTES_MAX + 1]; /* cut at the maximum */
    char data_hex[RPC_ERROR_DATA_HEX_MAX + 1];     /* "0x..." revert data, "" if none/not hex */
    bool data_truncated;                           /* data was longer than the maximum */
};

struct rpc_options {
    uint32_t connect_timeout_ms; /* 1..RPC_TIMEOUT_MS_MAX */
    uint32_t total_timeout_ms;   /* per attempt, 1..RPC_TIMEOUT_MS_MAX */
    size_t response_bytes_max;   /* 1..RPC_RESPONSE_BYTES_MAX */
    uint32_t retries_max;        /* extra attempts for transient failures, 0..RPC_RETRIES_MAX */
    uint32_t backoff_initial_ms; /* first delay, doubled per retry, 0..RPC_BACKOFF_MS_MAX */
    uint32_t backoff_max_ms;     /* delay cap, 0..RPC_BACKOFF_MS_MAX */
};

struct curl_slist;

struct rpc_client {
    void *curl; /* CURL *, owned */
    struct curl_slist *headers;
    char url[RPC_URL_BYTES_MAX + 1];
    struct rpc_options opt;
    uint64_t next_id;                      /* JSON-RPC id of the next request */
    uint32_t last_attempts;                /* HTTP attempts made by the last call */
    uint64_t attempts_total;               /* HTTP attempts since init */
    long last_http_status;                 /* 0 when no response */
    struct rpc_remote_error last_remote;   /* valid after RPC_ERR_REMOTE/_EXECUTION_REVERTED */
    char curl_error[RPC_CURL_ERROR_BYTES]; /* curl's detail for the last transport error */
};

/* One call of a batch. The caller fills method/params; rpc_batch fills the rest. */
struct rpc_batch_item {
    const char *method;             /* borrowed */
    json_t *params;                 /* STOLEN by rpc_batch (set to NULL); NULL = [] */
    json_t *result;                 /* out: new reference on RPC_OK, else NULL */
    enum rpc_result code;           /* out: RPC_OK, RPC_ERR_REMOTE or RPC_ERR_EXECUTION_REVERTED */
    struct rpc_remote_error remote; /* out: when code is a remote error */
};

struct rpc_receipt {
    uint8_t transaction_hash[32];
    uint8_t block_hash[32];
    uint64_t block_number;
    uint64_t transaction_index;
    uint64_t status; /* 1 success, 0 reverted */
    uint64_t gas_used;
    struct u256 effective_gas_price_wei; /* zero when the node omits it */
    uint8_t from[20];
    bool has_to;
    uint8_t to[20];
    bool has_contract_address;
    uint8_t contract_address[20];
    json_t *logs; /* owned JSON array of log objects; rpc_receipt_release() */
};

struct rpc_fees {
    struct u256 base_fee_wei;     /* baseFeePerGas of the latest block */
    struct u256 priority_fee_wei; /* eth_maxPriorityFeePerGas, or the 1 gwei fallback */
    struct u256 max_fee_wei;      /* 2 * base + priority */
};

/* curl_global_init; call once at startup before any thread exists. */
WUR enum rpc_result rpc_global_init(struct err *e);

void rpc_options_default(struct rpc_options *opt);

/* Creates the curl handle for `url` (http or https). opt NULL = defaults.
 * Returns RPC_OK, RPC_ERR_BAD_INPUT (url/options out of range) or
 * RPC_ERR_NOMEM. On failure the client is left released. */
WUR enum rpc_result rpc_client_init(struct rpc_client *c, const char *url,
                                    const struct rpc_options *opt, struct err *e);

/* Frees the handle; idempotent on a released or zeroed client. */
void rpc_client_release(struct rpc_client *c);

/* Sets the per-attempt total timeout of the client's later calls to
 * timeout_ms (1..RPC_TIMEOUT_MS_MAX), e.g. a caller that bounds its own
 * broadcasts and lookups and restores the previous c->opt.total_timeout_ms
 * afterwards. RPC_OK or RPC_ERR_BAD_INPUT (nothing changed). */
WUR enum rpc_result rpc_client_set_timeout_ms(struct rpc_client *c, uint32_t timeout_ms,
                                              struct err *e);

/* Calls `method` with `params` (stolen; array or object, NULL = []). On
 * RPC_OK *result_out is a new reference. Errors: any enum value except
 * RPC_ERR_NO_RECEIPT/RPC_ERR_RECEIPT_TIMEOUT. */
WUR enum rpc_result rpc_call(struct rpc_client *c, const char *method, json_t *params,
                             json_t **result_out, struct err *e);

/* Sends items[0..items_len) (1..RPC_BATCH_CALLS_MAX) in one HTTP request and
 * matches answers by id. Missing, duplicate or unknown ids are
 * RPC_ERR_BAD_RESPONSE (and no item keeps a result). Returns RPC_OK when
 * every item succeeded; otherwise the first failing item's code with `e`
 * naming it, every item's code/result still filled. Params are stolen. */
WUR enum rpc_result rpc_batch(struct rpc_client *c, struct rpc_batch_item *items, size_t items_len,
                              struct err *e);

/* Pure: parses a single response body expecting id `id_expected`. On RPC_OK
 * *result_out is a new reference (maybe JSON null). On a remote error fills
 * *remote_out (may be NULL). Returns RPC_OK, RPC_ERR_TOO_LARGE (body over
 * RPC_RESPONSE_BYTES_MAX), RPC_ERR_BAD_RESPONSE, RPC_ERR_REMOTE or
 * RPC_ERR_EXECUTION_REVERTED. An error response with id null is accepted. */
WUR enum rpc_result rpc_parse_response(json_t **result_out, struct rpc_remote_error *remote_out,
                                       const char *body, size_t body_len, uint64_t id_expected,
                                       struct err *e);

/* Pure: parses a batch response for ids id_first..id_first+items_len-1 into
 * the items (order of the body does not matter). Same return rules as
 * rpc_batch. A single error object instead of an array is the whole batch's
 * RPC_ERR_REMOTE. */
WUR enum rpc_result rpc_parse_batch_response(struct rpc_batch_item *items, size_t items_len,
                                             const char *body, size_t body_len, uint64_t id_first,
                                             struct err *e);

/* Pure: "0x" + 1..16 hex digits -> uint64. RPC_ERR_BAD_RESPONSE otherwise. */
WUR enum rpc_result rpc_parse_quantity_u64(uint64_t *out, const json_t *value, struct err *e);

/* Pure: fills *out from a receipt object (out->logs gets a new reference).
 * RPC_ERR_NO_RECEIPT when `result` is JSON null, RPC_ERR_BAD_RESPONSE on a
 * missing or malformed field. */
WUR enum rpc_result rpc_parse_receipt(struct rpc_receipt *out, const json_t *result, struct err *e);

/* Drops out->logs; idempotent. */
void rpc_receipt_release(struct rpc_receipt *r);

/* ---- typed wrappers (client first, then outputs, then inputs) ------------- */
/* block_tag: "latest", "pending", "earliest", "safe", "finalized" or a
 * "0x" quantity of at most 16 digits; anything else is RPC_ERR_BAD_INPUT. */

WUR enum rpc_result rpc_chain_id(struct rpc_client *c, uint64_t *chain_id_out, struct err *e);

WUR enum rpc_result rpc_block_number(struct rpc_client *c, uint64_t *block_out, struct err *e);

WUR enum rpc_result rpc_get_transaction_count(struct rpc_client *c, uint64_t *nonce_out,
                                              const uint8_t address[20], const char *block_tag,
                                              struct err *e);

WUR enum rpc_result rpc_get_balance(struct rpc_client *c, struct u256 *balance_wei_out,
                                    const uint8_t address[20], const char *block_tag,
                                    struct err *e);

/* raw_tx_hex: "0x" + even hex, at most RPC_RAW_TX_BYTES_MAX bytes. Writes the
 * node's transaction hash. Never retried on a remote error. */
WUR enum rpc_result rpc_send_raw_transaction(struct rpc_client *c, uint8_t tx_hash_out[32],
                                             const char *raw_tx_hex, struct err *e);

/* RPC_ERR_NO_RECEIPT while the transaction is not mined (out untouched).
 * On RPC_OK the caller owns out->logs (rpc_receipt_release). */
WUR enum rpc_result rpc_get_transaction_receipt(struct rpc_client *c, struct rpc_receipt *out,
                                                const uint8_t tx_hash[32], struct err *e);

/* Polls every poll_ms (1..timeout_ms) until the receipt exists or timeout_ms
 * (<= RPC_WAIT_TIMEOUT_MS_MAX) passes: then RPC_ERR_RECEIPT_TIMEOUT. */
WUR enum rpc_result rpc_wait_receipt(struct rpc_client *c, struct rpc_receipt *out,
                                     const uint8_t tx_hash[32], uint32_t timeout_ms,
                                     uint32_t poll_ms, struct err *e);

/* eth_call {from?, to, data} at block_tag; result bytes into out[0..out_cap).
 * from may be NULL. A revert is RPC_ERR_EXECUTION_REVERTED with the revert
 * data in c->last_remote.data_hex; a result above out_cap RPC_ERR_TOO_LARGE. */
WUR enum rpc_result rpc_eth_call(struct rpc_client *c, uint8_t *out, size_t out_cap,
                                 size_t *out_len, const uint8_t *from, const uint8_t to[20],
                                 const uint8_t *data, size_t data_len, const char *block_tag,
                                 struct err *e);

/* rpc_eth_call of the view `signature` with args[0..args_count) (encoded by
 * abi_encode_call, at most RPC_CALL_DATA_BYTES_MAX bytes) on `to` at
 * block_tag, without a sender; the answer's bytes into out[0..out_cap) as
 * rpc_eth_call. An encoding failure is RPC_ERR_BAD_INPUT with abi's message;
 * nothing is sent then. */
WUR enum rpc_result rpc_view(struct rpc_client *c, uint8_t *out, size_t out_cap, size_t *out_len,
                             const uint8_t to[20], const char *signature,
                             const struct abi_value *args, size_t args_count, const char *block_tag,
                             struct err *e);

/* rpc_view of a view answering exactly one 32-byte ABI word: out. An answer
 * of another length is RPC_ERR_BAD_RESPONSE "<signature> answered N bytes,
 * not one word" (RPC_ERR_TOO_LARGE above 32 bytes, as rpc_eth_call). */
WUR enum rpc_result rpc_view_word(struct rpc_client *c, uint8_t out[32], const uint8_t to[20],
                                  const char *signature, const struct abi_value *args,
                                  size_t args_count, const char *block_tag, struct err *e);

/* One batch: latest block's baseFeePerGas + eth_maxPriorityFeePerGas (a
 * remote error there falls back to RPC_PRIORITY_FEE_FALLBACK_WEI). A block
 * without baseFeePerGas is RPC_ERR_BAD_RESPONSE. */
WUR enum rpc_result rpc_fee_suggestion(struct rpc_client *c, struct rpc_fees *out, struct err *e);

#endif
