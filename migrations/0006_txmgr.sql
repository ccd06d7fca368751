-- 0006_txmgr.sql - the transaction manager's storage
-- (services/settlement/txmgr.c, txmgr.h; docs/architecture.md "Invariants":
-- Chain writes). Every chain write of the settlement service is one
-- chain_txs row; what was signed for it is in chain_tx_attempts before any
-- node sees it.
--
-- tx_senders: one row per (chain, sending address). next_nonce is the next
-- nonce the manager hands out. Nonces are allocated here, never taken from
-- the node alone: txmgr_submit() locks the row (SELECT ... FOR UPDATE) in the
-- caller's transaction, takes max(next_nonce, the node's pending count) and
-- stores that + 1, so two submitters (threads, processes) always get
-- distinct consecutive nonces, and a rolled-back submit gives its nonce back.
--
-- chain_txs: one intent, keyed by its caller-chosen purpose (UNIQUE: one
-- intent = one effective transaction, ever; e.g. 'settle:<uuid>'). The
-- payload (to, value, data, gas_limit; to NULL for a contract creation) is
-- fixed at submit and every attempt signs exactly it. nonce is the nonce of
-- every current attempt; it changes only when that nonce was used outside
-- the manager with none of our attempts mined (then the row is re-signed
-- with a fresh one). At most one live row per (chain, sender, nonce).
-- status:
--   signed     stored, never broadcast
--   pending    broadcast (or about to be), not (or no longer) mined
--   mined      a receipt for mined_attempt in block (block_number,
--              block_hash), fewer than CONFIRMATIONS blocks on top; a reorg
--              that drops or moves it returns the row to pending
--   confirmed  final: mined with receipt status 1, CONFIRMATIONS deep
--   reverted   final: mined with receipt status 0, CONFIRMATIONS deep
-- The receipt columns (mined_attempt, block_number, block_hash,
-- receipt_status) are all set exactly when the status is mined, confirmed
-- or reverted.
--
-- chain_tx_attempts: every signed transaction of a row, numbered 1, 2, ...
-- (at most 32): the signed raw bytes (type 0x02, exactly what is broadcast),
-- their keccak hash (UNIQUE), nonce and fees. A replacement (same nonce, same
-- payload) has max fee and tip each at least bump_pct (>= 10) percent above
-- the previous attempt; no max fee is ever above the cap
-- (MAX_FEE_PER_GAS_WEI); the tip never exceeds the max fee. broadcast_at is
-- when the raw bytes were first sent to a node (NULL: never; set before they
-- leave); a replacement is due resend_after_ms after it. Attempts are
-- history: nothing of them changes but broadcast_at, once, and none is
-- deleted.
--
-- Conventions as in 0002: addresses bytea(20), hashes bytea(32), wei
-- numeric(78,0).

CREATE TABLE tx_senders (
    chain_id   bigint NOT NULL CHECK (chain_id > 0),
    address    bytea  NOT NULL CHECK (octet_length(address) = 20),
    next_nonce bigint NOT NULL CHECK (next_nonce >= 0),
    PRIMARY KEY (chain_id, address)
);

CREATE TABLE chain_txs (
    id             bigserial     PRIMARY KEY,
    purpose        text          COLLATE "C" NOT NULL UNIQUE
                                 CHECK (purpose ~ '^[a-z0-9_:.-]{1,96}$'),
    chain_id       bigint        NOT NULL,
    sender         bytea         NOT NULL,
    nonce          bigint        NOT NULL CHECK (nonce >= 0),
    status         text          NOT NULL DEFAULT 'signed'
                                 CHECK (status IN ('signed', 'pending', 'mined', 'confirmed',
                                                   'reverted')),
    is_creation    boolean       NOT NULL,
    to_address     bytea         CHECK (octet_length(to_address) = 20),
    value_wei      numeric(78,0) NOT NULL CHECK (value_wei >= 0 AND value_wei < 2::numeric ^ 256),
    data           bytea         NOT NULL CHECK (octet_length(data) <= 131072),
    gas_limit      bigint        NOT NULL CHECK (gas_limit BETWEEN 21000 AND 30000000),
    mined_attempt  integer       CHECK (mined_attempt BETWEEN 1 AND 32),
    block_number   bigint        CHECK (block_number >= 0),
    block_hash     bytea         CHECK (octet_length(block_hash) = 32),
    receipt_status smallint      CHECK (receipt_status IN (0, 1)),
    created_at     timestamptz   NOT NULL DEFAULT now(),
    updated_at     timestamptz   NOT NULL DEFAULT now(),
    FOREIGN KEY (chain_id, sender) REFERENCES tx_senders (chain_id, address),
    UNIQUE (chain_id, sender, nonce),
    CHECK (is_creation = (to_address IS NULL)),
    CHECK (num_nulls(mined_attempt, block_number, block_hash, receipt_status) IN (0, 4)),
    CHECK ((status IN ('mined', 'confirmed', 'reverted')) = (block_number IS NOT NULL)),
    CHECK (status NOT IN ('confirmed', 'reverted')
           OR receipt_status = CASE status WHEN 'confirmed' THEN 1 ELSE 0 END)
);
-- The driver's rows: unfinished, per sender, in nonce order.
CREATE INDEX chain_txs_open_idx ON chain_txs (chain_id, sender, nonce)
    WHERE status IN ('signed', 'pending', 'mined');

CREATE TABLE chain_tx_attempts (
    tx_id                        bigint        NOT NULL REFERENCES chain_txs (id),
    attempt                      integer       NOT NULL CHECK (attempt BETWEEN 1 AND 32),
    nonce                        bigint        NOT NULL CHECK (nonce >= 0),
    max_fee_per_gas_wei          numeric(78,0) NOT NULL
                                 CHECK (max_fee_per_gas_wei > 0
                                        AND max_fee_per_gas_wei < 2::numeric ^ 64),
    max_priority_fee_per_gas_wei numeric(78,0) NOT NULL
                                 CHECK (max_priority_fee_per_gas_wei >= 0
                                        AND max_priority_fee_per_gas_wei <= max_fee_per_gas_wei),
    raw                          bytea         NOT NULL
                                 CHECK (octet_length(raw) BETWEEN 1 AND 132096),
    tx_hash                      bytea         NOT NULL UNIQUE CHECK (octet_length(tx_hash) = 32),
    created_at                   timestamptz   NOT NULL DEFAULT now(),
    broadcast_at                 timestamptz,
    PRIMARY KEY (tx_id, attempt)
);

-- Attempts are history: refuse DELETE and any UPDATE but setting a NULL
-- broadcast_at.
CREATE FUNCTION chain_tx_attempts_keep() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.broadcast_at IS NULL
       AND (NEW.tx_id, NEW.attempt, NEW.nonce, NEW.max_fee_per_gas_wei,
            NEW.max_priority_fee_per_gas_wei, NEW.raw, NEW.tx_hash, NEW.created_at)
           IS NOT DISTINCT FROM
           (OLD.tx_id, OLD.attempt, OLD.nonce, OLD.max_fee_per_gas_wei,
            OLD.max_priority_fee_per_gas_wei, OLD.raw, OLD.tx_hash, OLD.created_at) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'chain_tx_attempts keeps every signed attempt (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER chain_tx_attempts_keep
    BEFORE UPDATE OR DELETE ON chain_tx_attempts
    FOR EACH ROW EXECUTE FUNCTION chain_tx_attempts_keep();
