#!/usr/bin/env bash
# `make package`: build the Lambda layer and the deployable SAM template (SAM resources + Chalice API).
#
#   build/layer/python/          the layer: uv.lock's runtime pins as manylinux_2_28 wheels for python3.12 x86_64
#                                (Lambda's python3.12 runs on Amazon Linux 2023, glibc 2.34) + the civic package
#   build/merge-template.yaml    infra/template.yaml deep-merged with infra/chalice-merge.yaml
#   build/package/sam.yaml       Chalice's SAM output merged with the above; deployment.zip beside it
#
# Offline with respect to AWS (uv uses the package index). Then: sam build && sam deploy --config-env <env>
#
# STAGE (dev, staging or prod; `make package STAGE=prod`) is the environment being packaged: Chalice
# packages that stage of .chalice/config.json, whose API Gateway stage has the same name, so the API
# answers at https://<api>.execute-api.<region>.amazonaws.com/<stage>/v1/... (infra/chalice-merge.yaml
# also names the stage after the template's Stage parameter, so the two cannot disagree).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON="$(command -v python3)"
CHALICE_STAGE="${STAGE:-${CHALICE_STAGE:-dev}}"
case "$CHALICE_STAGE" in
  dev|staging|prod) ;;
  *) echo "STAGE must be dev, staging or prod (the samconfig.toml environment), not '$CHALICE_STAGE'" >&2; exit 2 ;;
esac
CHALICE_APP_DIR="${CHALICE_APP_DIR:-$ROOT/chalice_app}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-ap-southeast-1}"

BUILD="$ROOT/build"
LAYER="$BUILD/layer/python"
OUT="$BUILD/package"

echo "==> layer: $LAYER"
rm -rf "$BUILD/layer"
mkdir -p "$LAYER"
UV="${UV:-$ROOT/.tools/bin/uv}"
# The runtime pins of uv.lock (no dev tools, no bench), with their hashes: the same versions the tests ran.
"$UV" export --frozen --no-emit-project --no-header --quiet --output-file "$BUILD/layer-requirements.txt"
"$UV" pip install --quiet --require-hashes --no-deps --only-binary :all: \
  --python-platform x86_64-manylinux_2_28 --python-version 3.12 \
  --target "$LAYER" -r "$BUILD/layer-requirements.txt"
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
from civic_dev.local.cfn import compose_merge_template
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
from civic_dev.local.cfn import load_sam_template, lint_errors, translate
errors = lint_errors(translate(load_sam_template(sys.argv[1])))
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
PY
echo "==> done: sam build && sam deploy --config-env $CHALICE_STAGE"
