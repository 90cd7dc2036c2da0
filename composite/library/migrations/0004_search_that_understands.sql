-- Search that understands more: Snowball stems, programming names, CJK bigrams, folded
-- accents, title and tag matches marked, a term dictionary for typos, versions for caches.
-- The postings of the old tokeniser cannot be converted in SQL: they are dropped here and
-- rebuilt at start by composite.library.search.catch_up, which sees no tokeniser recorded.
DROP TABLE search_terms;
CREATE TABLE search_terms (
    prompt_id BIGINT NOT NULL,
    term VARCHAR NOT NULL,
    tf DOUBLE NOT NULL,          -- field-weighted frequency
    doc_len DOUBLE NOT NULL,     -- the prompt's weighted length, for BM25's length normalisation
    head BOOLEAN NOT NULL        -- the term is in the title or the tags
);
CREATE TABLE search_vocab (
    term VARCHAR PRIMARY KEY,
    word VARCHAR NOT NULL,       -- a word the term came from, to show a corrected query
    df BIGINT NOT NULL,          -- prompts holding the term, private ones too
    version BIGINT NOT NULL      -- bumped by every write that adds or drops one of its postings
);
CREATE TABLE search_state (
    tokeniser VARCHAR NOT NULL,  -- what wrote the postings; another value means rebuild
    version BIGINT NOT NULL      -- bumped by every index write: visibility, owners, counts
);
-- No tokeniser yet: the first start builds the index (instantly, for a new database).
INSERT INTO search_state VALUES ('', 0);
UPDATE prompts SET search_len = 0;
