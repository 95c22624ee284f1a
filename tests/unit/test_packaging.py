"""Every Python dependency is pinned in uv.lock, and the lock agrees with pyproject.toml."""

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UV = ROOT / ".tools" / "bin" / "uv"  # made by `make install` from uv-bootstrap.txt


def _uv_lock_check(project: Path) -> subprocess.CompletedProcess:
    assert UV.exists(), "uv is missing: `make install` installs it into .tools/"
    # --locked: fail instead of rewriting the lock; --offline: the check needs no package index.
    return subprocess.run([str(UV), "lock", "--locked", "--offline"], cwd=project, capture_output=True, text=True,
                          timeout=120)


def test_lock_agrees_with_pyproject():
    result = _uv_lock_check(ROOT)
    assert result.returncode == 0, result.stderr


def test_a_dependency_missing_from_the_lock_is_caught(tmp_path):
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "layers" / "core" / "civic").mkdir(parents=True)
    pyproject = (tmp_path / "pyproject.toml").read_text()
    (tmp_path / "pyproject.toml").write_text(pyproject.replace('"boto3>=1.34",', '"boto3>=1.34",\n    "six>=1.16",', 1))
    result = _uv_lock_check(tmp_path)
    assert result.returncode != 0
    assert "lockfile needs to be updated" in result.stderr.lower() or "--locked" in result.stderr


def test_every_locked_package_is_pinned_with_hashes():
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    registry = [p for p in lock["package"] if "registry" in p.get("source", {})]
    assert len(registry) > 50
    for package in registry:
        files = package.get("wheels", []) + ([package["sdist"]] if "sdist" in package else [])
        assert files and all(f["hash"].startswith("sha256:") for f in files), package["name"]


@pytest.mark.parametrize("name", ["moto", "boto3", "pynamodb", "aws-lambda-powertools", "chalice"])
def test_the_stack_packages_are_in_the_lock(name):
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    assert [p["version"] for p in lock["package"] if p["name"] == name]


def test_uv_itself_is_pinned_with_hashes():
    text = (ROOT / "uv-bootstrap.txt").read_text()
    assert "uv==" in text and "--hash=sha256:" in text


# -- the layer ships the runtime only -----------------------------------------------------------

CIVIC = ROOT / "layers" / "core" / "civic"
DEV_ONLY = ("civic_dev", "moto", "chalice", "pytest", "playwright", "schemathesis", "samtranslator", "cfnlint")


def test_the_runtime_package_imports_no_dev_tooling():
    """`civic` is what Lambda gets; the local stack, the CLI, fakes and test tools live in civic_dev."""
    import ast

    offenders = []
    for path in CIVIC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in DEV_ONLY]
    assert offenders == []


def test_make_package_copies_only_the_runtime_package():
    script = (ROOT / "infra" / "package.sh").read_text()
    copies = [line for line in script.splitlines() if line.strip().startswith("cp ")]
    assert copies == ['cp -R "$ROOT/layers/core/civic" "$LAYER/civic"']
    assert not (CIVIC / "local").exists() and not (CIVIC / "cli").exists()
    assert not list(CIVIC.rglob("*fake*")) and not list(CIVIC.rglob("memory.py"))
