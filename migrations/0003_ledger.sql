-- 0003_ledger.sql - the settlement service's storage, part 1: creators'
-- royalty split versions and the double-entry journal (docs/architecture.md,
-- "Invariants": Ledger and Splits). Written by services/settlement/ledger.c.
--
-- Split versions. A creator's shares are immutable versions numbered 1, 2,
-- ... per creator; a version applies to revenue from its
-- effective_from_block on (strictly later than the previous version's), so
-- the version effective at block B is the one with the greatest
-- effective_from_block <= B. Its shares are 1..100 distinct payees with
-- bps > 0 summing to exactly 10000, checked at COMMIT by a deferred
-- constraint trigger (the version and its shares are written in one
-- transaction). Adding a share to a committed version fails that same check;
-- UPDATE and DELETE are refused.
--
-- Journal. An entry is one business event; its postings move wei between
-- accounts, each posting a positive amount on the debit or the credit side.
-- Every entry touched by a transaction must balance (sum of debits = sum of
-- credits, at least two postings) when the transaction commits: a deferred
-- constraint trigger checks it, and ledger.c asserts it before writing.
-- Entries and postings are append-only (UPDATE, DELETE, TRUNCATE refused):
-- a mistake is corrected by a reversing entry (kind 'reversal', naming the
-- entry it reverses, at most one reversal per entry). A revenue entry
-- carries its on-chain event key (chain_id, tx_hash, log_index), UNIQUE, so
-- an event is posted at most once; only confirmed events are posted, so a
-- reorg never needs a reversal and an event key never needs re-posting.
--
-- The journal is kept per creator_key (keccak256 of the creator id, the
-- vault's key), not per creators.id: the vault can receive revenue for a key
-- this database does not know, and that revenue is still booked (as
-- unattributed) so that the ledger equals the vault's receivedOf(key).
--
-- Chart of accounts (per creator_key; text, checked by a CHECK):
--   vault              asset: wei the vault has received on chain for the
--                      creator (debit-normal).
--   unattributed       suspense: revenue received for the creator but not
--                      attributable to a registered pass or stream; credited
--                      to nobody (credit-normal).
--   payee:0x<addr>     liability: earned by the payee, not yet settled
--                      (credit-normal). Address in lowercase hex.
--   settled:0x<addr>   liability: included in a settlement batch published
--                      to the vault, claimable on chain (credit-normal).
-- Entries by kind:
--   revenue     debit vault; credit payee:* by the split (or unattributed).
--   settlement  debit payee:X; credit settled:X.
--   reversal    the postings of the reversed entry with sides swapped.
-- A payee's balances: unsettled = credits - debits of payee:X, settled =
-- credits - debits of settled:X, earned = unsettled + settled.
--
-- Conventions as in 0002: addresses bytea(20) (in account names: lowercase
-- hex text), hashes and keys bytea(32), wei numeric(78,0) (u256). The runner
-- wraps this file in a transaction.

-- ---- split versions ---------------------------------------------------------

CREATE TABLE split_versions (
    creator_id           uuid        NOT NULL REFERENCES creators (id),
    version              integer     NOT NULL CHECK (version >= 1),
    effective_from_block bigint      NOT NULL CHECK (effective_from_block >= 0),
    created_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (creator_id, version),
    UNIQUE (creator_id, effective_from_block)
);

CREATE TABLE split_shares (
    creator_id uuid    NOT NULL,
    version    integer NOT NULL,
    payee      bytea   NOT NULL CHECK (octet_length(payee) = 20),
    role       text    NOT NULL CHECK (char_length(role) <= 64),
    bps        integer NOT NULL CHECK (bps > 0 AND bps <= 10000),
    PRIMARY KEY (creator_id, version, payee),
    FOREIGN KEY (creator_id, version) REFERENCES split_versions (creator_id, version)
);

-- A new version is the next number and starts after the previous one.
CREATE FUNCTION split_version_is_next() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    last_version integer;
    last_block   bigint;
BEGIN
    SELECT version, effective_from_block INTO last_version, last_block
      FROM split_versions WHERE creator_id = NEW.creator_id
     ORDER BY version DESC LIMIT 1;
    IF NEW.version <> coalesce(last_version, 0) + 1 THEN
        RAISE EXCEPTION 'split version % of creator % is not the next (last %)',
            NEW.version, NEW.creator_id, coalesce(last_version, 0)
            USING ERRCODE = 'check_violation';
    END IF;
    IF last_block IS NOT NULL AND NEW.effective_from_block <= last_block THEN
        RAISE EXCEPTION 'split version % of creator % starts at block %, not after %',
            NEW.version, NEW.creator_id, NEW.effective_from_block, last_block
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER split_versions_next
    BEFORE INSERT ON split_versions
    FOR EACH ROW EXECUTE FUNCTION split_version_is_next();

-- At COMMIT: every version written has 1..100 shares summing to 10000 bps.
CREATE FUNCTION split_version_sums() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    n     bigint;
    total bigint;
BEGIN
    SELECT count(*), coalesce(sum(bps), 0) INTO n, total
      FROM split_shares WHERE creator_id = NEW.creator_id AND version = NEW.version;
    IF n < 1 OR n > 100 OR total <> 10000 THEN
        RAISE EXCEPTION 'split version % of creator % has % shares summing to % bps, not 10000',
            NEW.version, NEW.creator_id, n, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER split_versions_sum
    AFTER INSERT ON split_versions DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION split_version_sums();
CREATE CONSTRAINT TRIGGER split_shares_sum
    AFTER INSERT ON split_shares DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION split_version_sums();

-- ---- journal ------------------------------------------------------------------

-- ledger.c takes a batch's ids from here before it inserts the batch.
CREATE SEQUENCE ledger_entry_ids AS bigint;

CREATE TABLE ledger_entries (
    id                bigint      PRIMARY KEY DEFAULT nextval('ledger_entry_ids'),
    kind              text        NOT NULL CHECK (kind IN ('revenue', 'settlement', 'reversal')),
    creator_key       bytea       NOT NULL CHECK (octet_length(creator_key) = 32),
    -- the revenue event: all five set for kind 'revenue', none otherwise
    chain_id          bigint      CHECK (chain_id > 0),
    tx_hash           bytea       CHECK (octet_length(tx_hash) = 32),
    log_index         integer     CHECK (log_index >= 0),
    block_number      bigint      CHECK (block_number >= 0),
    block_hash        bytea       CHECK (octet_length(block_hash) = 32),
    reverses_entry_id bigint      UNIQUE REFERENCES ledger_entries (id),
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (num_nulls(chain_id, tx_hash, log_index, block_number, block_hash) IN (0, 5)),
    CHECK ((kind = 'revenue') = (tx_hash IS NOT NULL)),
    CHECK ((kind = 'reversal') = (reverses_entry_id IS NOT NULL)),
    CHECK (reverses_entry_id IS NULL OR reverses_entry_id < id),
    -- an event is posted at most once (NULL keys never collide)
    UNIQUE (chain_id, tx_hash, log_index),
    -- target of the postings' (entry_id, creator_key) foreign key
    UNIQUE (id, creator_key)
);

CREATE TABLE ledger_postings (
    entry_id    bigint        NOT NULL,
    line        smallint      NOT NULL CHECK (line BETWEEN 0 AND 127),
    -- the entry's creator_key, repeated for the per-payee balance index
    creator_key bytea         NOT NULL,
    account     text          COLLATE "C" NOT NULL
                              CHECK (account ~ '^(vault|unattributed|(payee|settled):0x[0-9a-f]{40})$'),
    side        text          NOT NULL CHECK (side IN ('debit', 'credit')),
    amount_wei  numeric(78,0) NOT NULL CHECK (amount_wei > 0 AND amount_wei < 2::numeric ^ 256),
    PRIMARY KEY (entry_id, line),
    FOREIGN KEY (entry_id, creator_key) REFERENCES ledger_entries (id, creator_key)
);
-- Balances per payee of a creator: WHERE creator_key = $1 AND account LIKE 'payee:%'.
CREATE INDEX ledger_postings_account_idx
    ON ledger_postings (creator_key, account) INCLUDE (side, amount_wei);

-- The balance check of one entry: at least two postings, debits = credits.
CREATE FUNCTION ledger_entry_check(entry bigint) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    n       bigint;
    debits  numeric;
    credits numeric;
BEGIN
    SELECT count(*),
           coalesce(sum(amount_wei) FILTER (WHERE side = 'debit'), 0),
           coalesce(sum(amount_wei) FILTER (WHERE side = 'credit'), 0)
      INTO n, debits, credits
      FROM ledger_postings WHERE entry_id = entry;
    IF n < 2 OR debits <> credits THEN
        RAISE EXCEPTION 'ledger entry % does not balance: % postings, debits %, credits %',
            entry, n, debits, credits
            USING ERRCODE = 'check_violation';
    END IF;
END;
$$;

-- Deferred, once per inserted entry and per inserted posting; runs at COMMIT
-- (or SET CONSTRAINTS ... IMMEDIATE) on the final rows. The postings of a
-- batch arrive grouped by entry, so a check is skipped when the previous one
-- in this round was of the same entry (ledger.checked_entry, local to the
-- transaction). Every INSERT into ledger_postings clears that mark
-- (ledger_postings_inserted), so an entry that gains postings after a check
-- is checked again.
CREATE FUNCTION ledger_entry_balances() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    entry bigint;
BEGIN
    IF TG_TABLE_NAME = 'ledger_entries' THEN
        entry := NEW.id;
    ELSE
        entry := NEW.entry_id;
    END IF;
    IF current_setting('ledger.checked_entry', true) = entry::text THEN
        RETURN NULL;
    END IF;
    PERFORM ledger_entry_check(entry);
    PERFORM set_config('ledger.checked_entry', entry::text, true);
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER ledger_entries_balance
    AFTER INSERT ON ledger_entries DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_balances();
CREATE CONSTRAINT TRIGGER ledger_postings_balance
    AFTER INSERT ON ledger_postings DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_balances();

CREATE FUNCTION ledger_postings_inserted() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ledger.checked_entry', '', true);
    RETURN NULL;
END;
$$;
CREATE TRIGGER ledger_postings_clear_mark
    AFTER INSERT ON ledger_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_postings_inserted();

-- ---- append-only ----------------------------------------------------------------

-- Journal rows and split versions are history: refuse any UPDATE, DELETE or
-- TRUNCATE, whoever asks (triggers <table>_append_only, <table>_no_truncate).
CREATE FUNCTION ledger_is_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['ledger_entries', 'ledger_postings', 'split_versions',
                             'split_shares'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I'
                       ' FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only()',
                       t || '_append_only', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_append_only()',
                       t || '_no_truncate', t);
    END LOOP;
END;
$$;
