/*
 * siwe.h - Sign-In with Ethereum (EIP-4361): a strict parser of the message
 * grammar, the relying party's checks (domain, scheme, chain id, times) and
 * signature verification (EIP-191 personal_sign by an account key, else
 * EIP-1271 isValidSignature on a contract wallet).
 *
 * Message grammar (EIP-4361 ABNF), read line by line; lines end in LF only:
 *
 *   [scheme "://"] domain " wants you to sign in with your Ethereum account:"
 *   address                        "0x" + 40 hex digits, exactly EIP-55
 *   (blank)
 *   [statement]                    one line; then a blank line. Without a
 *   (blank)                        statement the blank lines are two.
 *   "URI: " uri
 *   "Version: 1"
 *   "Chain ID: " chain-id          decimal 1..SIWE_CHAIN_ID_MAX, no leading 0
 *   "Nonce: " nonce                SIWE_NONCE_BYTES_MIN..MAX of [A-Za-z0-9]
 *   "Issued At: " date-time
 *   ["Expiration Time: " date-time]
 *   ["Not Before: " date-time]
 *   ["Request ID: " request-id]    *pchar (RFC 3986), may be empty
 *   ["Resources:" *(LF "- " uri)]
 *
 * The last line has no LF after it. The optional fields appear at most once,
 * in this order. The whole message is printable ASCII and LF: a CR (CRLF line
 * ends), another control byte, DEL or a non-ASCII byte is refused first.
 * Character sets follow RFC 3986: scheme = ALPHA *(ALPHA / DIGIT / "+" / "-"
 * / "."); domain = authority ([userinfo "@"] host [":" port], host a
 * reg-name or a bracketed IP literal, port at most 5 digits); statement =
 * *(reserved / unreserved / " "); uri and resources = a scheme, ":" and then
 * only URI characters (unreserved, reserved and valid %XX escapes) - their
 * characters are checked, not the full URI structure. date-time is RFC 3339
 * (see siwe_time_parse()).
 *
 * Ownership: nothing allocates. The text fields of `struct siwe_message`
 * (spans) point INTO the message the caller parsed, which must outlive them;
 * the nonce is also copied, NUL-terminated, for the caller's PostgreSQL
 * query (nonce single use is the caller's check, not this module's).
 *
 * Threads: every function is reentrant. siwe_verify*() with an rpc client
 * use that client, which is not thread-safe (one per thread, see rpc.h).
 *
 * Results: each rejection class has its own stable code (numbers are never
 * reused), so the HTTP layer can answer a precise 4xx; siwe_result_slug()
 * names it. Only SIWE_ERR_RPC (the wallet contract could not be asked) and
 * SIWE_ERR_INTERNAL are not the client's fault.
 */
#ifndef COMMON_SIWE_H
#define COMMON_SIWE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "check.h"
#include "err.h"
#include "rpc.h"
#include "sig.h"

#define SIWE_MESSAGE_BYTES_MAX 4096
#define SIWE_SCHEME_BYTES_MAX 32
#define SIWE_DOMAIN_BYTES_MAX 253 /* as CONFIG_SIWE_DOMAIN_BYTES_MAX */
#define SIWE_PORT_DIGITS_MAX 5
#define SIWE_STATEMENT_BYTES_MAX 1024
#define SIWE_URI_BYTES_MAX 1024 /* the URI line and each resource */
#define SIWE_NONCE_BYTES_MIN 8
#define SIWE_NONCE_BYTES_MAX 64 /* as the auth_nonces table's CHECK */
#define SIWE_REQUEST_ID_BYTES_MAX 256
#define SIWE_RESOURCES_MAX 16
#define SIWE_CHAIN_ID_MAX ((uint64_t)1 << 53) /* as CONFIG_CHAIN_ID_MAX */
#define SIWE_TIME_BYTES_MAX 35                /* "YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+hh:mm" */
#define SIWE_TIME_FRACTION_DIGITS_MAX 9
#define SIWE_SIGNATURE_HEX_LEN (2 + 2 * SIG_BYTES) /* "0x" + 130 digits */

/* Issued At may be this far ahead of `now` (the wallet's clock may run
 * ahead of ours); Expiration Time and Not Before get no tolerance. */
#define SIWE_ISSUED_AT_SKEW_S 60

/* EIP-1271: isValidSignature(bytes32,bytes) answers this bytes4 on success. */
#define SIWE_EIP1271_MAGIC 0x1626ba7eu
#define SIWE_EIP1271_TIMEOUT_MS_DEFAULT 3000
#define SIWE_EIP1271_TIMEOUT_MS_MAX 10000
#define SIWE_EIP1271_RESPONSE_BYTES_MAX 4096 /* the node's whole JSON answer */
#define SIWE_EIP1271_RESULT_BYTES_MAX 1024   /* the call's return data */

/* Stable result codes; numbers are never reused. */
enum siwe_result {
    SIWE_OK = 0,
    /* message grammar (siwe_parse) */
    SIWE_ERR_TOO_LONG = 1,         /* message above SIWE_MESSAGE_BYTES_MAX */
    SIWE_ERR_CR = 2,               /* a carriage return (CRLF line ends) */
    SIWE_ERR_BAD_BYTE = 3,         /* control byte other than LF, DEL or non-ASCII */
    SIWE_ERR_HEADER = 4,           /* first line is not "... wants you to sign in ...:" */
    SIWE_ERR_BAD_SCHEME = 5,       /* scheme before "://" malformed or too long */
    SIWE_ERR_BAD_DOMAIN = 6,       /* domain empty, too long or not an RFC 3986 authority */
    SIWE_ERR_BAD_ADDRESS = 7,      /* address line is not "0x" + 40 hex digits */
    SIWE_ERR_ADDRESS_CASE = 8,     /* address not in its exact EIP-55 case (lowercase, miscased) */
    SIWE_ERR_LAYOUT = 9,           /* a blank line missing where the grammar has one */
    SIWE_ERR_BAD_STATEMENT = 10,   /* statement character outside the grammar, or too long */
    SIWE_ERR_STATEMENT_LINES = 11, /* statement spans more than one line */
    SIWE_ERR_MISSING_FIELD = 12,   /* a required field is not where the grammar puts it */
    SIWE_ERR_BAD_URI = 13,         /* URI malformed or too long */
    SIWE_ERR_BAD_VERSION = 14,     /* Version is not "1" */
    SIWE_ERR_BAD_CHAIN_ID = 15,    /* not decimal, leading zero, zero or above SIWE_CHAIN_ID_MAX */
    SIWE_ERR_BAD_NONCE = 16,       /* not 8..64 alphanumerics */
    SIWE_ERR_BAD_TIME = 17,        /* Issued At / Expiration Time / Not Before not RFC 3339 */
    SIWE_ERR_BAD_REQUEST_ID = 18,  /* Request ID character outside pchar, or too long */
    SIWE_ERR_BAD_RESOURCE = 19,    /* resource line not "- " + URI */
    SIWE_ERR_TOO_MANY_RESOURCES = 20, /* above SIWE_RESOURCES_MAX */
    SIWE_ERR_FIELD_ORDER = 21,        /* a field repeated or out of order */
    SIWE_ERR_EXTRA_LINE = 22,         /* unknown line after the fields, or a trailing LF */
    /* expectations (siwe_check) */
    SIWE_ERR_DOMAIN_MISMATCH = 23,  /* domain is not the expected one */
    SIWE_ERR_SCHEME_MISMATCH = 24,  /* the message names another scheme */
    SIWE_ERR_CHAIN_MISMATCH = 25,   /* chain id is not the expected one */
    SIWE_ERR_EXPIRED = 26,          /* now >= Expiration Time */
    SIWE_ERR_NOT_YET_VALID = 27,    /* now < Not Before */
    SIWE_ERR_ISSUED_IN_FUTURE = 28, /* Issued At > now + SIWE_ISSUED_AT_SKEW_S */
    /* signature (siwe_signature_parse, siwe_verify_signature) */
    SIWE_ERR_SIGNATURE_ENCODING = 29, /* not "0x" followed by hex digits */
    SIWE_ERR_SIGNATURE_LENGTH = 30,   /* not 65 bytes */
    SIWE_ERR_SIGNATURE_V = 31,        /* v not in {27, 28, 0, 1} */
    SIWE_ERR_SIGNATURE_R = 32,        /* r zero or >= n */
    SIWE_ERR_SIGNATURE_S = 33,        /* s zero or >= n */
    SIWE_ERR_SIGNATURE_HIGH_S = 34,   /* s > n/2 (malleable twin) */
    SIWE_ERR_SIGNER_MISMATCH = 35,    /* not signed by the address, and EIP-1271 says no */
    SIWE_ERR_RPC = 36,                /* EIP-1271 call failed: node down, timeout, bad client */
    SIWE_ERR_INTERNAL = 37            /* libsecp256k1 context or out of memory */
};

/* A piece of the parsed message: ptr points into it (NULL when absent). */
struct siwe_span {
    const char *ptr;
    size_t len;
};

/* An RFC 3339 instant. unix_s counts POSIX seconds (no leap seconds: the
 * leap second 23:59:60Z is the next day's 00:00:00); nanos is the fraction
 * written (0..999999999), never rounded into unix_s. */
struct siwe_time {
    int64_t unix_s;
    uint32_t nanos;
    struct siwe_span text; /* the exact text parsed */
};

struct siwe_message {
    bool has_scheme;
    struct siwe_span scheme; /* without "://" */
    struct siwe_span domain;
    struct address address;
    bool has_statement; /* a statement line, possibly empty */
    struct siwe_span statement;
    struct siwe_span uri;
    uint64_t chain_id;
    char nonce[SIWE_NONCE_BYTES_MAX + 1]; /* copied, NUL-terminated */
    size_t nonce_len;
    struct siwe_time issued_at;
    bool has_expiration_time;
    struct siwe_time expiration_time;
    bool has_not_before;
    struct siwe_time not_before;
    bool has_request_id;
    struct siwe_span request_id; /* may be empty */
    bool has_resources;          /* a "Resources:" line, possibly with no item */
    size_t resources_count;
    struct siwe_span resources[SIWE_RESOURCES_MAX];
};

/* What the relying party expects (all borrowed). */
struct siwe_expect {
    const char *domain; /* SIWE_DOMAIN, e.g. "localhost:8080"; compared byte for byte */
    const char *scheme; /* the origin's scheme, "http" or "https": a message that
                           names a scheme must name this one (ASCII case-insensitive);
                           a message without one is accepted (EIP-4361 makes it optional) */
    uint64_t chain_id;  /* CHAIN_ID */
    int64_t now_s;      /* the current unix time */
};

enum siwe_signer {
    SIWE_SIGNER_NONE = 0,
    SIWE_SIGNER_ACCOUNT = 1, /* the address's key signed (EIP-191) */
    SIWE_SIGNER_CONTRACT = 2 /* the contract at the address said yes (EIP-1271) */
};

/* Parses message[0..message_len) by the grammar above. On SIWE_OK *out holds
 * the fields (spans into `message`); on failure *out is untouched and `e`
 * (may be NULL) says what and where (line numbers count from 1). */
WUR enum siwe_result siwe_parse(struct siwe_message *out, const char *message, size_t message_len,
                                struct err *e);

/* Checks a parsed message against `x`, in this order: domain, scheme, chain
 * id, Expiration Time (expired when now_s >= its second), Not Before (valid
 * from the first whole second at or after it), Issued At (at most
 * SIWE_ISSUED_AT_SKEW_S ahead of now_s). Returns SIWE_OK or the first
 * failing check's code (SIWE_ERR_DOMAIN_MISMATCH .. SIWE_ERR_ISSUED_IN_FUTURE). */
WUR enum siwe_result siwe_check(const struct siwe_message *m, const struct siwe_expect *x,
                                struct err *e);

/* Decodes "0x" + exactly 130 hex digits (either case) into out. Returns
 * SIWE_ERR_SIGNATURE_ENCODING (no "0x", a non-hex digit, or an odd count)
 * or SIWE_ERR_SIGNATURE_LENGTH (another length); *out untouched then. */
WUR enum siwe_result siwe_signature_parse(uint8_t out[SIG_BYTES], const char *text, size_t text_len,
                                          struct err *e);

/* Verifies that `signature` signs message[0..message_len) for `address`:
 *  1. v, r and s are checked first (SIWE_ERR_SIGNATURE_V/_R/_S/_HIGH_S), for
 *     account and contract wallets alike;
 *  2. the signer is recovered from the EIP-191 personal_sign hash of the
 *     exact bytes; equal to `address`: *signer_out = SIWE_SIGNER_ACCOUNT;
 *  3. otherwise (or when nothing recovers), if `rpc` is not NULL, one
 *     eth_call of isValidSignature(hash, signature) on `address` at
 *     "latest"; success only when the return data is at least 32 bytes and
 *     its first word is 0x1626ba7e followed by zeros (as OpenZeppelin's
 *     SignatureChecker): *signer_out = SIWE_SIGNER_CONTRACT.
 * A wrong answer, a revert, no code at the address (empty return) or a
 * return larger than SIWE_EIP1271_RESULT_BYTES_MAX is
 * SIWE_ERR_SIGNER_MISMATCH; so is step 3 skipped (rpc NULL). A transport
 * error, timeout, HTTP error, malformed or other JSON-RPC error answer is
 * SIWE_ERR_RPC.
 * Time bound: `rpc` must make a single attempt (retries_max 0) with a total
 * timeout of at most SIWE_EIP1271_TIMEOUT_MS_MAX - build it with options from
 * siwe_eip1271_rpc_options() - so the call ends within that timeout;
 * another client is refused (SIWE_ERR_RPC) before anything is sent.
 * *signer_out is SIWE_SIGNER_NONE unless SIWE_OK. message_len is at most
 * SIWE_MESSAGE_BYTES_MAX (else SIWE_ERR_TOO_LONG). */
WUR enum siwe_result siwe_verify_signature(enum siwe_signer *signer_out, const char *message,
                                           size_t message_len, const struct address *address,
                                           const uint8_t signature[SIG_BYTES],
                                           struct rpc_client *rpc, struct err *e);

/* The whole sign-in: siwe_parse(), siwe_check(), siwe_signature_parse() and
 * siwe_verify_signature(), stopping at the first failure and returning its
 * code. On SIWE_OK *out holds the message fields and *signer_out how it was
 * signed; otherwise *out is untouched and *signer_out SIWE_SIGNER_NONE. The
 * caller then consumes out->nonce (single use) in PostgreSQL. `rpc` may be
 * NULL (no contract wallets). */
WUR enum siwe_result siwe_verify(struct siwe_message *out, enum siwe_signer *signer_out,
                                 const char *message, size_t message_len, const char *signature,
                                 size_t signature_len, const struct siwe_expect *x,
                                 struct rpc_client *rpc, struct err *e);

/* Fills rpc options for the EIP-1271 client: one attempt, connect and total
 * timeout `timeout_ms` (1..SIWE_EIP1271_TIMEOUT_MS_MAX, asserted), response
 * body at most SIWE_EIP1271_RESPONSE_BYTES_MAX. */
void siwe_eip1271_rpc_options(struct rpc_options *out, uint32_t timeout_ms);

/* Parses an RFC 3339 date-time:
 *   YYYY "-" MM "-" DD ("T"/"t") hh ":" mm ":" ss ["." 1*9DIGIT] ("Z"/"z" / ("+"/"-") hh ":" mm)
 * Month 01-12, day within the month (leap years per the Gregorian rules),
 * hour 00-23, minute 00-59, second 00-59, or 60 only for a leap second at
 * 23:59:60 UTC on the last day of a month (after applying the offset); offset
 * hours 00-23, minutes 00-59 ("-00:00" is UTC). At most
 * SIWE_TIME_BYTES_MAX bytes. Returns SIWE_OK or SIWE_ERR_BAD_TIME (*out
 * untouched). */
WUR enum siwe_result siwe_time_parse(struct siwe_time *out, const char *text, size_t text_len,
                                     struct err *e);

/* A stable lowercase name for a result ("ok", "expired", "signature_high_s",
 * ...) for logs and problem details; "unknown" for a number not listed. */
const char *siwe_result_slug(enum siwe_result r);

#endif
