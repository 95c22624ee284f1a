#!/usr/bin/env bash
# `make package`: build the Lambda layer and the deployable SAM template (SAM resources + Chalice API).
#
#   build/layer/python/          the layer: manylinux wheels for python3.12 x86_64 + the civic package
#   build/merge-template.yaml    infra/template.yaml deep-merged with infra/chalice-merge.yaml
#   build/package/sam.yaml       Chalice's SAM output merged with the above; deployment.zip beside it
#
# Offline with respect to AWS (pip uses the package index). Then: sam build && sam deploy --config-env <env>
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON="$(command -v python3)"
CHALICE_STAGE="${CHALICE_STAGE:-dev}"
CHALICE_APP_DIR="${CHALICE_APP_DIR:-$ROOT/chalice_app}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-ap-southeast-1}"

BUILD="$ROOT/build"
LAYER="$BUILD/layer/python"
OUT="$BUILD/package"

echo "==> layer: $LAYER"
rm -rf "$BUILD/layer"
mkdir -p "$LAYER"
"$PYTHON" -m pip install --quiet --disable-pip-version-check --no-warn-conflicts \
  --platform manylinux2014_x86_64 --implementation cp --python-version 3.12 \
  --only-binary=:all: --target "$LAYER" -r "$ROOT/layers/core/requirements.txt"
cp -R "$ROOT/layers/core/civic" "$LAYER/civic"
# boto3/botocore are in the Lambda runtime; drop caches and any copies pulled in transitively.
find "$LAYER" -name '__pycache__' -type d -prune -exec rm -rf {} +
rm -rf "$LAYER"/boto3 "$LAYER"/boto3-* "$LAYER"/botocore "$LAYER"/botocore-* "$LAYER"/s3transfer "$LAYER"/s3transfer-*

echo "==> merge template: $BUILD/merge-template.yaml"
mkdir -p "$OUT"
"$PYTHON" - "$ROOT" "$BUILD/merge-template.yaml" "$OUT" <<'PY'
import sys
from pathlib import Path
import yaml
from civic.local.cfn import compose_merge_template
root, dest, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
merged = compose_merge_template(root / "infra/template.yaml", root / "infra/chalice-merge.yaml", out)
dest.write_text(yaml.safe_dump(merged, sort_keys=False, allow_unicode=True), encoding="utf-8")
PY

echo "==> OpenAPI document for GET /v1/openapi.json: $CHALICE_APP_DIR/chalicelib/openapi.json"
# The Lambda package holds only the Chalice project (and the layer has no YAML parser): ship the
# document as JSON inside chalicelib/ for the packaging only.
OPENAPI_JSON="$CHALICE_APP_DIR/chalicelib/openapi.json"
trap 'rm -f "$OPENAPI_JSON"' EXIT
"$PYTHON" - "$ROOT/openapi.yaml" "$OPENAPI_JSON" <<'PY'
import json, sys
import yaml
with open(sys.argv[1], encoding="utf-8") as src, open(sys.argv[2], "w", encoding="utf-8") as dest:
    json.dump(yaml.safe_load(src), dest, ensure_ascii=False, separators=(",", ":"))
PY

echo "==> chalice package (stage $CHALICE_STAGE): $OUT"
rm -f "$OUT/sam.yaml" "$OUT/deployment.zip"
CHALICE="$(dirname "$PYTHON")/chalice"
[ -x "$CHALICE" ] || CHALICE="chalice"
(cd "$CHALICE_APP_DIR" && "$CHALICE" package --stage "$CHALICE_STAGE" --template-format yaml \
  --merge-template "$BUILD/merge-template.yaml" "$OUT")

echo "==> check: translate + cfn-lint $OUT/sam.yaml"
"$PYTHON" - "$OUT/sam.yaml" <<'PY'
import sys
from civic.local.cfn import load_sam_template, lint_errors, translate
errors = lint_errors(translate(load_sam_template(sys.argv[1])))
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
PY
echo "==> done: sam build && sam deploy --config-env <dev|staging|prod>"
