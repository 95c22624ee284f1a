"""The local stand-in for S3 + CloudFront: serves web/ and /media/* (renditions from the media bucket)."""

from __future__ import annotations

import json
import mimetypes
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _Handler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    media = None  # (s3 client, bucket), set per server

    def log_message(self, format, *args):  # quiet: the API logs are the interesting ones
        pass

    def do_GET(self):
        if self.path.startswith("/media/"):
            return self._media(head=False)
        if self.path.split("?", 1)[0] == "/config.js":
            return self._config()
        return super().do_GET()

    def _config(self) -> None:
        """Where the pages find the API; in AWS the deploy writes the same file to the web bucket."""
        data = f"window.CIVIC_API = {json.dumps(self.server.api_url)};\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/javascript; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(data)

    def do_HEAD(self):
        if self.path.startswith("/media/"):
            return self._media(head=True)
        return super().do_HEAD()

    def _media(self, head: bool) -> None:
        client, bucket = self.server.media
        key = self.path.split("?", 1)[0].lstrip("/")
        # Only renditions (media/...) are public, as CloudFront's /media/* behaviour allows.
        if ".." in key or not key.startswith("media/"):
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
        self.send_header("Cache-Control", "public, max-age=31536000, immutable")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        if not head:
            self.wfile.write(data)


class WebServer:
    def __init__(
        self, root: Path, host: str, port: int, media_bucket: str, endpoint_url: str, region: str, api_url: str
    ) -> None:
        import boto3

        self.server = ThreadingHTTPServer((host, port), partial(_Handler, directory=str(root)))
        self.server.daemon_threads = True
        self.server.api_url = api_url
        self.server.media = (boto3.client("s3", endpoint_url=endpoint_url, region_name=region), media_bucket)
        self._thread = threading.Thread(target=self.server.serve_forever, name="web", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
