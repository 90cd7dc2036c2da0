"""Settings: defaults, .env handling and every invalid value named by its variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from composite.config import ConfigError, Settings
from tests.support.process import run_app

GOOD_SECRET = "a" * 20 + "-real-production-secret-0123"


def test_defaults_match_the_documented_ports_and_paths() -> None:
    settings = Settings.from_env({}, dotenv_path=None)
    assert (settings.host, settings.backend_port, settings.frontend_port) == ("127.0.0.1", 12000, 12001)
    assert settings.public_port is None
    assert settings.database_path == Path("data/app.db")
    assert settings.app_env == "development"
    assert settings.shutdown_timeout == 10.0
    assert settings.secret_key_generated
    assert len(settings.secret_key) >= 32
    assert settings.forwarded_allow_ips == ""  # no peer is believed about X-Forwarded-*
    assert (settings.body_timeout, settings.body_min_rate, settings.send_timeout) == (20.0, 4096, 30.0)


def test_development_listens_on_loopback_and_production_everywhere() -> None:
    assert Settings.from_env({}, dotenv_path=None).host == "127.0.0.1"
    production = Settings.from_env({"APP_ENV": "production", "SECRET_KEY": GOOD_SECRET}, dotenv_path=None)
    assert production.host == "0.0.0.0"
    assert Settings.from_env({"HOST": "::"}, dotenv_path=None).host == "::"


@pytest.mark.parametrize(
    ("value", "problem"), [("12000", "must differ from BACKEND_PORT"), ("x", "port number")]
)
def test_a_public_port_must_be_a_port_of_its_own(value: str, problem: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"PUBLIC_PORT": value}, dotenv_path=None)
    assert refused.value.variable == "PUBLIC_PORT"
    assert problem in str(refused.value)
    assert Settings.from_env({"PUBLIC_PORT": "8080"}, dotenv_path=None).public_port == 8080


def test_environment_overrides_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("BACKEND_PORT=13000\nFRONTEND_PORT=13001\nLOG_LEVEL=debug\n")
    settings = Settings.from_env({"FRONTEND_PORT": "14001"}, dotenv_path=dotenv)
    assert settings.backend_port == 13000
    assert settings.frontend_port == 14001
    assert settings.log_level == "debug"


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"BACKEND_PORT": "abc"}, "BACKEND_PORT"),
        ({"BACKEND_PORT": "70000"}, "BACKEND_PORT"),
        ({"FRONTEND_PORT": "0"}, "FRONTEND_PORT"),
        ({"FRONTEND_PORT": "-5"}, "FRONTEND_PORT"),
        ({"BACKEND_PORT": "12345", "FRONTEND_PORT": "12345"}, "FRONTEND_PORT"),
        ({"APP_ENV": "staging"}, "APP_ENV"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
        ({"SHUTDOWN_TIMEOUT": "soon"}, "SHUTDOWN_TIMEOUT"),
        ({"SHUTDOWN_TIMEOUT": "-1"}, "SHUTDOWN_TIMEOUT"),
        ({"BACKEND_THREADS": "0"}, "BACKEND_THREADS"),
        ({"FRONTEND_THREADS": "many"}, "FRONTEND_THREADS"),
        ({"LOAD_EXAMPLES": "perhaps"}, "LOAD_EXAMPLES"),
        ({"BODY_TIMEOUT": "0"}, "BODY_TIMEOUT"),
        ({"BODY_MIN_RATE": "fast"}, "BODY_MIN_RATE"),
        ({"SEND_TIMEOUT": "-3"}, "SEND_TIMEOUT"),
        ({"RESPONSE_CACHE_MB": "lots"}, "RESPONSE_CACHE_MB"),
        ({"APP_ENV": "production"}, "SECRET_KEY"),
        ({"APP_ENV": "production", "SECRET_KEY": "changethis"}, "SECRET_KEY"),
        ({"APP_ENV": "production", "SECRET_KEY": "short-secret"}, "SECRET_KEY"),
        ({"APP_ENV": "production", "SECRET_KEY": GOOD_SECRET, "TEST_ENDPOINTS": "1"}, "TEST_ENDPOINTS"),
    ],
)
def test_invalid_values_name_their_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(environ, dotenv_path=None)
    assert caught.value.variable == variable
    assert str(caught.value).startswith(f"{variable}: ")


def test_production_accepts_a_real_secret() -> None:
    settings = Settings.from_env({"APP_ENV": "production", "SECRET_KEY": GOOD_SECRET}, dotenv_path=None)
    assert settings.production
    assert not settings.secret_key_generated
    assert not settings.load_examples


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"BACKEND_PORT": "abc"}, "BACKEND_PORT"),
        ({"FRONTEND_PORT": "70000"}, "FRONTEND_PORT"),
        ({"BACKEND_PORT": "12345", "FRONTEND_PORT": "12345"}, "FRONTEND_PORT"),
        ({"APP_ENV": "production", "SECRET_KEY": ""}, "SECRET_KEY"),
    ],
)
def test_process_refuses_invalid_settings_in_one_line(
    tmp_path: Path, environ: dict[str, str], variable: str
) -> None:
    result = run_app(tmp_path, environ)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {variable}: ")
    assert "Traceback" not in result.stderr


def test_development_start_without_secret_says_it_generated_one(tmp_path: Path) -> None:
    from tests.support.process import ServerProcess

    server = ServerProcess(tmp_path, env={"SECRET_KEY": ""}).start()
    try:
        assert "SECRET_KEY is not set: generated" in server.log()
    finally:
        server.stop()
