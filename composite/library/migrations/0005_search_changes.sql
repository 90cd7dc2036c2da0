-- Which prompts each index write touched, by the search_state version it wrote: a cached
-- posting list behind by a few writes reads just those prompts' postings, not the list.
CREATE TABLE search_changes (
    version BIGINT NOT NULL,
    prompt_id BIGINT NOT NULL
);
