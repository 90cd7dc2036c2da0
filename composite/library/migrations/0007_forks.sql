-- Forks: a prompt copied into someone's library remembers the prompt it came from, and
-- every prompt counts its forks (kept equal to the prompts naming it, in the same write).
-- DuckDB refuses ADD COLUMN ... NOT NULL on a table that has indexes ("entries that depend
-- on it"), so the two indexes on prompts are dropped and built again around the change.
DROP INDEX prompts_owner;
DROP INDEX prompts_uid;
ALTER TABLE prompts ADD COLUMN forks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE prompts ADD COLUMN source_id BIGINT;  -- the prompt this one was forked from, or NULL
CREATE INDEX prompts_owner ON prompts (owner_id);
CREATE INDEX prompts_uid ON prompts (uid);
