-- 0009_batches.sql - settlement batches (services/settlement/batch.c;
-- docs/architecture.md "Settlement batches").
--
-- settlements: one row per batch. id is the API's lowercase UUID and
-- batch_key = keccak256(bytes(id::text)), the vault's batchKey (UNIQUE).
-- merkle_root is the OpenZeppelin StandardMerkleTree root of the leaves
-- (types ["address","uint256"]), total_wei their sum, leaf_count their
-- number; all four are fixed when the batch is created (a trigger refuses
-- any change to them). The chain transaction is the transaction manager's
-- row with purpose 'settle:<id>' (0006), submitted in the same database
-- transaction as the batch. status:
--   pending    created; its settle transaction is signed, not yet broadcast
--   submitted  the settle transaction is broadcast (or mined, unconfirmed)
--   anchored   SettlementAnchored of the batch is confirmed; claims not open
--   claimable  the chain's latest block time is at or past claimable_at
--   cancelled  SettlementCancelled confirmed (the guardian's veto): every
--              leaf reversed in the ledger
--   reclaimed  SettlementReclaimed confirmed (claim window closed): the
--              unclaimed leaves reversed (reclaimed_wei = their sum)
--   failed     the settle transaction reverted: every leaf reversed
-- The last three are final. tx_hash: the settle transaction's first signed
-- attempt at creation, its latest attempt while submitted (a fee bump
-- replaces it), the mined one once anchored or failed. block_number and
-- claimable_at (unix seconds, the vault's claimableAt) come from the
-- confirmed SettlementAnchored log (block_number: the reverted
-- transaction's block for a failed batch).
-- seq orders a creator's batches (newest first in the API).
--
-- settlement_leaves: one row per payee of a batch, holding the amount moved
-- from payee:<addr> to settled:<addr> by the batch's SETTLEMENT ledger entry
-- (ledger_entry_id; one entry per leaf) and, once the batch is cancelled,
-- failed or reclaimed unclaimed, the REVERSAL entry that moved it back
-- (reversal_entry_id). claimed: a confirmed Claimed log of the vault for
-- (batch_key, payee). payee, amount_wei and ledger_entry_id never change
-- (trigger); the ledger rows they point to are append-only (0003).
--
-- settlement_event_cursor: how far the batch job has applied the vault's
-- confirmed SettlementAnchored, SettlementCancelled, SettlementReclaimed and
-- Claimed logs (chain_events, 0007), per chain and vault: the last applied
-- (block_number, log_index); (0, -1) before any. Confirmation runs in block
-- order, so every confirmed log after the cursor is new. The job holds the
-- row (FOR UPDATE SKIP LOCKED) while it applies a page of logs and moves it
-- in the same transaction.
--
-- Conventions as in 0002: addresses bytea(20), hashes and keys bytea(32),
-- wei numeric(78,0).

CREATE TABLE settlements (
    id            uuid          PRIMARY KEY,
    seq           bigserial     NOT NULL UNIQUE,
    creator_id    uuid          NOT NULL REFERENCES creators (id),
    creator_key   bytea         NOT NULL CHECK (octet_length(creator_key) = 32),
    batch_key     bytea         NOT NULL UNIQUE CHECK (octet_length(batch_key) = 32),
    merkle_root   bytea         NOT NULL CHECK (octet_length(merkle_root) = 32),
    total_wei     numeric(78,0) NOT NULL CHECK (total_wei > 0 AND total_wei < 2::numeric ^ 256),
    leaf_count    integer       NOT NULL CHECK (leaf_count BETWEEN 1 AND 10000),
    status        text          NOT NULL DEFAULT 'pending'
                                CHECK (status IN ('pending', 'submitted', 'anchored', 'claimable',
                                                  'cancelled', 'reclaimed', 'failed')),
    tx_hash       bytea         CHECK (octet_length(tx_hash) = 32),
    block_number  bigint        CHECK (block_number >= 0),
    claimable_at  bigint        CHECK (claimable_at >= 0),
    reclaimed_wei numeric(78,0) CHECK (reclaimed_wei >= 0),
    created_at    timestamptz   NOT NULL DEFAULT now(),
    updated_at    timestamptz   NOT NULL DEFAULT now(),
    CHECK ((status IN ('anchored', 'claimable', 'reclaimed')) <=
           (block_number IS NOT NULL AND claimable_at IS NOT NULL)),
    CHECK ((status = 'reclaimed') = (reclaimed_wei IS NOT NULL))
);
CREATE INDEX settlements_creator_idx ON settlements (creator_id, seq DESC);
CREATE INDEX settlements_open_idx ON settlements (seq)
    WHERE status IN ('pending', 'submitted', 'anchored', 'claimable');

CREATE TABLE settlement_leaves (
    settlement_id     uuid          NOT NULL REFERENCES settlements (id),
    payee             bytea         NOT NULL CHECK (octet_length(payee) = 20),
    amount_wei        numeric(78,0) NOT NULL
                                    CHECK (amount_wei > 0 AND amount_wei < 2::numeric ^ 256),
    ledger_entry_id   bigint        NOT NULL UNIQUE REFERENCES ledger_entries (id),
    reversal_entry_id bigint        UNIQUE REFERENCES ledger_entries (id),
    claimed           boolean       NOT NULL DEFAULT false,
    claimed_tx_hash   bytea         CHECK (octet_length(claimed_tx_hash) = 32),
    claimed_block     bigint        CHECK (claimed_block >= 0),
    PRIMARY KEY (settlement_id, payee),
    CHECK (claimed = (claimed_tx_hash IS NOT NULL AND claimed_block IS NOT NULL)),
    CHECK (NOT (claimed AND reversal_entry_id IS NOT NULL))
);
CREATE INDEX settlement_leaves_payee_idx ON settlement_leaves (payee) WHERE claimed;

-- What a batch is never changes; what happens to it does. Rows are never
-- deleted. The trigger's arguments name the fixed columns.
CREATE FUNCTION settlement_rows_fixed() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION '% rows are never deleted', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(TG_ARGV) AS c(name)
                WHERE to_jsonb(NEW) -> c.name IS DISTINCT FROM to_jsonb(OLD) -> c.name) THEN
        RAISE EXCEPTION '% of % are fixed', array_to_string(TG_ARGV, ', '), TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER settlements_fixed BEFORE UPDATE OR DELETE ON settlements
    FOR EACH ROW EXECUTE FUNCTION settlement_rows_fixed(
        'id', 'seq', 'creator_id', 'creator_key', 'batch_key', 'merkle_root', 'total_wei',
        'leaf_count');
CREATE TRIGGER settlement_leaves_fixed BEFORE UPDATE OR DELETE ON settlement_leaves
    FOR EACH ROW EXECUTE FUNCTION settlement_rows_fixed(
        'settlement_id', 'payee', 'amount_wei', 'ledger_entry_id');

CREATE TABLE settlement_event_cursor (
    chain_id     bigint  NOT NULL CHECK (chain_id > 0),
    vault        bytea   NOT NULL CHECK (octet_length(vault) = 20),
    block_number bigint  NOT NULL CHECK (block_number >= 0),
    log_index    integer NOT NULL CHECK (log_index >= -1),
    PRIMARY KEY (chain_id, vault)
);
