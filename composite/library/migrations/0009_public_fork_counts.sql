-- A prompt counts its public forks only: a private fork counted told every reader that
-- someone copied the prompt (composite.library.forks). The counts are taken again from the
-- forks themselves; only rows whose count changes are written.
UPDATE prompts SET forks = 0 WHERE forks <> 0;
UPDATE prompts SET forks = f.n
FROM (SELECT source_id, count(*) AS n FROM prompts WHERE source_id IS NOT NULL AND visibility = 'public' GROUP BY source_id) f
WHERE prompts.id = f.source_id;
