"""The local stand-in for S3 + CloudFront: serves web/, /media/* (renditions from the media bucket) and
/open-data/* (the open data files, from the same bucket)."""

from __future__ import annotations

import json
import mimetypes
import socket
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from civic_dev.local import ports

# Paths read from the media bucket, as CloudFront's cache behaviours route them in AWS.
PUBLIC_PREFIXES = ("/media/", "/open-data/")


class _Handler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    media = None  # (s3 client, bucket), set per server

    def log_message(self, format, *args):  # quiet: the API logs are the interesting ones
        pass

    def end_headers(self):
        # The web app's security headers, as CloudFront's WebSecurityHeaders policy sends them in AWS
        # (the API and S3 are other origins here): the browser tests run under the same policy.
        if not self.path.startswith(("/_local/", *PUBLIC_PREFIXES)):
            self.send_header("Content-Security-Policy", (
                "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                f"img-src 'self' data: blob: https:; connect-src 'self' {self.server.api_url} {self.server.uploads_url}; "
                "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("X-Frame-Options", "DENY")
            self.send_header("Referrer-Policy", "strict-origin-when-cross-origin")
        if self.path in ("/index.html", "/dist/sw.js", "/"):  # the entry points are always revalidated
            self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def do_GET(self):
        if self.path.startswith(PUBLIC_PREFIXES):
            return self._media(head=False)
        if self.path.split("?", 1)[0] == "/config.js":
            return self._config()
        if self.path.split("?", 1)[0] == "/_local/meter":
            return self._meter(reset=False)
        if self.path.startswith("/_local/"):  # notifications: what the local stack sent (civic_dev.local.outbox)
            return self._local_outbox()
        if self.path.startswith("/track/"):  # links in messages (WEB_BASE_URL/track/<code>): the app routes them
            self.path = "/index.html"
        if self.path.split("?", 1)[0] == "/sw.js":  # the service worker, at the root so that it controls every page
            self.path = "/dist/sw.js"
        if self._precompressed():
            return None
        return super().do_GET()

    def _precompressed(self) -> bool:
        """The build's brotli (.br) or gzip (.gz) copy of a file of dist/, when the browser accepts it, as
        CloudFront compresses in AWS."""
        path = self.path.split("?", 1)[0]
        if not path.startswith("/dist/") or ".." in path:
            return False
        accepted = {part.split(";")[0].strip() for part in self.headers.get("Accept-Encoding", "").split(",")}
        for encoding, suffix in (("br", ".br"), ("gzip", ".gz")):
            packed = Path(self.directory) / (path.lstrip("/") + suffix)
            if encoding in accepted and packed.is_file():
                data = packed.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", self.guess_type(path))
                self.send_header("Content-Encoding", encoding)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Vary", "Accept-Encoding")
                self.end_headers()
                self.wfile.write(data)
                return True
        return False

    def do_POST(self):
        if self.path.split("?", 1)[0] == "/_local/settle":
            return self._settle()
        if self.path.split("?", 1)[0] == "/_local/meter/reset":
            return self._meter(reset=True)
        if self.path.startswith("/_local/"):  # the Zalo OA stand-in and its failure switch
            return self._local_outbox()
        return self.send_error(405)

    def _local_outbox(self) -> None:
        from civic_dev.local.outbox import serve

        status, body = serve(self.command, self.path, self.headers,
                             self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _meter(self, reset: bool) -> None:
        """GET /_local/meter: the AWS calls counted since the last POST /_local/meter/reset, by caller,
        service and operation, and the invocations with their durations (civic_dev.local.meter; the
        stack counts only when started with --meter, else 404)."""
        from civic_dev.local import meter

        if not meter.is_installed():
            return self.send_error(404)
        if reset:
            meter.reset()
        data = json.dumps({"reset": True} if reset else meter.snapshot()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _settle(self) -> None:
        """POST /_local/settle[?timeout=S]: wait until the dispatcher has delivered everything written
        so far (and what that caused); {"settled": false} when it is still busy after S seconds (600).
        Tests and scripts wait on this instead of guessing how long the functions take."""
        from urllib.parse import parse_qs, urlsplit

        raw = parse_qs(urlsplit(self.path).query).get("timeout", ["600"])[0]
        timeout = float(raw) if raw.replace(".", "", 1).isdigit() else 600.0
        dispatcher = getattr(self.server, "dispatcher", None)
        settled = dispatcher.drain(timeout=timeout) if dispatcher is not None else True
        data = json.dumps({"settled": settled}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _config(self) -> None:
        """Where the pages find the API; in AWS the deploy writes the same file to the web bucket.

        A map tile server is optional (none on this machine): CIVIC_TILE_URL, e.g.
        "https://tiles.example/{z}/{x}/{y}.png", and CIVIC_TILE_ATTRIBUTION give the web app one."""
        import os

        data = f"window.CIVIC_API = {json.dumps(self.server.api_url)};\n"
        for name in ("CIVIC_TILE_URL", "CIVIC_TILE_ATTRIBUTION"):
            if os.environ.get(name):
                data += f"window.{name} = {json.dumps(os.environ[name])};\n"
        data = data.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/javascript; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(data)

    def do_HEAD(self):
        if self.path.startswith(PUBLIC_PREFIXES):
            return self._media(head=True)
        return super().do_HEAD()

    def _media(self, head: bool) -> None:
        client, bucket = self.server.media
        key = self.path.split("?", 1)[0].lstrip("/")
        # Only renditions (media/...) and open data are public, as CloudFront's behaviours allow.
        if ".." in key or not key.startswith(tuple(p.lstrip("/") for p in PUBLIC_PREFIXES)):
            return self.send_error(404)
        try:
            obj = client.get_object(Bucket=bucket, Key=key)
        except client.exceptions.NoSuchKey:
            return self.send_error(404)
        except Exception:
            return self.send_error(404)
        data = obj["Body"].read()
        self.send_response(200)
        self.send_header("Content-Type", obj.get("ContentType") or mimetypes.guess_type(key)[0] or "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", obj.get("CacheControl") or "public, max-age=31536000, immutable")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        if not head:
            self.wfile.write(data)


class WebServer:
    def __init__(
        self, root: Path, sock: socket.socket, media_bucket: str, endpoint_url: str, region: str, api_url: str
    ) -> None:
        """``sock``: bound beforehand by civic_dev.local.ports."""
        import boto3

        self.server = ThreadingHTTPServer(sock.getsockname(), partial(_Handler, directory=str(root)),
                                          bind_and_activate=False)
        ports.adopt(self.server, sock)
        self.server.daemon_threads = True
        self.server.api_url = api_url
        self.server.uploads_url = endpoint_url  # presigned uploads go to the embedded S3
        self.server.dispatcher = None  # set once the stack's dispatcher runs (POST /_local/settle)
        self.server.media = (boto3.client("s3", endpoint_url=endpoint_url, region_name=region), media_bucket)
        self._thread = threading.Thread(target=self.server.serve_forever, name="web", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
