"""The wheel carries the schemas: build it, install it in a fresh virtual environment, and validate files that
live outside the source tree with the installed package (not the checkout)."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = sorted(p.name for p in (ROOT / "schemas").glob("*.schema.json"))

VALID_SNOWFLAKE = """\
type: Snowflake
autoBootstrap: false
config:
  host: acme.us-east-1.snowflakecomputing.com
  warehouse: IMMUTA_WH
  database: IMMUTA_PROD
  authenticationType: userPassword
  username: immuta
  password: ${env:SNOWFLAKE_PASSWORD}
"""
INVALID_SNOWFLAKE = VALID_SNOWFLAKE.replace("${env:SNOWFLAKE_PASSWORD}", "hunter2").replace(
    "autoBootstrap: false", "autoBootstrap: yes"
)


def _run(args: list[str | Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "GITHUB_"))}
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=environment, capture_output=True, text=True, check=False, timeout=120
    )


def _setuptools_is_recent() -> bool:
    try:
        return int(importlib.metadata.version("setuptools").split(".")[0]) >= 77
    except importlib.metadata.PackageNotFoundError:
        return False


def _build_wheel(tmp_path: Path) -> Path:
    """Builds from a copy of the project, so the checkout is left without build/ or *.egg-info."""
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("reconciler", "schemas"):
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, source / name)
    dist = tmp_path / "dist"
    # Without isolation when the environment has the build backend pyproject.toml asks for (fast, offline);
    # otherwise let `build` fetch it into an isolated environment.
    isolation = ["--no-isolation"] if _setuptools_is_recent() else []
    built = _run([sys.executable, "-m", "build", "--wheel", *isolation, "--outdir", dist, source], tmp_path)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = dist.glob("*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the new environment's python, the wheel): the wheel installed alone, its dependencies borrowed."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    wheel = _build_wheel(tmp_path)
    environment = tmp_path / "venv"
    venv.create(environment, system_site_packages=False, with_pip=False, symlinks=True)
    python = environment / "bin" / "python"
    installed = _run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", "--no-index", wheel],
        tmp_path,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    # The runtime dependencies come from the test environment, *after* the new site-packages: a .pth line
    # appends a path, and that path's own .pth files (the editable install of the checkout) are not read.
    site_packages = Path(
        _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path).stdout.strip()
    )
    (site_packages / "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python, wheel


def test_the_wheel_holds_every_schema(installed: tuple[Path, Path]) -> None:
    _, wheel = installed
    names = set(zipfile.ZipFile(wheel).namelist())

    assert {f"reconciler/schemas/{name}" for name in SCHEMAS} <= names
    assert len(SCHEMAS) == 8
    assert "reconciler/py.typed" in names
    assert not any(name.startswith(("tests/", "integrations.d/")) for name in names)


def test_the_installed_package_is_the_one_that_runs(installed: tuple[Path, Path], tmp_path: Path) -> None:
    python, _ = installed

    done = _run([python, "-I", "-c", "import reconciler; print(reconciler.__file__)"], tmp_path)

    assert done.returncode == 0, done.stderr
    location = Path(done.stdout.strip())
    assert location.is_relative_to(python.parent.parent)
    assert not location.is_relative_to(ROOT)


def test_validate_a_valid_file_outside_the_source_tree(installed: tuple[Path, Path], tmp_path: Path) -> None:
    python, _ = installed
    (tmp_path / "snowflake.yaml").write_text(VALID_SNOWFLAKE, encoding="utf-8")

    done = _run([python, "-I", "-m", "reconciler", "validate", "snowflake.yaml"], tmp_path)

    assert (done.returncode, done.stdout) == (0, ""), done.stderr
    assert done.stderr == "1 file(s), 1 integration(s): valid (0 error(s), 0 warning(s))\n"


def test_validate_an_invalid_file_outside_the_source_tree(installed: tuple[Path, Path], tmp_path: Path) -> None:
    python, _ = installed
    (tmp_path / "snowflake.yaml").write_text(INVALID_SNOWFLAKE, encoding="utf-8")

    done = _run([python.parent / "reconciler", "validate", tmp_path], tmp_path)  # the console script

    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        f'{tmp_path}/snowflake.yaml:2:1: $.autoBootstrap: must be a boolean, not a string "yes" '
        "(YAML 1.1 would read this as a boolean; write true or false)",
        f"{tmp_path}/snowflake.yaml:9:3: $.config.password: is a secret and must not be written in the file: "
        "use a reference such as `password: ${env:SNOWFLAKE_PASSWORD}` (or `${file:PATH}`, read inside the repository)",
    ]
    assert "hunter2" not in done.stdout + done.stderr
