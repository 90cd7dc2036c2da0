-- The answers of writes sent with an Idempotency-Key, so that a retry gets the first answer
-- instead of a second write (composite.library.idempotency). A row is written in the same
-- transaction as the write it answers, and kept for 24 hours.
CREATE TABLE idempotency_keys (
    user_id BIGINT NOT NULL,
    key TEXT NOT NULL,
    request_digest BLOB NOT NULL,  -- SHA-256 of the route, its path parameters and its body
    status SMALLINT NOT NULL,
    answer BLOB NOT NULL,          -- the answer's body, zlib-compressed
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, key)
);
