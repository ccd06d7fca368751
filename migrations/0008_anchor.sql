-- 0008_anchor.sql - recording anchors (services/settlement/anchor.c;
-- docs/architecture.md "Recording anchors").
--
-- A recording the gateway ended (recordings.status 'ended', 0002) is
-- anchored on chain with vault.anchorRecording(streamKey, root, count):
-- root is the OpenZeppelin StandardMerkleTree root of its segments, one
-- leaf (rendition index in master order, media sequence, sha256) of types
-- ["uint256","uint256","bytes32"] per segments row.
--
-- recording_anchors: one row per anchored (or being anchored) recording,
-- inserted in the same database transaction as the transaction manager's
-- row of purpose 'anchor:<stream id>' (0006): both or neither, and the
-- primary key and the UNIQUE purpose make it one anchor per recording,
-- whoever tries. What the row fixes never changes (trigger): the tree's
-- root and leaf count, the rendition names in master order (copied from
-- recordings.renditions, or taken from the segments when the gateway never
-- got a master playlist), and the chain and vault it is anchored on. status:
--   submitted  the transaction is signed (then broadcast, mined) but not
--              yet confirmed; recordings.status stays 'ended'
--   anchored   the transaction is confirmed (CONFIRMATIONS blocks) with
--              status 1 and the vault's recordingRoot(streamKey) is the
--              root: tx_hash, block_number, block_hash and block_timestamp
--              (unix seconds) are set, and in the same transaction
--              recordings gets status 'anchored', merkle_root, anchor_tx_hash
--              and anchor_block
--   failed     final: the transaction reverted, or the vault already held
--              another root for the stream (anchored outside this service);
--              `failure` says which; the recording stays 'ended'
--
-- Segments after the end: 0002's store inserts a segment only while its
-- recording is 'recording', but that check alone races with the end (an
-- insert that read 'recording' may commit after the end did). The trigger
-- below closes it: each insert takes a share lock on its recordings row
-- (the end's UPDATE waits for inserts in flight, and an insert waits for
-- an end in flight, then sees it) and is skipped when the recording is no
-- longer 'recording'. So once a recording is 'ended', its segments are
-- exactly the leaves that will be anchored.

CREATE TABLE recording_anchors (
    stream_id       uuid        PRIMARY KEY REFERENCES recordings (stream_id),
    purpose         text        NOT NULL UNIQUE CHECK (purpose = 'anchor:' || stream_id::text),
    stream_key      bytea       NOT NULL CHECK (octet_length(stream_key) = 32),
    merkle_root     bytea       NOT NULL CHECK (octet_length(merkle_root) = 32),
    segment_count   integer     NOT NULL CHECK (segment_count BETWEEN 1 AND 100000),
    renditions      text[]      NOT NULL CHECK (cardinality(renditions) BETWEEN 1 AND 32),
    chain_id        bigint      NOT NULL CHECK (chain_id > 0),
    vault           bytea       NOT NULL CHECK (octet_length(vault) = 20),
    status          text        NOT NULL DEFAULT 'submitted'
                                CHECK (status IN ('submitted', 'anchored', 'failed')),
    tx_hash         bytea       CHECK (octet_length(tx_hash) = 32),
    block_number    bigint      CHECK (block_number >= 0),
    block_hash      bytea       CHECK (octet_length(block_hash) = 32),
    block_timestamp bigint      CHECK (block_timestamp >= 0),
    failure         text        CHECK (char_length(failure) BETWEEN 1 AND 300),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'anchored') = (tx_hash IS NOT NULL AND block_number IS NOT NULL AND
                                    block_hash IS NOT NULL AND block_timestamp IS NOT NULL)),
    CHECK ((status = 'failed') = (failure IS NOT NULL))
);
CREATE INDEX recording_anchors_open_idx ON recording_anchors (created_at)
    WHERE status = 'submitted';

-- What an anchor fixes never changes, and only 'submitted' moves on.
CREATE FUNCTION recording_anchors_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'recording anchors are never deleted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.stream_id <> OLD.stream_id OR NEW.purpose <> OLD.purpose
       OR NEW.stream_key <> OLD.stream_key OR NEW.merkle_root <> OLD.merkle_root
       OR NEW.segment_count <> OLD.segment_count OR NEW.renditions <> OLD.renditions
       OR NEW.chain_id <> OLD.chain_id OR NEW.vault <> OLD.vault
       OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION 'recording anchor % is fixed: only its status moves', OLD.stream_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.status <> 'submitted' AND NEW IS DISTINCT FROM OLD THEN
        RAISE EXCEPTION 'recording anchor % is final (%)', OLD.stream_id, OLD.status
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER recording_anchors_guard
    BEFORE UPDATE OR DELETE ON recording_anchors
    FOR EACH ROW EXECUTE FUNCTION recording_anchors_guard();

-- A segment joins its recording only while it is 'recording' (see the top).
CREATE FUNCTION segments_only_while_recording() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    st text;
BEGIN
    SELECT status INTO st FROM recordings WHERE stream_id = NEW.stream_id FOR SHARE;
    IF st IS DISTINCT FROM 'recording' THEN
        RETURN NULL; -- skipped: the store then reports the conflict
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER segments_only_while_recording
    BEFORE INSERT ON segments
    FOR EACH ROW EXECUTE FUNCTION segments_only_while_recording();
