"""``composite admin`` commands that work on the database file itself, with the server stopped.

Restore, load, applying migrations and reading a stopped server's schema open the file
directly (DuckDB's lock refuses them while a server holds it); the admin socket serves the
rest. Each returns its answer and the plain-text form of it, or raises AdminError.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from composite import __version__
from composite.db import Database, DatabaseError, DatabaseLockedError
from composite.db import schema as schema_versions
from composite.db.backup import BackupError
from composite.db.dump import dump_database, load_database
from composite.db.restore import restore_database
from composite.library.admin_cli import AdminError
from composite.library.migrations import MIGRATIONS_DIR


def restore(backup: Path, database: Path) -> tuple[dict[str, Any], str]:
    """Check ``backup`` and put it in place of ``database``, keeping the replaced file beside it."""
    try:
        report = restore_database(backup, database, MIGRATIONS_DIR, __version__)
    except DatabaseLockedError as exc:
        raise AdminError(f"refusing to restore: {exc}") from None
    except (BackupError, DatabaseError, OSError) as exc:
        raise AdminError(f"restore failed, nothing replaced: {_reason(exc)}") from None
    answer = {
        **asdict(report),
        "database": str(report.database),
        "kept": [str(p) for p in report.kept],
    }
    kept = f"; the replaced file is kept as {report.kept[0]}" if report.kept else ""
    after = report.sequences.get("prompts_id_seq")
    ids = f"; new prompts get ids after {after}" if after is not None else ""
    pending = f"; the next start applies {', '.join(report.pending)}" if report.pending else ""
    text = (
        f"restored {backup} into {report.database}: {len(report.rows)} tables, "
        f"{sum(report.rows.values())} rows, checked{kept}{ids}{pending}"
    )
    return answer, text


def dump(directory: Path, database: Path) -> tuple[dict[str, Any], str]:
    """Export a stopped server's database to ``directory`` (the server dumps itself when it runs)."""
    try:
        db = Database(database, read_only=True).open()
    except DatabaseLockedError as exc:
        raise AdminError(f"cannot dump: {exc}") from None
    except DatabaseError as exc:
        raise AdminError(str(exc)) from None
    try:
        report = dump_database(db.cursor(), directory, __version__)
    except BackupError as exc:
        raise AdminError(f"dump failed: {exc}") from None
    finally:
        db.close()
    return dump_answer(asdict(report) | {"path": str(report.path)})


def dump_answer(answer: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The plain-text line for a dump's answer (made here or by the server)."""
    rows = answer["rows"]
    return answer, (
        f"dump {answer['path']}: {len(rows)} tables, {sum(rows.values())} rows, in {answer['seconds']:.1f}s"
    )


def load(directory: Path, database: Path) -> tuple[dict[str, Any], str]:
    """Import a dump into ``database``, which must not hold a database yet."""
    try:
        report = load_database(directory, database, MIGRATIONS_DIR, __version__)
    except (BackupError, DatabaseError, OSError) as exc:
        raise AdminError(f"load failed: {_reason(exc)}") from None
    pending = f"; the next start applies {', '.join(report.pending)}" if report.pending else ""
    answer = asdict(report) | {"path": str(report.path)}
    return answer, (
        f"loaded {directory} into {report.path}: {len(report.rows)} tables, "
        f"{sum(report.rows.values())} rows, checked, in {report.seconds:.1f}s{pending}"
    )


def migrate(database: Path, *, check: bool) -> tuple[dict[str, Any], str]:
    """Say what migrating a stopped server's database would apply, or apply it (check=False)."""
    if not database.exists():
        files = [f.name for f in schema_versions.migration_files(MIGRATIONS_DIR)]
        answer = {"database": str(database), "recorded": [], "pending": files, "releases": []}
        return answer, f"{database} does not exist: the first start creates it with {len(files)} migrations"
    try:
        db = Database(database, read_only=check).open()
    except DatabaseLockedError:
        raise AdminError(
            f"{database} is held by the running server: it has applied every migration it knows"
            " (composite admin migrate --check asks it when the admin socket answers)"
        ) from None
    except DatabaseError as exc:
        raise AdminError(str(exc)) from None
    try:
        if check:
            plan = schema_versions.plan(db.cursor(), MIGRATIONS_DIR)
            recorded = [m.name for m in schema_versions.recorded(db.cursor())]
            releases = plan.releases
        else:
            applied = db.migrate(MIGRATIONS_DIR, release=__version__)
            return {"database": str(database), "applied": applied}, (
                f"applied {', '.join(applied)}" if applied else f"{database} is up to date: nothing to apply"
            )
    except schema_versions.SchemaError as exc:
        raise AdminError(str(exc)) from None
    finally:
        db.close()
    refusal = plan.refusal(database, __version__)
    if refusal:
        raise AdminError(refusal)
    return describe_plan(str(database), recorded, plan.pending, releases)


def describe_plan(
    database: str, recorded: list[str], pending: list[str], releases: list[str]
) -> tuple[dict[str, Any], str]:
    """The answer and text of ``migrate --check`` (from the file or from the running server)."""
    answer = {"database": database, "recorded": recorded, "pending": pending, "releases": releases}
    lines = [
        f"database {database}: {len(recorded)} migrations recorded"
        + (f", last {recorded[-1]}" if recorded else "")
        + (f"; opened by releases {', '.join(releases)}" if releases else "")
    ]
    lines.append(f"would apply: {', '.join(pending)}" if pending else "up to date: nothing to apply")
    return answer, "\n".join(lines)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return str(exc)
