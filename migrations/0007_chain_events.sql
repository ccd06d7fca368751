-- 0007_chain_events.sql - every log of the vault and of every registered
-- pass contract, decoded, and the pass contracts the indexer follows
-- (services/settlement/indexer.c; docs/architecture.md "Invariants": Reorgs).
--
-- chain_events: one row per log the indexer has seen, written in the same
-- transaction as revenue_events and the cursor (0004), with the same
-- discipline. status:
--   pending    seen, fewer than CONFIRMATIONS blocks on top: may still be
--              orphaned
--   confirmed  its block has CONFIRMATIONS blocks on top and is at or below
--              indexer_cursor.confirmed_through: final (a reorg that would
--              replace it halts the indexer instead)
--   orphaned   its block was replaced by a reorg before it was confirmed
-- One live (non-orphaned) row per (chain_id, tx_hash, log_index).
-- contract: the emitting contract (the vault or a pass). event: the ABI
-- event name ('SettlementAnchored', 'Transfer', ...; 'Unknown' for a log
-- whose topic 0 is none of the contract's events: args then hold the raw
-- "topics" and "data"). args: the ABI parameters by name, addresses as 0x
-- lowercase hex, unsigned integers (uint8 too) as decimal strings, bytes32
-- as 0x lowercase hex, bool as JSON true/false.
--
-- indexer_contracts: the pass contracts an indexer (indexer_cursor.name)
-- follows besides the vault. followed_from: the first block whose logs of
-- the contract the follower fetches itself; the blocks before it (from the
-- pass's deploy_block, or the indexer's start block when unknown) are
-- fetched separately ("backfilled"): backfill_next is the next one to
-- fetch, backfill done when backfill_next = followed_from.
--
-- revenue_is_attributed(): the attribution rule of revenue_events (0004),
-- in one place for the indexer's INSERT and its re-check before posting: a
-- 'revenue_received' counts for the creator of creator_key when source is a
-- pass registered to that creator, a 'tipped' when stream_key is one of the
-- creator's streams.
--
-- passes.deploy_block (new, optional): the block the pass contract was
-- deployed in, when the registering side knows it; it bounds the backfill.
--
-- Conventions as in 0002: addresses bytea(20), hashes bytea(32).

CREATE TABLE chain_events (
    id           bigserial   PRIMARY KEY,
    chain_id     bigint      NOT NULL CHECK (chain_id > 0),
    tx_hash      bytea       NOT NULL CHECK (octet_length(tx_hash) = 32),
    log_index    integer     NOT NULL CHECK (log_index >= 0),
    block_number bigint      NOT NULL CHECK (block_number >= 0),
    block_hash   bytea       NOT NULL CHECK (octet_length(block_hash) = 32),
    contract     bytea       NOT NULL CHECK (octet_length(contract) = 20),
    event        text        NOT NULL CHECK (event ~ '^[A-Z][A-Za-z0-9]{0,63}$'),
    args         jsonb       NOT NULL CHECK (jsonb_typeof(args) = 'object'),
    status       text        NOT NULL DEFAULT 'pending'
                             CHECK (status IN ('pending', 'confirmed', 'orphaned')),
    seen_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX chain_events_live_key
    ON chain_events (chain_id, tx_hash, log_index) WHERE status <> 'orphaned';
CREATE INDEX chain_events_pending_idx
    ON chain_events (block_number) WHERE status = 'pending';
-- Part-2 readers: WHERE event = 'SettlementAnchored' AND status = 'confirmed' ...
CREATE INDEX chain_events_event_idx ON chain_events (event, block_number, log_index);
CREATE INDEX chain_events_contract_idx ON chain_events (contract, block_number);

CREATE TABLE indexer_contracts (
    name          text   NOT NULL REFERENCES indexer_cursor (name) ON DELETE CASCADE,
    contract      bytea  NOT NULL CHECK (octet_length(contract) = 20),
    followed_from bigint NOT NULL CHECK (followed_from >= 0),
    backfill_next bigint NOT NULL CHECK (backfill_next >= 0),
    added_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, contract),
    CHECK (backfill_next <= followed_from)
);

ALTER TABLE passes ADD COLUMN deploy_block bigint CHECK (deploy_block >= 0);

CREATE FUNCTION revenue_is_attributed(p_creator_key bytea, p_event text, p_source bytea,
                                      p_stream_key bytea) RETURNS boolean
    LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM creators c
         WHERE c.creator_key = p_creator_key
           AND CASE p_event
                 WHEN 'revenue_received' THEN EXISTS (
                     SELECT 1 FROM passes p WHERE p.creator_id = c.id AND p.contract = p_source)
                 WHEN 'tipped' THEN EXISTS (
                     SELECT 1 FROM streams s
                      WHERE s.creator_id = c.id AND s.stream_key = p_stream_key)
                 ELSE false
               END)
$$;
