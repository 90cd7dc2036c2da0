"""The prompt library's schema, as numbered .sql files applied in order by Database.migrate."""

from pathlib import Path

MIGRATIONS_DIR = Path(__file__).parent
