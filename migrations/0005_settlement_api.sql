-- 0005_settlement_api.sql - what the settlement service's REST API needs
-- beyond 0002 and 0003: the Idempotency-Key table.
--
-- Every write of the API (POST /v1/creators, PUT .../splits, POST
-- .../streams) may carry an Idempotency-Key. The key is scoped to the
-- signed-in address. The row is inserted (ON CONFLICT DO NOTHING) in the
-- same transaction as the write's effect, so of two concurrent requests with
-- one key, the second waits on the first's row and then replays its answer:
-- exactly one effect, resting on the primary key, never on check-then-insert.
-- request_sha256 = sha256(method "\n" path "\n" body): the same key with
-- another request is refused (422).
--
-- The stored response of POST .../streams holds the stream's ingest key in
-- clear (the replay must return it); rows older than the replay window
-- (24 h) may be deleted by the operator.

CREATE TABLE idempotency_keys (
    owner          bytea       NOT NULL CHECK (octet_length(owner) = 20),
    key            text        NOT NULL CHECK (key ~ '^[\x21-\x7e]{1,255}$'),
    request_sha256 bytea       NOT NULL CHECK (octet_length(request_sha256) = 32),
    status         integer     NOT NULL CHECK (status BETWEEN 200 AND 499),
    content_type   text        NOT NULL CHECK (char_length(content_type) BETWEEN 1 AND 128),
    response       text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
