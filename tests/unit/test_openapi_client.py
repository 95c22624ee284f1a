"""openapi-python-client generates a client from openapi.yaml with no warning: no endpoint, answer or
model is skipped (the generator only warns, and leaves them out, on what it cannot read)."""

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = Path(sys.executable).parent / "openapi-python-client"


def test_client_generates_without_skipping_anything(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("post_hooks: []\n")  # no formatter run: only the generator is under test
    out = tmp_path / "client"
    run = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(ROOT / "openapi.yaml"), "--output-path", str(out),
         "--meta", "none", "--config", str(config)],
        capture_output=True, text=True, timeout=120,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    for sign in ("WARNING", "Unable to", "omitted", "removal of", "Skipping", "Error"):
        assert sign not in output, output
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    operations = sum(1 for item in spec["paths"].values() for method in item if method != "parameters")
    generated = [p for p in (out / "api").rglob("*.py") if p.name != "__init__.py"]
    assert len(generated) == operations
