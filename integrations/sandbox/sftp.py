"""A local SFTP server for tests and development (asyncssh), rooted at a directory.

One user logs in with a password and/or any of the authorised public keys; the SFTP session is
chrooted to ``root`` (the client's ``/`` is ``root``); shells, commands and port forwarding are
refused. The host key is generated per start unless one is given.

In tests::

    sandbox = start_sandbox(tmp_path, username="demo", password="demo")   # own thread, free port
    sandbox.host_key            # "ssh-ed25519 AAAA…" — what a client pins
    sandbox.authorize(public_key_line)
    sandbox.ops                 # [("write", "/in/.x.csv.ab12cd34.part"), ("posix_rename", "… -> /in/x.csv"), …]
    sandbox.fail_writes(1)      # the next write request fails (SSH_FX_FAILURE)
    sandbox.stop()

Standalone::

    python -m integrations.sandbox.sftp --port 2222 --root /tmp/sftp --user demo --password demo

prints the host key and its fingerprint (``--host-key FILE`` keeps one across restarts: it is
created when missing) and serves until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import os
import signal
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import asyncssh

from integrations.sftp import public_key_line


class _Sftp(asyncssh.SFTPServer):
    """The stock file server chrooted to the sandbox root, recording what clients do."""

    def __init__(self, chan: asyncssh.SSHServerChannel, sandbox: SftpSandbox) -> None:
        super().__init__(chan, chroot=str(sandbox.root).encode())
        self._sandbox = sandbox
        self._names: dict[int, str] = {}

    @staticmethod
    def _p(path: bytes) -> str:
        return path.decode("utf-8", "replace")

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> Any:
        file_obj = super().open(path, pflags, attrs)
        writing = bool(pflags & (asyncssh.FXF_WRITE | asyncssh.FXF_APPEND | asyncssh.FXF_CREAT))
        self._sandbox._record("open_write" if writing else "open_read", self._p(path))
        self._names[id(file_obj)] = self._p(path)
        return file_obj

    def write(self, file_obj: object, offset: int, data: bytes) -> Any:
        name = self._names.get(id(file_obj), "?")
        if self._sandbox._take_write_failure():
            self._sandbox._record("write_failed", name)
            raise asyncssh.SFTPFailure("injected write failure")
        self._sandbox._record("write", name)
        return super().write(file_obj, offset, data)

    def close(self, file_obj: object) -> Any:
        self._names.pop(id(file_obj), None)
        return super().close(file_obj)

    def rename(self, oldpath: bytes, newpath: bytes) -> Any:
        self._sandbox._record("rename", f"{self._p(oldpath)} -> {self._p(newpath)}")
        return super().rename(oldpath, newpath)

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> Any:
        self._sandbox._record("posix_rename", f"{self._p(oldpath)} -> {self._p(newpath)}")
        return super().posix_rename(oldpath, newpath)

    def remove(self, path: bytes) -> Any:
        self._sandbox._record("remove", self._p(path))
        return super().remove(path)

    def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> Any:
        self._sandbox._record("mkdir", self._p(path))
        return super().mkdir(path, attrs)


class _Server(asyncssh.SSHServer):
    def __init__(self, sandbox: SftpSandbox) -> None:
        self._sandbox = sandbox

    def begin_auth(self, username: str) -> bool:
        return True  # always ask for credentials

    def password_auth_supported(self) -> bool:
        return self._sandbox.password is not None

    def validate_password(self, username: str, password: str) -> bool:
        ok = username == self._sandbox.username and hmac.compare_digest(password.encode(), (self._sandbox.password or "").encode())
        self._sandbox._record("login", f"{username} password {'ok' if ok else 'refused'}")
        return ok

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        ok = username == self._sandbox.username and any(key.public_data == k.public_data for k in self._sandbox.authorized_keys)
        self._sandbox._record("login", f"{username} publickey {'ok' if ok else 'refused'}")
        return ok


class SftpSandbox:
    """A running server: ``host``, ``port``, ``root``, ``host_key`` (its public line), :meth:`stop`."""

    def __init__(
        self,
        root: Path,
        *,
        username: str = "demo",
        password: str | None = "demo",
        host: str = "127.0.0.1",
        port: int = 0,
        host_key: asyncssh.SSHKey | None = None,
        authorized_keys: Iterable[str] = (),
    ) -> None:
        self.root = Path(root).resolve()
        self.username = username
        self.password = password
        self.host = host
        self.port = port
        self._host_key = host_key or asyncssh.generate_private_key("ssh-ed25519")
        self.authorized_keys: list[asyncssh.SSHKey] = [asyncssh.import_public_key(k) for k in authorized_keys]
        self.ops: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._write_failures = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._acceptor: Any = None

    # ------------------------------------------------------------------ what tests read
    @property
    def host_key(self) -> str:
        """The server's public host key as one OpenSSH line."""
        return public_key_line(self._host_key)

    @property
    def fingerprint(self) -> str:
        return self._host_key.get_fingerprint("sha256")

    def path(self, remote: str) -> Path:
        """The local path of a remote path (``/in/a.csv`` → ``<root>/in/a.csv``)."""
        return self.root / remote.lstrip("/")

    def authorize(self, public_key: str) -> None:
        self.authorized_keys.append(asyncssh.import_public_key(public_key))

    def fail_writes(self, times: int = 1) -> None:
        """Make the next ``times`` write requests fail."""
        with self._lock:
            self._write_failures = times

    def reset(self) -> None:
        with self._lock:
            self.ops.clear()
            self._write_failures = 0

    def _record(self, op: str, detail: str) -> None:
        with self._lock:
            self.ops.append((op, detail))

    def _take_write_failure(self) -> bool:
        with self._lock:
            if self._write_failures > 0:
                self._write_failures -= 1
                return True
            return False

    # ------------------------------------------------------------------ lifecycle
    async def _listen(self) -> None:
        self._acceptor = await asyncssh.listen(
            self.host, self.port,
            server_factory=lambda: _Server(self),
            server_host_keys=[self._host_key],
            sftp_factory=lambda chan: _Sftp(chan, self),
            allow_scp=False,
            agent_forwarding=False, allow_pty=False, x11_forwarding=False,
            login_timeout=30,
        )
        self.port = self._acceptor.get_port()

    def start(self, timeout: float = 10.0) -> SftpSandbox:
        """Serve from a daemon thread; returns once the port accepts connections."""
        self.root.mkdir(parents=True, exist_ok=True)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sftp-sandbox", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        loop = self._loop
        if loop is None:
            return

        async def close() -> None:
            if self._acceptor is not None:
                self._acceptor.close()
                await self._acceptor.wait_closed()

        try:
            asyncio.run_coroutine_threadsafe(close(), loop).result(timeout)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout)
            if not loop.is_running():
                loop.close()
            self._loop = self._thread = None

    def __enter__(self) -> SftpSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sandbox(root: Path | str | None = None, **options: Any) -> SftpSandbox:
    """Start a sandbox on a free port (``port=0``) serving ``root`` (a new temp dir when None)."""
    root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="pult-sftp-"))
    return SftpSandbox(root, **options).start()


def _load_host_key(path: Path | None) -> asyncssh.SSHKey | None:
    if path is None:
        return None
    if path.exists():
        return asyncssh.read_private_key(str(path))
    key = asyncssh.generate_private_key("ssh-ed25519")
    path.parent.mkdir(parents=True, exist_ok=True)
    key.write_private_key(str(path))
    os.chmod(path, 0o600)
    return key


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m integrations.sandbox.sftp", description="Local SFTP sandbox")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=2222)
    ap.add_argument("--root", type=Path, default=Path(tempfile.gettempdir()) / "pult-sftp")
    ap.add_argument("--user", default="demo")
    ap.add_argument("--password", default="demo", help="empty: public keys only")
    ap.add_argument("--authorized-key", type=Path, action="append", default=[], help="a public key file (repeatable)")
    ap.add_argument("--host-key", type=Path, help="private host key file; created when missing")
    args = ap.parse_args(argv)
    keys = [p.read_text().strip() for p in args.authorized_key]
    sandbox = SftpSandbox(args.root, username=args.user, password=args.password or None, host=args.host, port=args.port,
                          host_key=_load_host_key(args.host_key), authorized_keys=keys).start()
    print(f"SFTP sandbox on {sandbox.host}:{sandbox.port}, root {sandbox.root}, user {sandbox.username}", flush=True)
    print(f"host key: {sandbox.host_key}\nfingerprint: {sandbox.fingerprint}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    sandbox.stop()


if __name__ == "__main__":
    main()
