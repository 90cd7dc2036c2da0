-- Search and listing that stay fast at a million prompts.
--
-- The ART index on search_terms(term) was never used by the ranked query, which reads every
-- posting of its terms; it only cost memory and time on every write. Postings are found by
-- the row groups' min/max statistics instead, which work best when rows are clustered by term.
DROP INDEX search_terms_term;
-- Each posting carries its prompt's weighted length (kept with the postings by index_prompt),
-- so ranking reads the postings alone instead of joining every hit to prompts.
ALTER TABLE search_terms ADD COLUMN doc_len DOUBLE DEFAULT 0;
UPDATE search_terms SET doc_len = p.search_len FROM prompts p WHERE p.id = search_terms.prompt_id;
