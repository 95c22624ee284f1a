"""moto's server, the embedded AWS of the local stack and of the tests, on a socket bound beforehand.

moto's ThreadedMotoServer binds inside its server thread: when the port is taken, werkzeug prints
"Port … is in use" and exits that thread, and `start()` waits forever for a server that never comes.
Here the socket is bound by the caller (civic_dev.local.ports), so a taken port fails at once.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

from civic_dev.local import ports


class EmbeddedAWS:
    def __init__(self, sock: socket.socket, wrap: Callable[[Any], Any] | None = None) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        host, port = sock.getsockname()[:2]
        self.app = DomainDispatcherApplication(create_backend_app)
        # `wrap`: a WSGI middleware around moto (civic_dev.local.persist journals the changes)
        app = wrap(self.app) if wrap else self.app
        # werkzeug duplicates the descriptor; ours is closed once it has its own.
        self._server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler,
                                   fd=sock.fileno())
        sock.close()
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="embedded-aws", daemon=True)

    @classmethod
    def on_free_port(cls, host: str = "127.0.0.1") -> EmbeddedAWS:
        """Started on a port the system picks (tests): no race between choosing a port and binding it."""
        return cls(ports.bind(host, 0, "AWS", "--aws-port")).start()

    def start(self) -> EmbeddedAWS:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
