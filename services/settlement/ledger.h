/*
 * ledger.h - the double-entry journal of the settlement service in
 * PostgreSQL (tables ledger_entries and ledger_postings of
 * migrations/0003_ledger.sql, whose header documents the chart of accounts).
 *
 * Posting: a batch of entries with their postings is written in one
 * round trip of batched writes (one INSERT ... SELECT FROM unnest(arrays) for
 * the entries and one for the postings, in a single statement), after the
 * batch's entry ids are taken from the sequence in one more round trip.
 * Before writing, every entry is ASSERTed to balance (sum of debits = sum of
 * credits, both computed in u256): an unbalanced entry is a bug of the
 * caller, never input. After writing, the database returns each stored
 * entry's posting count and sums, and those are ASSERTed to equal what was
 * sent. The database checks the balance once more at COMMIT (a deferred
 * constraint trigger).
 *
 * Idempotency: a revenue entry carries its event key (chain_id, tx_hash,
 * log_index), UNIQUE in the database. An entry whose event is already
 * posted (by an earlier batch, a concurrent process or earlier in the same
 * batch) is skipped with its postings and reported as replayed; the rest of
 * the batch is posted. Nothing is "checked then inserted".
 *
 * Accounts: `struct ledger_account` is typed, so only the accounts of the
 * chart can be named: vault, unattributed, payee:<address>,
 * settled:<address>. Zero amounts are refused (LEDGER_ERR_BAD_INPUT): a
 * caller leaves a zero split part out.
 *
 * Ownership: the caller owns the session, the entries, their postings and
 * every output array. ledger_post_entries() runs inside the caller's
 * transaction (the indexer commits its cursor with the postings);
 * ledger_post_batch() runs its own, retrying serialization failures.
 *
 * Limits: LEDGER_BATCH_ENTRIES_MAX entries and LEDGER_BATCH_POSTINGS_MAX
 * postings per batch, 2..LEDGER_ENTRY_POSTINGS_MAX postings per entry.
 */
#ifndef SETTLEMENT_LEDGER_H
#define SETTLEMENT_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "check.h"
#include "err.h"
#include "pg.h"
#include "u256.h"

#define LEDGER_BATCH_ENTRIES_MAX 10000
#define LEDGER_BATCH_POSTINGS_MAX 200000
#define LEDGER_ENTRY_POSTINGS_MAX 128 /* 100 payees of a split + the vault, with room */
#define LEDGER_ACCOUNT_SIZE 51        /* "settled:0x" + 40 hex digits + NUL */
#define LEDGER_TX_ATTEMPTS 5
#define LEDGER_KEY_BYTES 32

/* Stable result codes; numbers are never reused. */
enum ledger_result {
    LEDGER_OK = 0,
    LEDGER_ERR_BAD_INPUT = 1,  /* an argument above a limit or invalid (e says which) */
    LEDGER_ERR_DB = 2,         /* a statement failed (e has pg's message) */
    LEDGER_ERR_REFUSED = 3,    /* a database constraint refused the rows (23514, 23503) */
    LEDGER_ERR_CONFLICT = 4,   /* a unique key other than the event key (23505), e.g. a
                                  second reversal of one entry */
    LEDGER_ERR_CONNECTION = 5, /* the connection is lost */
    LEDGER_ERR_BUSY = 6,       /* serialization failures on every attempt */
    LEDGER_ERR_CORRUPT = 7,    /* a stored value does not parse or is out of range */
    LEDGER_ERR_TOO_MANY = 8,   /* more result rows than the caller's array holds */
    LEDGER_ERR_INVARIANT = 9   /* ledger_check_invariants found a violation */
};

enum ledger_kind { LEDGER_KIND_REVENUE = 0, LEDGER_KIND_SETTLEMENT = 1, LEDGER_KIND_REVERSAL = 2 };

enum ledger_side { LEDGER_DEBIT = 0, LEDGER_CREDIT = 1 };

enum ledger_account_kind {
    LEDGER_ACCOUNT_VAULT = 0,
    LEDGER_ACCOUNT_UNATTRIBUTED = 1,
    LEDGER_ACCOUNT_PAYEE = 2,  /* earned, unsettled */
    LEDGER_ACCOUNT_SETTLED = 3 /* in a published settlement batch */
};

struct ledger_account {
    enum ledger_account_kind kind;
    struct address owner; /* PAYEE and SETTLED only; ignored otherwise */
};

struct ledger_posting {
    struct ledger_account account;
    enum ledger_side side;
    struct u256 amount_wei; /* > 0 */
};

/* The on-chain event a revenue entry books. */
struct ledger_event_key {
    uint64_t chain_id; /* 1..INT64_MAX */
    uint8_t tx_hash[32];
    uint32_t log_index;    /* 0..INT32_MAX */
    uint64_t block_number; /* 0..INT64_MAX */
    uint8_t block_hash[32];
};

struct ledger_entry {
    enum ledger_kind kind;
    uint8_t creator_key[LEDGER_KEY_BYTES];
    struct ledger_event_key event; /* REVENUE only */
    uint64_t reverses_entry_id;    /* REVERSAL only: the entry reversed, > 0 */
    const struct ledger_posting *postings;
    size_t postings_len; /* 2..LEDGER_ENTRY_POSTINGS_MAX */
};

struct ledger_post_report {
    size_t entries_posted;
    size_t entries_replayed; /* event already posted: nothing written */
    size_t postings_written;
};

/* A payee's balances in one creator's books (credit-normal, in wei). */
struct ledger_payee_balance {
    struct address payee;
    struct u256 earned_wei;    /* unsettled + settled */
    struct u256 settled_wei;   /* net credits of settled:<payee> */
    struct u256 unsettled_wei; /* net credits of payee:<payee> */
};

struct ledger_check_report {
    uint64_t entries;
    uint64_t postings;
    uint64_t unbalanced_entries; /* fewer than two postings, or debits != credits */
    uint64_t duplicate_events;   /* event keys posted more than once */
};

/* Writes the account's name ("vault", "payee:0x<lowercase hex>", ...) into
 * out[LEDGER_ACCOUNT_SIZE]. Pure. */
void ledger_account_name(char out[LEDGER_ACCOUNT_SIZE], const struct ledger_account *a);

/* Posts entries[0..entries_len) inside the caller's open transaction (the
 * deferred balance check runs at the caller's COMMIT). ids_out[entries_len]
 * receives each entry's id, or 0 when its event was already posted;
 * report (may be NULL) the counts. Returns LEDGER_OK, LEDGER_ERR_BAD_INPUT
 * (nothing written), or a database error (the transaction is then aborted:
 * roll it back). ASSERTs that every entry balances. */
WUR enum ledger_result ledger_post_entries(struct ledger_post_report *report, uint64_t *ids_out,
                                           struct pg_session *pc,
                                           const struct ledger_entry *entries, size_t entries_len,
                                           struct err *e);

/* ledger_post_entries() in a transaction of its own (READ COMMITTED),
 * retried up to LEDGER_TX_ATTEMPTS times on serialization failures. On any
 * failure nothing is stored. The session must not be in a transaction. */
WUR enum ledger_result ledger_post_batch(struct ledger_post_report *report, uint64_t *ids_out,
                                         struct pg_session *pc, const struct ledger_entry *entries,
                                         size_t entries_len, struct err *e);

/* The balances of every payee in creator_key's books, ordered by address,
 * into out[0..out_cap); *out_len receives the count. Returns LEDGER_OK,
 * LEDGER_ERR_TOO_MANY (more payees than out_cap; *out_len = 0),
 * LEDGER_ERR_CORRUPT (a negative or unparsable balance) or a database
 * error. */
WUR enum ledger_result ledger_payee_balances(struct ledger_payee_balance *out, size_t out_cap,
                                             size_t *out_len, struct pg_session *pc,
                                             const uint8_t creator_key[LEDGER_KEY_BYTES],
                                             struct err *e);

/* Checks the whole journal: every entry has at least two postings and
 * balances, and no event key is posted twice. Fills *out; returns LEDGER_OK
 * when all hold, LEDGER_ERR_INVARIANT (e names the first offender) or a
 * database error. For tests and audits: it reads every posting. */
WUR enum ledger_result ledger_check_invariants(struct ledger_check_report *out,
                                               struct pg_session *pc, struct err *e);

#endif
