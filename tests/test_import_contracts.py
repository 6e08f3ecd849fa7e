"""The import contracts in .importlinter, run with import-linter itself, and their coverage: every
module directly under assistant/ has a place in the one-way layers."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_are_kept() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is a test dependency (pip install -e '.[test]')"
    result = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_every_assistant_module_has_a_layer() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter", encoding="utf-8")
    layered = {name.strip() for line in config["importlinter:contract:one-way"]["layers"].split("\n")
               for name in line.replace("|", ":").split(":") if name.strip()}
    package = ROOT / "assistant"
    children = {f"assistant.{p.stem}" for p in package.glob("*.py") if p.stem != "__init__"}
    children |= {f"assistant.{p.parent.name}" for p in package.glob("*/__init__.py") if p.parent.name != "migrations"}
    assert children - layered == set(), "give each new module its place in .importlinter"
