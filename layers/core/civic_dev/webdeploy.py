"""Publish the built web app (web/index.html + web/dist) to the stack's web bucket, behind CloudFront.

    python -m civic_dev.webdeploy --stack civicbridge-prod [--tile-url URL --tile-attribution TEXT]

It reads the stack's outputs (WebBucketName, EndpointURL from the Chalice merge, CdnDistributionId),
writes `config.js` (where the pages find the API, and an optional map tile server), uploads every file
with its content type and cache policy (hashed chunks immutable; the entry files revalidated), and
invalidates the entry files on CloudFront. `make web` must have built web/dist first.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path

# Entry files keep their names across builds, so browsers revalidate them; the rest is content-hashed.
REVALIDATE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"
ENTRY_FILES = ("index.html", "config.js", "dist/app.js", "dist/app.css", "dist/sw.js", "dist/manifest.webmanifest")


@dataclass(frozen=True)
class WebObject:
    key: str
    body: bytes
    content_type: str
    cache_control: str


def config_js(api_url: str, tile_url: str | None = None, tile_attribution: str | None = None) -> bytes:
    lines = [f"window.CIVIC_API = {json.dumps(api_url.rstrip('/'))};"]
    if tile_url:
        lines.append(f"window.CIVIC_TILE_URL = {json.dumps(tile_url)};")
    if tile_attribution:
        lines.append(f"window.CIVIC_TILE_ATTRIBUTION = {json.dumps(tile_attribution)};")
    return ("\n".join(lines) + "\n").encode()


def web_objects(web_root: Path, api_url: str, tile_url: str | None = None, tile_attribution: str | None = None) -> list[WebObject]:
    """Every object the web bucket should hold, from a built web/ folder (pure: no AWS)."""
    dist = web_root / "dist"
    if not (dist / "app.js").is_file():
        raise FileNotFoundError(f"{dist}/app.js is missing: run `make web` first")
    out = [
        WebObject("index.html", (web_root / "index.html").read_bytes(), "text/html; charset=utf-8", REVALIDATE),
        WebObject("config.js", config_js(api_url, tile_url, tile_attribution), "application/javascript; charset=utf-8", REVALIDATE),
    ]
    for path in sorted(p for p in dist.rglob("*") if p.is_file() and not p.name.startswith(".")):
        key = path.relative_to(web_root).as_posix()
        if path.suffix in (".map", ".gz", ".br"):
            continue  # source maps stay out of the public site; CloudFront compresses by itself
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/javascript",):
            kind += "; charset=utf-8"
        out.append(WebObject(key, path.read_bytes(), kind, REVALIDATE if key in ENTRY_FILES else IMMUTABLE))
        if key == "dist/sw.js":  # the service worker is served from the root, so that it controls every page
            out.append(WebObject("sw.js", path.read_bytes(), kind, REVALIDATE))
    return out


def publish(s3, bucket: str, objects: list[WebObject]) -> list[str]:
    """Uploads the objects; returns their keys."""
    for obj in objects:
        s3.put_object(Bucket=bucket, Key=obj.key, Body=obj.body, ContentType=obj.content_type, CacheControl=obj.cache_control)
    return [o.key for o in objects]


def stack_outputs(cloudformation, stack: str) -> dict[str, str]:
    found = cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    return {o["OutputKey"]: o["OutputValue"] for o in found}


def main(argv: list[str] | None = None) -> int:
    import time

    import boto3

    parser = argparse.ArgumentParser(prog="python -m civic_dev.webdeploy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="the deployed stack's name")
    parser.add_argument("--web-root", default="web", type=Path)
    parser.add_argument("--api-url", help="defaults to the stack's EndpointURL output")
    parser.add_argument("--tile-url", help="an optional map tile URL template ({z}/{x}/{y})")
    parser.add_argument("--tile-attribution")
    args = parser.parse_args(argv)
    outputs = stack_outputs(boto3.client("cloudformation"), args.stack)
    api_url = args.api_url or outputs.get("EndpointURL")
    if not api_url:
        parser.error("the stack has no EndpointURL output; pass --api-url")
    objects = web_objects(args.web_root, api_url, args.tile_url, args.tile_attribution)
    keys = publish(boto3.client("s3"), outputs["WebBucketName"], objects)
    print(f"uploaded {len(keys)} files to s3://{outputs['WebBucketName']}/")
    if outputs.get("CdnDistributionId"):
        boto3.client("cloudfront").create_invalidation(
            DistributionId=outputs["CdnDistributionId"],
            InvalidationBatch={"Paths": {"Quantity": len(ENTRY_FILES), "Items": [f"/{k}" for k in ENTRY_FILES]},
                               "CallerReference": str(time.time())},
        )
        print(f"invalidated {', '.join(ENTRY_FILES)} on {outputs['CdnDistributionId']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
