-- The prompt library: users, their API tokens and website sessions, prompts with
-- every version kept, stars, and the full-text search index.

CREATE SEQUENCE users_id_seq START 1;
CREATE TABLE users (
    id BIGINT PRIMARY KEY DEFAULT nextval('users_id_seq'),
    username VARCHAR NOT NULL,
    username_key VARCHAR NOT NULL UNIQUE,  -- lower-cased: names are unique regardless of case
    password_hash VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE SEQUENCE tokens_id_seq START 1;
CREATE TABLE tokens (
    id BIGINT PRIMARY KEY DEFAULT nextval('tokens_id_seq'),
    user_id BIGINT NOT NULL,
    name VARCHAR NOT NULL,
    token_hash VARCHAR NOT NULL UNIQUE,  -- sha256 of the token; the token itself is shown once
    prefix VARCHAR NOT NULL,             -- first characters, so people can tell tokens apart
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE sessions (
    session_hash VARCHAR PRIMARY KEY,
    user_id BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    expires_at TIMESTAMP NOT NULL
);

CREATE SEQUENCE prompts_id_seq START 1;
CREATE TABLE prompts (
    id BIGINT PRIMARY KEY DEFAULT nextval('prompts_id_seq'),
    uid UUID NOT NULL DEFAULT uuid(),    -- stable across export and import
    owner_id BIGINT NOT NULL,
    title VARCHAR NOT NULL,
    description VARCHAR NOT NULL DEFAULT '',
    body VARCHAR NOT NULL,
    model_hint VARCHAR NOT NULL DEFAULT '',
    tags VARCHAR[] NOT NULL DEFAULT [],
    visibility VARCHAR NOT NULL CHECK (visibility IN ('public', 'private')),
    version INTEGER NOT NULL DEFAULT 1,
    stars INTEGER NOT NULL DEFAULT 0,    -- kept equal to the rows in stars, in the same transaction
    search_len DOUBLE NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE prompt_versions (
    prompt_id BIGINT NOT NULL,
    version INTEGER NOT NULL,
    title VARCHAR NOT NULL,
    description VARCHAR NOT NULL,
    body VARCHAR NOT NULL,
    model_hint VARCHAR NOT NULL,
    tags VARCHAR[] NOT NULL,
    visibility VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (prompt_id, version)
);

CREATE TABLE stars (
    user_id BIGINT NOT NULL,
    prompt_id BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (user_id, prompt_id)
);

-- Inverted index: one row per (prompt, term) with a field-weighted term frequency.
CREATE TABLE search_terms (
    prompt_id BIGINT NOT NULL,
    term VARCHAR NOT NULL,
    tf DOUBLE NOT NULL
);
CREATE INDEX search_terms_term ON search_terms (term);
CREATE INDEX prompts_owner ON prompts (owner_id);
CREATE INDEX prompts_uid ON prompts (uid);
