"""Settings: one typed object, read once from the environment and an optional .env file."""

from __future__ import annotations

import secrets
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import limits
from dotenv import dotenv_values

from composite.server.logs import LOG_LEVELS
from composite.server.protocol import BODY_MIN_RATE, BODY_TIMEOUT, SEND_TIMEOUT

ENVIRONMENTS = ("development", "production")
# A container must listen on every interface; a developer's machine only on its own.
DEFAULT_HOSTS = {"development": "127.0.0.1", "production": "0.0.0.0"}
LOG_FORMATS = ("text", "json")
# Values that appear in examples and docs; a production start with one of them is refused.
PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "changethis", "secret", "dev", "development", "replace-me"}
)
MIN_SECRET_LENGTH = 32


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True)
class Settings:
    """Everything the process needs to know, validated once at start-up."""

    host: str = "0.0.0.0"
    backend_port: int = 12000
    frontend_port: int = 12001
    # The whole site on one more port, split by path as nginx does (None: off).
    public_port: int | None = None
    database_path: Path = Path("data/app.db")
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    secret_key_generated: bool = False
    app_env: str = "development"
    log_level: str = "info"
    # Empty: no peer's X-Forwarded-* is believed (any local process could forge them).
    forwarded_allow_ips: str = ""
    shutdown_timeout: float = 10.0
    backend_threads: int = 40
    frontend_threads: int = 16
    limit_concurrency: int = 1000
    body_timeout: float = BODY_TIMEOUT
    body_min_rate: int = BODY_MIN_RATE
    send_timeout: float = SEND_TIMEOUT
    max_body_bytes: int = 1024 * 1024
    # Whole answers kept per application (0: off), for anonymous and signed-in readers; exact, see
    # composite/server/responsecache.py.
    response_cache_mb: int = 32
    # Per client address, over both applications together ("count/period", see ``limits``).
    register_rate: str = "20/hour"
    token_rate: str = "60/hour"  # noqa: S105 (a rate, not a secret)
    # Free space beside the database (docs/deployment.md, "Disk space"): below the first the
    # health checks say degraded; below the second, smaller one writes are refused with 507,
    # so that a checkpoint always has room to write the WAL into the file.
    disk_degraded_mb: int = 512
    disk_reserve_mb: int = 64
    load_examples: bool = True
    test_endpoints: bool = False
    # Development pages: tracebacks, templates and static files read afresh (python app.py --reload).
    debug: bool = False
    # Operating the process (docs/deployment.md): the admin socket (None = off), scheduled
    # backups (interval 0 = off), the metrics port (0 = off) and the log format.
    admin_socket: Path | None = None
    backup_dir: Path = Path("data/backups")
    backup_interval: float = 0.0
    backup_keep: int = 7
    # Scheduled backups younger than this are kept beyond the newest BACKUP_KEEP (0: off).
    backup_keep_days: float = 0.0
    # BACKUP_AFTER: run after each scheduled backup, without a shell, {path} naming the file.
    backup_after: tuple[str, ...] = ()
    backup_after_timeout: float = 600.0
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"
    log_format: str = "text"

    @property
    def production(self) -> bool:
        """True when running with APP_ENV=production."""
        return self.app_env == "production"

    def __post_init__(self) -> None:
        self._check_ports()
        if self.app_env not in ENVIRONMENTS:
            raise ConfigError("APP_ENV", f"must be one of {', '.join(ENVIRONMENTS)}, got {self.app_env!r}")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError("LOG_LEVEL", f"must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}")
        if self.production:
            if self.secret_key_generated or self.secret_key.strip().lower() in PLACEHOLDER_SECRETS:
                raise ConfigError("SECRET_KEY", "must be set to a real secret in production")
            if len(self.secret_key) < MIN_SECRET_LENGTH:
                raise ConfigError(
                    "SECRET_KEY", f"must be at least {MIN_SECRET_LENGTH} characters in production"
                )
        if self.production and self.test_endpoints:
            raise ConfigError("TEST_ENDPOINTS", "must not be enabled in production")
        if self.production and self.debug:
            raise ConfigError("DEBUG", "must not be enabled in production (it shows tracebacks)")
        for name, spec in (("REGISTER_RATE", self.register_rate), ("TOKEN_RATE", self.token_rate)):
            try:
                limits.parse(spec)
            except ValueError:
                raise ConfigError(name, f"must be a rate such as '20/hour', got {spec!r}") from None
        self._check_disk()
        if self.shutdown_timeout < 0:
            raise ConfigError("SHUTDOWN_TIMEOUT", "must not be negative")
        if self.log_format not in LOG_FORMATS:
            raise ConfigError(
                "LOG_FORMAT", f"must be one of {', '.join(LOG_FORMATS)}, got {self.log_format!r}"
            )
        if self.metrics_port and self.metrics_port in (self.backend_port, self.frontend_port):
            raise ConfigError(
                "METRICS_PORT", f"must differ from the application ports, got {self.metrics_port}"
            )

    def _check_disk(self) -> None:
        if self.disk_reserve_mb > self.disk_degraded_mb:
            raise ConfigError(
                "DISK_RESERVE_MB",
                f"must not exceed DISK_DEGRADED_MB ({self.disk_degraded_mb}), got {self.disk_reserve_mb}",
            )

    def _check_ports(self) -> None:
        ports = [("BACKEND_PORT", self.backend_port), ("FRONTEND_PORT", self.frontend_port)]
        if self.public_port is not None:
            ports.append(("PUBLIC_PORT", self.public_port))
        seen: dict[int, str] = {}
        for name, port in ports:
            if not 0 <= port <= 65535:
                raise ConfigError(name, f"must be a port number 1-65535, got {port}")
            if port in seen and port != 0:
                raise ConfigError(name, f"must differ from {seen[port]} (both are {port})")
            seen[port] = name

    @classmethod
    def from_env(cls, environ: Mapping[str, str], dotenv_path: Path | None = Path(".env")) -> Settings:
        """Build settings from a .env file (when present) overridden by the process environment."""
        reader = _Reader(environment(environ, dotenv_path))
        secret = reader.text("SECRET_KEY", "")
        app_env = reader.text("APP_ENV", "development").lower()
        return cls(
            host=reader.text("HOST", DEFAULT_HOSTS.get(app_env, "127.0.0.1")),
            backend_port=reader.port("BACKEND_PORT", 12000),
            frontend_port=reader.port("FRONTEND_PORT", 12001),
            public_port=reader.port("PUBLIC_PORT", 0) if reader.text("PUBLIC_PORT", "") else None,
            database_path=Path(reader.text("DATABASE_PATH", "data/app.db")),
            secret_key=secret or secrets.token_urlsafe(32),
            secret_key_generated=not secret,
            app_env=app_env,
            log_level=reader.text("LOG_LEVEL", "info").lower(),
            forwarded_allow_ips=reader.text("FORWARDED_ALLOW_IPS", ""),
            shutdown_timeout=reader.number("SHUTDOWN_TIMEOUT", 10.0, maximum=3600),
            backend_threads=int(reader.number("BACKEND_THREADS", 40, minimum=1, maximum=1000, whole=True)),
            frontend_threads=int(reader.number("FRONTEND_THREADS", 16, minimum=1, maximum=1000, whole=True)),
            limit_concurrency=int(
                reader.number("LIMIT_CONCURRENCY", 1000, minimum=1, maximum=100000, whole=True)
            ),
            body_timeout=reader.number("BODY_TIMEOUT", BODY_TIMEOUT, minimum=0.1, maximum=3600),
            body_min_rate=int(
                reader.number("BODY_MIN_RATE", BODY_MIN_RATE, minimum=1, maximum=1e9, whole=True)
            ),
            send_timeout=reader.number("SEND_TIMEOUT", SEND_TIMEOUT, minimum=0.1, maximum=3600),
            response_cache_mb=int(
                reader.number("RESPONSE_CACHE_MB", cls.response_cache_mb, maximum=65536, whole=True)
            ),
            register_rate=reader.text("REGISTER_RATE", cls.register_rate),
            token_rate=reader.text("TOKEN_RATE", cls.token_rate),
            disk_degraded_mb=int(
                reader.number("DISK_DEGRADED_MB", cls.disk_degraded_mb, maximum=1 << 30, whole=True)
            ),
            disk_reserve_mb=int(
                reader.number("DISK_RESERVE_MB", cls.disk_reserve_mb, maximum=1 << 30, whole=True)
            ),
            load_examples=reader.flag("LOAD_EXAMPLES", app_env != "production"),
            test_endpoints=reader.flag("TEST_ENDPOINTS", False),
            debug=reader.flag("DEBUG", False),
            **_operations(reader, Path(reader.text("DATABASE_PATH", "data/app.db")).parent),
        )


def admin_socket_from(values: Mapping[str, str]) -> Path | None:
    """ADMIN_SOCKET: unset means the database's name plus .admin.sock; set to nothing, the socket is off."""
    socket = values.get("ADMIN_SOCKET")
    if socket is None:
        # Named after the database file, so that two databases in one directory each have one.
        database = Path(values.get("DATABASE_PATH", "").strip() or "data/app.db")
        return database.with_name(f"{database.name}.admin.sock")
    return Path(socket.strip()) if socket.strip() else None


def environment(environ: Mapping[str, str], dotenv_path: Path | None = Path(".env")) -> dict[str, str]:
    """A .env file's values (when present) overridden by the process environment."""
    values: dict[str, str] = {}
    if dotenv_path is not None and dotenv_path.is_file():
        values.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    values.update(environ)
    return values


def _operations(reader: _Reader, data_dir: Path) -> dict[str, object]:
    """The admin socket, backups, metrics and log format; files default to the database's directory."""
    return {
        "admin_socket": admin_socket_from(reader.values),
        "backup_dir": Path(reader.text("BACKUP_DIR", str(data_dir / "backups"))),
        "backup_interval": reader.number("BACKUP_INTERVAL", 0, maximum=366 * 86400),
        "backup_keep": int(reader.number("BACKUP_KEEP", 7, minimum=1, maximum=10000, whole=True)),
        "backup_keep_days": reader.number("BACKUP_KEEP_DAYS", 0, maximum=36600),
        "backup_after": _command(reader, "BACKUP_AFTER"),
        "backup_after_timeout": reader.number("BACKUP_AFTER_TIMEOUT", 600, minimum=1, maximum=86400),
        "metrics_port": int(reader.number("METRICS_PORT", 0, maximum=65535, whole=True)),
        "metrics_host": reader.text("METRICS_HOST", "127.0.0.1"),
        "log_format": reader.text("LOG_FORMAT", "text").lower(),
    }


def _command(reader: _Reader, name: str) -> tuple[str, ...]:
    """A command line split as a shell would split it (quotes kept together), but run without one."""
    try:
        return tuple(shlex.split(reader.text(name, "")))
    except ValueError as exc:
        raise ConfigError(name, f"must be a command line, got {reader.text(name, '')!r}: {exc}") from None


class _Reader:
    """Typed access to raw string values; every failure names its variable."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values

    def text(self, name: str, default: str) -> str:
        return self.values.get(name, default).strip() or default

    def port(self, name: str, default: int) -> int:
        raw = self.text(name, str(default))
        if not raw.isdigit():
            raise ConfigError(name, f"must be a port number 1-65535, got {raw!r}")
        value = int(raw)
        if not 1 <= value <= 65535:
            raise ConfigError(name, f"must be a port number 1-65535, got {value}")
        return value

    def number(
        self, name: str, default: float, *, minimum: float = 0, maximum: float = 1e9, whole: bool = False
    ) -> float:
        raw = self.text(name, str(default))
        try:
            value = int(raw) if whole else float(raw)
        except ValueError:
            kind = "a whole number" if whole else "a number"
            raise ConfigError(name, f"must be {kind}, got {raw!r}") from None
        if not minimum <= value <= maximum:
            raise ConfigError(name, f"must be between {minimum:g} and {maximum:g}, got {raw}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        raw = self.text(name, "true" if default else "false").lower()
        if raw in ("1", "true", "yes", "on"):
            return True
        if raw in ("0", "false", "no", "off"):
            return False
        raise ConfigError(name, f"must be true or false, got {raw!r}")
