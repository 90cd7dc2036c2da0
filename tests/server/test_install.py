"""``pip install .`` into a fresh virtual environment gives a working ``composite`` command."""

from __future__ import annotations

import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.support.process import ROOT


@pytest.mark.slow
def test_pip_install_gives_the_composite_command(tmp_path: Path) -> None:
    source = tmp_path / "source"
    # A copy without the local virtual environment or caches: what a user downloads.
    shutil.copytree(
        ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", "data", "bench")
    )
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=True)
    # The new environment also sees this one's installed packages (a .pth line), so pip
    # still resolves and checks every declared dependency but downloads and builds only
    # the project itself: a minute less, with nothing fetched from the network.
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    (env_dir / "lib" / version / "site-packages" / "outer.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n"
    )
    install = subprocess.run(
        [
            env_dir / "bin" / "python",
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    command = env_dir / "bin" / "composite"
    helped = subprocess.run([command, "--help"], capture_output=True, text=True, check=False, cwd=tmp_path)
    assert helped.returncode == 0, helped.stderr
    assert "serve" in helped.stdout
    assert "site" in helped.stdout
    # The installed package carries the site's migrations, templates and static files.
    probe = (
        "import pathlib, composite.library.frontend as f, composite.library.migrations as m;"
        "site = pathlib.Path(f.__file__).parent;"
        "print(len(list(m.MIGRATIONS_DIR.glob('*.sql'))), (site / 'static/style.css').is_file(),"
        " (site / 'templates/base.html').is_file())"
    )
    data = subprocess.run(
        [env_dir / "bin" / "python", "-c", probe], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    count, static, templates = data.stdout.split()
    assert int(count) >= 3
    assert static == templates == "True"
