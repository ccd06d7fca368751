-- 0004_indexer.sql - the settlement indexer's derived state
-- (services/settlement/indexer.c; docs/architecture.md "Invariants": Reorgs).
--
-- revenue_events: every RevenueReceived and Tipped log of the vault the
-- indexer has seen, with the block it came from. status:
--   pending    seen, fewer than CONFIRMATIONS blocks on top; not in the ledger
--   confirmed  posted to the ledger (ledger_entry_id; NULL when the entry was
--              already posted by an earlier run: the ledger's event key is
--              UNIQUE, so a replay writes nothing)
--   orphaned   its block was replaced by a reorg before it was confirmed
-- attribution: 'creator' when the source is a pass registered to the
-- creator (RevenueReceived) or the stream is one of the creator's streams
-- (Tipped); 'unattributed' otherwise (credited to the 'unattributed'
-- account, never to payees). split_version: the version the confirmed
-- event was split by (NULL for unattributed, or a creator without a split
-- version effective at the block, which is then posted as unattributed).
-- One live (non-orphaned) row per event key (chain_id, tx_hash, log_index).
--
-- indexer_cursor: one row per indexer (name): the chain, the vault, the
-- next block to read, and confirmed_through, the highest block whose events
-- are posted: a reorg at or below it is deeper than CONFIRMATIONS and halts
-- the indexer. indexer_blocks: the recent blocks it delivered (number,
-- hash), the follower's reorg window, rewritten with the cursor in the same
-- transaction as the postings.
--
-- Conventions as in 0002: addresses bytea(20), hashes and keys bytea(32),
-- wei numeric(78,0).

CREATE TABLE revenue_events (
    id              bigserial     PRIMARY KEY,
    chain_id        bigint        NOT NULL CHECK (chain_id > 0),
    tx_hash         bytea         NOT NULL CHECK (octet_length(tx_hash) = 32),
    log_index       integer       NOT NULL CHECK (log_index >= 0),
    block_number    bigint        NOT NULL CHECK (block_number >= 0),
    block_hash      bytea         NOT NULL CHECK (octet_length(block_hash) = 32),
    event           text          NOT NULL CHECK (event IN ('revenue_received', 'tipped')),
    creator_key     bytea         NOT NULL CHECK (octet_length(creator_key) = 32),
    source          bytea         CHECK (octet_length(source) = 20),      -- RevenueReceived
    kind            smallint      CHECK (kind BETWEEN 0 AND 255),         -- RevenueReceived
    stream_key      bytea         CHECK (octet_length(stream_key) = 32),  -- Tipped
    payer           bytea         NOT NULL CHECK (octet_length(payer) = 20),
    amount_wei      numeric(78,0) NOT NULL CHECK (amount_wei > 0 AND amount_wei < 2::numeric ^ 256),
    attribution     text          NOT NULL CHECK (attribution IN ('creator', 'unattributed')),
    status          text          NOT NULL DEFAULT 'pending'
                                  CHECK (status IN ('pending', 'confirmed', 'orphaned')),
    split_version   integer,
    ledger_entry_id bigint        CHECK (ledger_entry_id > 0), -- ledger_entries.id (no FK:
                                  -- the journal refuses TRUNCATE by its own trigger)
    seen_at         timestamptz   NOT NULL DEFAULT now(),
    CHECK ((event = 'revenue_received') = (source IS NOT NULL AND kind IS NOT NULL)),
    CHECK ((event = 'tipped') = (stream_key IS NOT NULL))
);
CREATE UNIQUE INDEX revenue_events_live_key
    ON revenue_events (chain_id, tx_hash, log_index) WHERE status <> 'orphaned';
CREATE INDEX revenue_events_pending_idx
    ON revenue_events (block_number, log_index) WHERE status = 'pending';
CREATE INDEX revenue_events_creator_idx ON revenue_events (creator_key, block_number);

CREATE TABLE indexer_cursor (
    name              text   PRIMARY KEY CHECK (name ~ '^[a-z_]{1,32}$'),
    chain_id          bigint NOT NULL CHECK (chain_id > 0),
    vault             bytea  NOT NULL CHECK (octet_length(vault) = 20),
    next_block        bigint NOT NULL CHECK (next_block >= 0),
    confirmed_through bigint CHECK (confirmed_through >= 0)
);

CREATE TABLE indexer_blocks (
    name        text   NOT NULL REFERENCES indexer_cursor (name),
    number      bigint NOT NULL CHECK (number >= 0),
    hash        bytea  NOT NULL CHECK (octet_length(hash) = 32),
    PRIMARY KEY (name, number)
);
