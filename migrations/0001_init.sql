-- 0001_init.sql - SIWE sign-in nonces (docs/architecture.md: GET /v1/auth/nonce).
-- A nonce is issued once, expires after 10 minutes and is consumed by a single
-- successful POST /v1/auth/siwe: consumption is
--   UPDATE auth_nonces SET used_at = now()
--    WHERE nonce = $1 AND used_at IS NULL AND expires_at > now()
-- and only the request that updates one row may sign in. The runner wraps
-- this file in a transaction.

CREATE TABLE auth_nonces (
    -- EIP-4361: at least 8 alphanumeric characters; ours are 8..64.
    nonce      text        PRIMARY KEY CHECK (nonce ~ '^[A-Za-z0-9]{8,64}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    CHECK (expires_at > created_at),
    CHECK (used_at IS NULL OR used_at >= created_at)
);

-- Expired rows are purged in batches by expiry.
CREATE INDEX auth_nonces_expires_at_idx ON auth_nonces (expires_at);
