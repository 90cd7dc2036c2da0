-- Labels: a name an owner points at one version of their prompt ("production", "staging"),
-- so an application fetches GET /api/prompts/{id}?label=production and the owner decides
-- which text it gets by moving the label, without the application changing.
CREATE TABLE prompt_labels (
    prompt_id BIGINT NOT NULL,
    name VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (prompt_id, name)
);
