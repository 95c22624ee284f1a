"""The local stack's listening sockets, all bound before anything starts.

Binding every port first means a port that is taken (another program, or an ephemeral-port collision
on a busy machine) stops `civic local` at once with the port and the flag to change it, instead of a
server thread dying inside moto or werkzeug while the main thread waits for it forever.
"""

from __future__ import annotations

import socket
import socketserver


class PortTaken(RuntimeError):
    """A port the stack needs is in use; the message names the port and the flag that changes it."""

    def __init__(self, name: str, host: str, port: int, flag: str, reason: str) -> None:
        self.name, self.port, self.flag = name, port, flag
        super().__init__(f"Port {port} ({name}) on {host} is in use ({reason}) — is another stack or program "
                         f"running? Choose another port with {flag} PORT.")


def bind(host: str, port: int, name: str, flag: str) -> socket.socket:
    """A listening TCP socket on host:port, or PortTaken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # As every HTTP server here does: a port left in TIME_WAIT by a stack that just stopped is free.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise PortTaken(name, host, port, flag, exc.strerror or str(exc)) from None
    return sock


def reserve(host: str, wanted: dict[str, tuple[int, str]]) -> dict[str, socket.socket]:
    """Bind every {name: (port, flag)} or none: on the first taken port the others are released."""
    bound: dict[str, socket.socket] = {}
    try:
        for name, (port, flag) in wanted.items():
            bound[name] = bind(host, port, name, flag)
    except PortTaken:
        for sock in bound.values():
            sock.close()
        raise
    return bound


def adopt(server: socketserver.TCPServer, sock: socket.socket) -> None:
    """Give a server built with ``bind_and_activate=False`` the socket that `bind` made."""
    server.socket.close()
    server.socket = sock
    server.server_address = sock.getsockname()
    server.server_activate()
