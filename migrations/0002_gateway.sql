-- 0002_gateway.sql - what the streaming gateway reads: creators, their
-- registered pass contracts, streams with their access rules, recordings and
-- their segments, and tips. The settlement service's REST API writes
-- creators, passes and streams (docs/architecture.md); the gateway's ingest
-- writes recordings and segments, and the gateway's chain follower and
-- POST /v1/streams/{id}/tips write tips.
--
-- Conventions: addresses are bytea(20), hashes and on-chain keys bytea(32),
-- wei numeric(78,0) (u256), ids lowercase UUIDs. The runner wraps this file
-- in a transaction.

CREATE TABLE creators (
    id          uuid        PRIMARY KEY,
    owner       bytea       NOT NULL CHECK (octet_length(owner) = 20),
    -- keccak256(bytes(id::text)): checked in C when written
    creator_key bytea       NOT NULL UNIQUE CHECK (octet_length(creator_key) = 32),
    name        text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Pass contracts registered to a creator: only their RevenueReceived and
-- Transfer logs count for that creator.
CREATE TABLE passes (
    contract     bytea         PRIMARY KEY CHECK (octet_length(contract) = 20),
    creator_id   uuid          NOT NULL REFERENCES creators (id),
    name         text          NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    symbol       text          NOT NULL CHECK (char_length(symbol) BETWEEN 1 AND 20),
    price_wei    numeric(78,0) NOT NULL CHECK (price_wei > 0 AND price_wei < 2::numeric ^ 256),
    max_supply   numeric(78,0) NOT NULL CHECK (max_supply > 0 AND max_supply < 2::numeric ^ 256),
    royalty_bps  integer       NOT NULL CHECK (royalty_bps BETWEEN 0 AND 10000),
    created_at   timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX passes_creator_idx ON passes (creator_id);

CREATE TABLE streams (
    id              uuid          PRIMARY KEY,
    creator_id      uuid          NOT NULL REFERENCES creators (id),
    -- keccak256(bytes(id::text))
    stream_key      bytea         NOT NULL UNIQUE CHECK (octet_length(stream_key) = 32),
    title           text          NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    status          text          NOT NULL DEFAULT 'created'
                                  CHECK (status IN ('created', 'live', 'ended')),
    -- NULL: tips never unlock this stream
    tip_min_wei     numeric(78,0) CHECK (tip_min_wei > 0 AND tip_min_wei < 2::numeric ^ 256),
    -- sha256 of the ingest key; the key itself is shown once and never stored
    ingest_key_hash bytea         NOT NULL CHECK (octet_length(ingest_key_hash) = 32),
    created_at      timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX streams_creator_idx ON streams (creator_id);

-- Access rule: holding at least min_balance tokens of `contract` unlocks the stream.
CREATE TABLE stream_passes (
    stream_id   uuid          NOT NULL REFERENCES streams (id),
    contract    bytea         NOT NULL REFERENCES passes (contract),
    min_balance numeric(78,0) NOT NULL CHECK (min_balance >= 1 AND min_balance < 2::numeric ^ 256),
    PRIMARY KEY (stream_id, contract)
);
CREATE INDEX stream_passes_contract_idx ON stream_passes (contract);

-- One recording per stream: created by the first ingested playlist, ended by
-- a playlist carrying #EXT-X-ENDLIST, anchored on-chain by settlement.
CREATE TABLE recordings (
    stream_id      uuid        PRIMARY KEY REFERENCES streams (id),
    status         text        NOT NULL DEFAULT 'recording'
                               CHECK (status IN ('recording', 'ended', 'anchored')),
    -- rendition directory names in master-playlist order (index = rendition index)
    renditions     text[]      NOT NULL DEFAULT '{}',
    started_at     timestamptz NOT NULL DEFAULT now(),
    ended_at       timestamptz,
    merkle_root    bytea       CHECK (octet_length(merkle_root) = 32),
    anchor_tx_hash bytea       CHECK (octet_length(anchor_tx_hash) = 32),
    anchor_block   bigint      CHECK (anchor_block >= 0),
    CHECK ((status = 'recording') = (ended_at IS NULL)),
    CHECK ((status = 'anchored') = (merkle_root IS NOT NULL))
);

-- Every accepted segment, recorded before any viewer can fetch it. Rows are
-- evidence: never updated or deleted by the application.
CREATE TABLE segments (
    stream_id       uuid        NOT NULL REFERENCES recordings (stream_id),
    rendition_index integer     NOT NULL CHECK (rendition_index BETWEEN 0 AND 31),
    rendition       text        NOT NULL CHECK (rendition ~ '^[A-Za-z0-9_-]{1,32}$'),
    media_sequence  bigint      NOT NULL CHECK (media_sequence >= 0),
    name            text        NOT NULL CHECK (name ~ '^[A-Za-z0-9_-]{1,64}\.[a-z0-9]{2,4}$'),
    sha256          bytea       NOT NULL CHECK (octet_length(sha256) = 32),
    bytes           bigint      NOT NULL CHECK (bytes > 0),
    duration_us     bigint      NOT NULL CHECK (duration_us >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_id, rendition_index, media_sequence),
    UNIQUE (stream_id, rendition, name)
);

-- Tips to a stream (vault.tip(creatorKey, streamKey) -> Tipped), credited at
-- once from a receipt (POST /v1/streams/{id}/tips) or found by the chain
-- follower; one row per log whichever comes first.
CREATE TABLE tips (
    chain_id     bigint        NOT NULL CHECK (chain_id > 0),
    tx_hash      bytea         NOT NULL CHECK (octet_length(tx_hash) = 32),
    log_index    integer       NOT NULL CHECK (log_index >= 0),
    block_number bigint        NOT NULL CHECK (block_number >= 0),
    block_hash   bytea         NOT NULL CHECK (octet_length(block_hash) = 32),
    creator_key  bytea         NOT NULL CHECK (octet_length(creator_key) = 32),
    stream_key   bytea         NOT NULL CHECK (octet_length(stream_key) = 32),
    from_address bytea         NOT NULL CHECK (octet_length(from_address) = 20),
    amount_wei   numeric(78,0) NOT NULL CHECK (amount_wei > 0 AND amount_wei < 2::numeric ^ 256),
    source       text          NOT NULL CHECK (source IN ('receipt', 'follow')),
    created_at   timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, tx_hash, log_index)
);
CREATE INDEX tips_stream_from_idx ON tips (stream_key, from_address);
CREATE INDEX tips_block_idx ON tips (chain_id, block_number);

-- Where the gateway's chain follower stands (one row per follower name), so
-- a restart resumes instead of rescanning.
CREATE TABLE follow_cursors (
    name         text        PRIMARY KEY CHECK (name ~ '^[a-z_]{1,32}$'),
    chain_id     bigint      NOT NULL CHECK (chain_id > 0),
    block_number bigint      NOT NULL CHECK (block_number >= 0),
    block_hash   bytea       NOT NULL CHECK (octet_length(block_hash) = 32),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Segment rows are evidence for the recording's anchored Merkle root: refuse
-- any UPDATE or DELETE, whoever asks.
CREATE FUNCTION segments_are_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'segments are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER segments_append_only
    BEFORE UPDATE OR DELETE ON segments
    FOR EACH ROW EXECUTE FUNCTION segments_are_append_only();
