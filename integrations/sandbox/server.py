"""Serve an ASGI app with uvicorn on a background thread: the sandboxes' (and tests') HTTP server.

    served = serve(app)                  # port 0: a free port picked by the OS
    httpx.get(served.url + "/...")
    served.stop()

Every sandbox is served this way (``start_sandbox()`` of ``telegram`` and ``yandex_delivery``,
``start_osrm_sandbox()`` of ``osrm``), each with a ``main()`` for running it standalone.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn


class ServedApp:
    """A running server: ``url`` (``http://host:port``), ``host``, ``port``, :meth:`stop`."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, sock: socket.socket, host: str, port: int) -> None:
        self._server = server
        self._thread = thread
        self._sock = sock
        self.host = host
        self.port = port
        connect_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.url = f"http://{connect_host}:{port}"

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, let open requests finish (briefly), and wait for the thread."""
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)
        try:
            self._sock.close()
        except OSError:
            pass

    def __enter__(self) -> "ServedApp":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(app: Any, host: str = "127.0.0.1", port: int = 0, *, name: str = "asgi", startup_timeout: float = 10.0) -> ServedApp:
    """Start ``app`` on ``host:port`` in a daemon thread and return once it accepts connections."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"{name}-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            sock.close()
            raise RuntimeError(f"{name} server failed to start on {host}:{port}")
        if time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"{name} server did not start within {startup_timeout} s")
        time.sleep(0.01)
    return ServedApp(server, thread, sock, host, sock.getsockname()[1])


__all__ = ["ServedApp", "serve"]
