"""The architecture's contracts (pyproject.toml, [tool.importlinter]; explained in
docs/architecture.md) hold, and they are not vacuous: a copy of the code with one
forbidden import added breaks the contract that names the rule."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
    "importlinter"
]["root_packages"]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(directory: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(directory / "pyproject.toml")],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"PYTHONPATH": str(directory), "PATH": "/usr/bin:/bin"},
    )


@pytest.fixture
def code_copy(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _add_import(copy: Path, module: str, statement: str) -> None:
    path = copy / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text(encoding="utf-8") + f"\n{statement}\n", encoding="utf-8")


def test_the_code_keeps_every_contract(code_copy):
    result = _lint_imports(code_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "statement", "message"),
    [
        (
            "applications.services",
            "import digitization.selectors  # noqa",
            "applications is not allowed to import digitization",
        ),
        (
            "payments.selectors",
            "import applications.models  # noqa",
            "payments is not allowed to import applications",
        ),
        (
            "procedures.selectors",
            "import applications.models  # noqa",
            "procedures is not allowed to import applications",
        ),
        ("core.errors", "import accounts.models  # noqa", "core is not allowed to import accounts"),
        ("core.pdf", "import config.celery  # noqa", "core is not allowed to import config"),
        (
            "payments.selectors",
            "import procedures.models  # noqa",
            "payments is not allowed to import procedures",
        ),
        # A loop inside an app: the models importing a task module that imports them.
        ("accounts.models", "import accounts.tasks  # noqa", "No cycles are allowed in accounts"),
    ],
)
def test_a_forbidden_import_breaks_the_contract_that_names_it(
    code_copy, module, statement, message
):
    _add_import(code_copy, module, statement)
    result = _lint_imports(code_copy)
    assert result.returncode == 1, result.stdout
    assert message in result.stdout, result.stdout
