"""Fill a database with N generated prompts in bulk SQL, with the same rows the app would write.

Titles pick topic words evenly; descriptions and bodies follow a Zipf curve over
``bench.vocab``; tags a flatter one. Every draw is a hash of (prompt, position), so a size
always produces the same database. The search index is computed in SQL from a table
that maps each word to ``composite.library.search.terms(word)`` with ``FIELD_WEIGHTS``, which is
exactly what ``composite.library.search.weighted_terms`` does word by word; ``verify`` checks a
sample against the Python indexer. Usage: ``python -m bench.generate N PATH``.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import inspect
import shutil
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from bench import vocab
from composite.db import Database
from composite.library import search, tokens
from composite.library.migrations import MIGRATIONS_DIR

GENERATOR_VERSION = 1
BENCH_USER = "bench"
BENCH_PASSWORD = "bench-password-123"  # noqa: S105 - a fixture of generated databases
# Two hours apart per 1,000 prompts: a 1M-prompt library spans about 80 days per 1,000 users.
SPAN_DAYS = 730
ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = ROOT / "bench" / "cache"

# u(a, b) is a uniform number in [0, 1) from a hash: the same everywhere, on any thread.
MACROS = """
CREATE OR REPLACE TEMP MACRO u(a, b) AS hash(a, b, 7919) / 18446744073709551616.0;
CREATE OR REPLACE TEMP MACRO zipf(a, b, lo, n) AS
    lo + least(n - 1, floor(exp(pow(u(a, b), 2) * ln(n + 1)) - 1)::INTEGER);
CREATE OR REPLACE TEMP MACRO flat_zipf(a, b, n) AS least(n - 1, floor(exp(u(a, b) * ln(n + 1)) - 1)::INTEGER);
CREATE OR REPLACE TEMP MACRO pick(a, b, lo, n) AS lo + least(n - 1, floor(u(a, b) * n)::INTEGER);
"""

GENERATE = """
CREATE TEMP TABLE gen AS
SELECT id,
       1 + least(?users - 1, floor(exp(u(id, -1) * ln(?users + 1)) - 1)::BIGINT) AS owner_id,
       list_transform(range(2 + floor(u(id, -2) * 6)::INTEGER),
                      lambda k: pick(id, 1000 + k, ?domain_lo, ?domain_n)) AS title_w,
       list_transform(range(floor(u(id, -3) * 24)::INTEGER),
                      lambda k: zipf(id, 2000 + k, 0, ?vocab_n)) AS desc_w,
       list_transform(range(20 + floor(600 * pow(u(id, -4), 2.5))::INTEGER),
                      lambda k: zipf(id, 10000 + k, 0, ?vocab_n)) AS body_w,
       list_distinct(list_transform(range(1 + floor(u(id, -5) * 4)::INTEGER),
                      lambda k: flat_zipf(id, 3000 + k, ?tags_n))) AS tag_w,
       floor(u(id, -6) * ?hints_n)::INTEGER AS hint,
       CASE WHEN u(id, -7) < 0.05 THEN 'private' ELSE 'public' END AS visibility,
       floor(pow(u(id, -8), 6) * 20)::INTEGER AS stars,
       TIMESTAMP '2024-01-01' + to_microseconds((id::DOUBLE * ?span_us / ?n)::BIGINT) AS created_at
FROM range(1, ?n + 1) t(id)
"""

POSTINGS = """
CREATE TEMP TABLE postings AS
WITH words AS (
    SELECT id, unnest(title_w) AS w, 3.0 AS weight FROM gen
    UNION ALL SELECT id, unnest(desc_w), 2.0 FROM gen
    UNION ALL SELECT id, unnest(body_w), 1.0 FROM gen
)
SELECT id AS prompt_id, term, sum(weight) AS tf, bool_or(head) AS head FROM (
    SELECT id, t.term, weight, weight = 3.0 AS head FROM words JOIN word_terms t ON t.w = words.w
    UNION ALL
    SELECT id, t.term, 3.0, true FROM (SELECT id, unnest(tag_w) AS w FROM gen) g JOIN tag_terms t ON t.w = g.w
)
GROUP BY prompt_id, term
"""


def cache_key(n: int) -> str:
    """Changes whenever the generator, the tokeniser or the schema changes."""
    digest = hashlib.sha256(str(GENERATOR_VERSION).encode())
    sources = [
        Path(__file__),
        Path(vocab.__file__),
        *sorted((ROOT / "composite" / "library" / "migrations").glob("*.sql")),
        Path(tokens.__file__),
    ]
    for source in sources:
        digest.update(source.name.encode() + source.read_bytes())
    # The tokeniser and the weights decide the index rows; the rest of search.py does not.
    for function in (search.prompt_postings,):
        digest.update(_logic(function).encode())
    digest.update(repr((search.TOKENISER, search.FIELD_WEIGHTS, search.HEAD_FIELDS)).encode())
    return f"prompts-{n}-{digest.hexdigest()[:10]}"


def _logic(function: Callable[..., object]) -> str:
    """A function's code without its docstring and comments, so rewording them keeps the cache."""
    node = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0]
    assert isinstance(node, ast.FunctionDef)
    if ast.get_docstring(node) is not None:
        node.body = node.body[1:]
    return ast.dump(node)


def cached_database(n: int, log=print) -> Path:
    """The path of a generated database of n prompts, generating it on first use."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"{cache_key(n)}.db"
    if not path.exists():
        for stale in CACHE_DIR.glob(f"prompts-{n}-*.db*"):
            stale.unlink()
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        started = time.monotonic()
        generate(partial, n)
        partial.rename(path)
        log(f"generated {n:,} prompts in {time.monotonic() - started:.1f} s")
    return path


def copy_database(source: Path, target: Path) -> Path:
    """A private copy of a generated database (a benchmark may write to it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    target.with_name(target.name + ".wal").unlink(missing_ok=True)
    shutil.copyfile(source, target)
    return target


def _bind(sql: str, values: dict[str, int]) -> str:
    for name in sorted(values, key=len, reverse=True):
        sql = sql.replace(f"?{name}", str(int(values[name])))
    return sql


def _word_tables(cur, words: list[str]) -> None:
    """word index -> its index terms and the words they came from; stop words have none."""
    rows = [(i, *pair) for i, word in enumerate(words) for pair in search.term_words(word)]
    tag_rows = [(i, *pair) for i, tag in enumerate(vocab.TAGS) for pair in search.term_words(tag)]
    for table, data in (("word_terms", rows), ("tag_terms", tag_rows)):
        cur.execute(f"CREATE TEMP TABLE {table} (w INTEGER, term VARCHAR, word VARCHAR)")
        cur.execute(
            f"INSERT INTO {table} SELECT unnest(?::INTEGER[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[])",
            [[r[0] for r in data], [r[1] for r in data], [r[2] for r in data]],
        )


def generate(path: Path, n: int) -> None:
    """Create a migrated database at path holding n prompts, their versions, stars and index."""
    from composite.library.passwords import hash_password

    path.unlink(missing_ok=True)
    db = Database(path).open()
    try:
        db.migrate(MIGRATIONS_DIR)
        cur = db.cursor()
        words = vocab.vocabulary()
        users = max(40, n // 25)
        values = {
            "n": n,
            "users": users,
            "domain_lo": len(vocab.COMMON),
            "domain_n": len(vocab.DOMAIN),
            "vocab_n": len(words),
            "tags_n": len(vocab.TAGS),
            "hints_n": len(vocab.MODEL_HINTS),
            "span_us": SPAN_DAYS * 86_400 * 1_000_000,
        }
        cur.execute(MACROS)
        _word_tables(cur, words)
        cur.execute(_bind(GENERATE, values))
        cur.execute(POSTINGS)
        cur.execute(
            "CREATE TEMP TABLE lens AS SELECT prompt_id, sum(tf) AS len FROM postings GROUP BY prompt_id"
        )
        # User 1 is the bench account (a known password); the rest only own prompts.
        cur.execute(
            "INSERT INTO users (id, username, username_key, password_hash, created_at)"
            " SELECT i, CASE i WHEN 1 THEN ? ELSE 'user' || i END, CASE i WHEN 1 THEN ? ELSE 'user' || i END,"
            " ?, TIMESTAMP '2024-01-01' FROM range(1, ? + 1) t(i)",
            [BENCH_USER, BENCH_USER, hash_password(BENCH_PASSWORD), users],
        )
        # A one-row table of word lists: indexing a joined list is far faster than a bound one.
        cur.execute(
            "CREATE TEMP TABLE lists AS"
            " SELECT ?::VARCHAR[] AS words, ?::VARCHAR[] AS hints, ?::VARCHAR[] AS tags",
            [words, list(vocab.MODEL_HINTS), vocab.TAGS],
        )
        cur.execute(
            "INSERT INTO prompts (id, owner_id, title, description, body, model_hint, tags, visibility,"
            " version, stars, search_len, created_at, updated_at)"
            " SELECT g.id, owner_id,"
            "  array_to_string(list_transform(title_w, lambda i: words[i + 1]), ' '),"
            "  array_to_string(list_transform(desc_w, lambda i: words[i + 1]), ' '),"
            "  array_to_string(list_transform(body_w, lambda i: words[i + 1]), ' '),"
            "  hints[hint + 1], list_transform(tag_w, lambda i: tags[i + 1]), visibility, 1, stars,"
            "  coalesce(l.len, 0), created_at, created_at"
            " FROM gen g CROSS JOIN lists"
            " LEFT JOIN lens l ON l.prompt_id = g.id"
            " ORDER BY g.id"
        )
        cur.execute(
            "INSERT INTO prompt_versions (prompt_id, version, title, description, body, model_hint, tags,"
            " visibility, created_at) SELECT id, version, title, description, body, model_hint, tags,"
            " visibility, updated_at FROM prompts ORDER BY id"
        )
        # Star k of prompt p comes from a distinct user: 104729 is prime and larger than users.
        cur.execute(
            "INSERT INTO stars (user_id, prompt_id, created_at)"
            " SELECT 1 + (id * 7919 + k * 104729) % ?, id, created_at"
            " FROM (SELECT id, stars, created_at FROM gen WHERE stars > 0), range(stars) r(k)",
            [users],
        )
        # Postings clustered by term: a search reads only the row groups of its terms.
        cur.execute(
            "INSERT INTO search_terms (prompt_id, term, tf, doc_len, head)"
            " SELECT s.prompt_id, term, tf, len, head FROM postings s"
            " JOIN lens l ON l.prompt_id = s.prompt_id"
            " ORDER BY term, s.prompt_id"
        )
        cur.execute(
            "INSERT INTO search_vocab (term, word, df, version)"
            " SELECT p.term, w.word, p.df, 1 FROM (SELECT term, count(*) AS df FROM postings GROUP BY term) p"
            " JOIN (SELECT term, min(word) AS word FROM (SELECT term, word FROM word_terms"
            " UNION ALL SELECT term, word FROM tag_terms) GROUP BY term) w USING (term)"
        )
        cur.execute("UPDATE search_state SET tokeniser = ?, version = version + 1", [search.TOKENISER])
        # The sequences must continue after the generated ids, as if the app had made them.
        for sequence, count in (("prompts_id_seq", n), ("users_id_seq", users)):
            cur.execute(f"SELECT max(nextval('{sequence}')) FROM range(?)", [count])
        for table in ("gen", "postings", "lens", "word_terms", "tag_terms", "lists"):
            cur.execute(f"DROP TABLE {table}")
        cur.execute("CHECKPOINT")
    finally:
        db.close()
    verify(path)


def verify(path: Path, sample: int = 50) -> None:
    """Check sampled prompts' index rows against composite.library.search's own indexer."""
    db = Database(path).open()
    try:
        rows = db.fetchall(
            "SELECT id, title, description, body, tags, search_len FROM prompts"
            f" USING SAMPLE reservoir({int(sample)})"
        )
        for prompt_id, title, description, body, tags, search_len in rows:
            expected, length, _ = search.prompt_postings(title, description, body, tags)
            rows = db.fetchall(
                "SELECT term, tf, doc_len, head FROM search_terms WHERE prompt_id = ?", [prompt_id]
            )
            got = {term: (tf, head) for term, tf, _, head in rows}
            if got != expected or length != search_len or any(row[2] != length for row in rows):
                raise AssertionError(f"prompt {prompt_id}: index differs from composite.library.search")
    finally:
        db.close()


def main(argv: list[str] | None = None) -> int:
    """Generate one database: ``python -m bench.generate N PATH``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int)
    parser.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    started = time.monotonic()
    generate(args.path, args.n)
    print(f"{args.n:,} prompts in {time.monotonic() - started:.1f} s -> {args.path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
