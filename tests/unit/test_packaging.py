"""The layer ships what the civic package needs at run time (pyproject is the source of truth)."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _names(lines):
    return {line.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip().lower() for line in lines}


def test_layer_requirements_match_runtime_dependencies():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    layer = [
        line for line in (ROOT / "layers/core/requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    # boto3 is in the Lambda runtime; everything else must be in the layer.
    assert _names(layer) == _names(declared) - {"boto3"}
