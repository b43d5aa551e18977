"""SFTP client over asyncssh, with a synchronous facade for jobs and event handlers.

::

    target = SftpTarget(host="sftp.example.org", port=22, username="pult", password="…",
                        remote_dir="/in", host_key="ssh-ed25519 AAAAC3Nz…")
    with SftpClient(target) as sftp:
        for f in sftp.list_files("*.csv"):         # RemoteFile(name, size, mtime), by name
            sftp.download(f.name, Path("/tmp") / f.name)
            sftp.move(f.name, "processed")         # creates processed/ when missing
        sftp.upload(Path("out.csv"), "numbers-20260101-0600.csv")   # temp name, then rename

Each :class:`SftpClient` runs its own event loop on a private thread and every method waits for
its coroutine there (``asyncio.run_coroutine_threadsafe``), so the facade works from a worker, a
thread pool or a synchronous Reflex handler alike — even one called while another loop runs.

Host keys (nothing is ever taken from ``~/.ssh``: no known_hosts, config, agent or default keys).
The caller pins the server's key: :attr:`SftpTarget.host_key` is the trusted public key (an
OpenSSH line, as in ``known_hosts`` without the host name). With a pin, the server must present
exactly that key, checked before any password or signature is sent. Without one the connection
is refused (``host_key_unknown``, with the fingerprint offered) unless ``trust_unknown_host_key``
is set: then the key presented is accepted and :attr:`SftpClient.server_key` tells the caller
what to store — trust on first use, done deliberately by a person (see
``app/panels/numbers/sftp.py`` and ``docs/integrations/sftp.md``).

Failures raise :class:`SftpError` with a short ``code`` (the i18n catalog has a message for
each under ``numbers.sftp.error.<code>``) and ``params`` for the message:

* ``unreachable`` (host, port, reason), ``timeout`` (host, port, seconds);
* ``host_key_unknown`` (host, port, fingerprint), ``host_key_changed`` (host, port, expected, got);
* ``auth_failed`` (user, host), ``bad_key`` (reason), ``key_encrypted`` (a passphrase-protected
  key: not supported, as there is nowhere to keep the passphrase), ``no_credentials``;
* ``folder_missing`` (path), ``file_missing`` (path), ``permission`` (path);
* ``failed`` (reason): anything else the server or the connection reported.

Passwords and private keys never appear in messages, ``repr()`` or log records.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fnmatch
import logging
import posixpath
import threading
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

log = logging.getLogger(__name__)

#: Suffix of the temporary name an upload is written under before it is renamed.
PARTIAL_SUFFIX = ".part"


class SftpError(Exception):
    """An SFTP operation failed; ``code`` names the reason, ``params`` fill its message."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = {k: str(v) for k, v in params.items()}
        super().__init__(code)

    def __str__(self) -> str:
        details = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"sftp {self.code}" + (f" ({details})" if details else "")

    def __repr__(self) -> str:
        return f"SftpError({self.code!r}, {self.params!r})"


@dataclass(frozen=True)
class SftpTarget:
    """Where to connect and how to log in (plaintext secrets, decrypted by the caller)."""

    host: str
    port: int = 22
    username: str = ""
    password: str | None = field(default=None, repr=False)
    #: An OpenSSH (or PEM) private key without a passphrase.
    private_key: str | None = field(default=None, repr=False)
    remote_dir: str = "/"
    #: The trusted host public key, one OpenSSH line (``ssh-ed25519 AAAA…``); None: none yet.
    host_key: str | None = None
    #: With no ``host_key``: accept the key the server presents (trust on first use).
    trust_unknown_host_key: bool = False
    #: Seconds to open the TCP connection and finish the SSH handshake and login.
    connect_timeout: float = 10.0
    #: Seconds any one operation (a listing, a whole download or upload) may take.
    timeout: float = 600.0


@dataclass(frozen=True)
class RemoteFile:
    name: str
    size: int
    #: Modification time on the server, seconds since the epoch (UTC).
    mtime: float


def fingerprint(public_key: str) -> str:
    """``SHA256:…`` of an OpenSSH public key line, as ``ssh-keygen -l`` prints it."""
    return asyncssh.import_public_key(public_key).get_fingerprint("sha256")


def public_key_line(key: asyncssh.SSHKey) -> str:
    """The key as one OpenSSH line without a comment (``ssh-ed25519 AAAA…``)."""
    algorithm, blob = key.export_public_key("openssh").decode("ascii").split()[:2]
    return f"{algorithm} {blob}"


def load_private_key(text: str) -> asyncssh.SSHKey:
    """Read an OpenSSH or PEM private key without a passphrase (raises :class:`SftpError`)."""
    try:
        return asyncssh.import_private_key(text.strip() + "\n")
    except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError, ValueError) as exc:
        reason = _reason(exc)
        if "passphrase" in reason.lower() or "encryption" in reason.lower():
            raise SftpError("key_encrypted") from None
        if any(len(part) >= 16 and part in reason for part in text.split()):
            reason = "unreadable"  # never echo key material
        raise SftpError("bad_key", reason=reason) from None


class _HostKeyCheck(asyncssh.SSHClient):
    """Accepts the pinned key only, or (trust on first use) any key; remembers what it saw."""

    def __init__(self, pinned: asyncssh.SSHKey | None, trust_unknown: bool) -> None:
        self.pinned = pinned
        self.trust_unknown = trust_unknown
        self.seen: asyncssh.SSHKey | None = None

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self.seen = key
        if self.pinned is not None:
            return key.public_data == self.pinned.public_data
        return self.trust_unknown


def _no_known_hosts(host: str, addr: str, port: int | None) -> tuple[list, list, list]:
    # An empty (not absent) trust list: every key goes through _HostKeyCheck, ~/.ssh is never read.
    return [], [], []


def _reason(exc: BaseException) -> str:
    return (getattr(exc, "reason", None) or str(exc) or type(exc).__name__).strip()[:300]


class SftpClient:
    """A connection to one SFTP folder (``target.remote_dir``); use as a context manager."""

    def __init__(self, target: SftpTarget) -> None:
        self.target = target
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._conn: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None
        self._check: _HostKeyCheck | None = None

    def __repr__(self) -> str:
        t = self.target
        return f"SftpClient({t.username}@{t.host}:{t.port}{t.remote_dir})"

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> SftpClient:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        """Open the connection and the SFTP session (raises :class:`SftpError`)."""
        if self._sftp is not None:
            return
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sftp-client", daemon=True)
        self._thread.start()
        try:
            self._run(self._connect(), self.target.connect_timeout + 5)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None:
            return
        try:
            if self._conn is not None:
                asyncio.run_coroutine_threadsafe(self._disconnect(), loop).result(5)
        except Exception:  # closing a dead connection: nothing left to release
            pass
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(5)
        if not loop.is_running():
            loop.close()
        self._loop = self._thread = None
        self._conn = self._sftp = None

    async def _disconnect(self) -> None:
        if self._sftp is not None:
            self._sftp.exit()
        if self._conn is not None:
            self._conn.close()
            await self._conn.wait_closed()

    def _run(self, coro: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
        if self._loop is None:
            coro.close()
            raise RuntimeError("SftpClient is not connected")
        limit = self.target.timeout if timeout is None else timeout
        future = asyncio.run_coroutine_threadsafe(asyncio.wait_for(coro, limit), self._loop)
        try:
            return future.result(limit + 5)
        except (asyncio.TimeoutError, concurrent.futures.TimeoutError):
            future.cancel()
            raise SftpError("timeout", host=self.target.host, port=self.target.port, seconds=round(limit)) from None

    # ------------------------------------------------------------------ host key
    @property
    def server_key(self) -> str | None:
        """The host key the server presented (one OpenSSH line), once connected."""
        seen = self._check.seen if self._check else None
        return public_key_line(seen) if seen is not None else None

    @property
    def server_fingerprint(self) -> str | None:
        seen = self._check.seen if self._check else None
        return seen.get_fingerprint("sha256") if seen is not None else None

    # ------------------------------------------------------------------ connect
    def _client_keys(self) -> list[asyncssh.SSHKey] | None:
        text = (self.target.private_key or "").strip()
        return [load_private_key(text)] if text else None  # None, not []: no ~/.ssh keys, no agent

    def _pinned(self) -> asyncssh.SSHKey | None:
        if not self.target.host_key:
            return None
        try:
            return asyncssh.import_public_key(self.target.host_key.strip())
        except (asyncssh.KeyImportError, ValueError) as exc:
            raise SftpError("failed", reason=f"stored host key unreadable: {_reason(exc)}") from None

    async def _connect(self) -> None:
        t = self.target
        if not t.password and not (t.private_key or "").strip():
            raise SftpError("no_credentials")
        keys = self._client_keys()
        pinned = self._pinned()
        check = self._check = _HostKeyCheck(pinned, t.trust_unknown_host_key)
        options: dict[str, Any] = {}
        if pinned is not None:  # make the server present the pinned key's type
            options["server_host_key_algs"] = [a.decode("ascii") for a in pinned.sig_algorithms]
        try:
            self._conn, _ = await asyncssh.create_connection(
                lambda: check, t.host, t.port,
                username=t.username, password=t.password or None, client_keys=keys, passphrase=None,
                known_hosts=_no_known_hosts, config=[], agent_path=None, gss_host=None, x509_trusted_certs=None,
                connect_timeout=t.connect_timeout, login_timeout=t.connect_timeout, keepalive_interval=30,
                **options,
            )
            self._sftp = await self._conn.start_sftp_client()
        except asyncssh.HostKeyNotVerifiable:
            got = check.seen.get_fingerprint("sha256") if check.seen else "?"
            if pinned is not None:
                raise SftpError("host_key_changed", host=t.host, port=t.port, expected=pinned.get_fingerprint("sha256"), got=got) from None
            raise SftpError("host_key_unknown", host=t.host, port=t.port, fingerprint=got) from None
        except asyncssh.KeyExchangeFailed as exc:
            if pinned is not None:  # the server no longer has a key of the pinned type
                raise SftpError("host_key_changed", host=t.host, port=t.port, expected=pinned.get_fingerprint("sha256"), got="?") from None
            raise SftpError("failed", reason=_reason(exc)) from None
        except asyncssh.PermissionDenied:
            raise SftpError("auth_failed", user=t.username, host=t.host) from None
        except (asyncio.TimeoutError, TimeoutError):
            raise SftpError("timeout", host=t.host, port=t.port, seconds=round(t.connect_timeout)) from None
        except (OSError, asyncssh.ConnectionLost) as exc:
            raise SftpError("unreachable", host=t.host, port=t.port, reason=_reason(exc)) from None
        except asyncssh.Error as exc:
            raise SftpError("failed", reason=_reason(exc)) from None
        log.info("sftp connected to %s:%s (host key %s)", t.host, t.port, self.server_fingerprint)

    # ------------------------------------------------------------------ operations
    def _path(self, *parts: str) -> str:
        return posixpath.join(self.target.remote_dir or ".", *parts)

    async def _guard(self, coro: Coroutine[Any, Any, Any], path: str, missing: str = "file_missing") -> Any:
        try:
            return await coro
        except (asyncssh.SFTPNoSuchFile, asyncssh.SFTPNoSuchPath):
            raise SftpError(missing, path=path) from None
        except asyncssh.SFTPPermissionDenied:
            raise SftpError("permission", path=path) from None
        except asyncssh.SFTPError as exc:
            raise SftpError("failed", reason=f"{path}: {_reason(exc)}") from None
        except (OSError, asyncssh.DisconnectError) as exc:
            raise SftpError("failed", reason=_reason(exc)) from None

    def _sftp_client(self) -> asyncssh.SFTPClient:
        if self._sftp is None:
            raise RuntimeError("SftpClient is not connected")
        return self._sftp

    async def _entries(self) -> list[asyncssh.SFTPName]:
        path = self._path()
        entries = await self._guard(self._sftp_client().readdir(path), path, missing="folder_missing")
        return [e for e in entries if e.filename not in (".", "..", b".", b"..")]

    def check_folder(self) -> int:
        """That the remote folder exists and can be listed; returns how many entries it holds."""
        return len(self._run(self._entries()))

    def list_files(self, mask: str = "*") -> list[RemoteFile]:
        """Regular files of the remote folder whose names match ``mask`` (``fnmatch``, case as
        written), oldest first; a half-written upload (``*.part``, dot files) never matches."""
        async def go() -> list[RemoteFile]:
            entries = await self._entries()
            out = []
            for e in entries:
                name = e.filename if isinstance(e.filename, str) else e.filename.decode("utf-8", "replace")
                if name.startswith(".") or name.endswith(PARTIAL_SUFFIX) or e.attrs.type != asyncssh.FILEXFER_TYPE_REGULAR:
                    continue
                if fnmatch.fnmatchcase(name, mask or "*"):
                    out.append(RemoteFile(name, int(e.attrs.size or 0), float(e.attrs.mtime or 0)))
            return sorted(out, key=lambda f: (f.mtime, f.name))

        return self._run(go())

    def download(self, name: str, local_path: Path) -> Path:
        """Copy remote ``name`` (in the folder) to ``local_path``; returns it."""
        local_path.parent.mkdir(parents=True, exist_ok=True)
        remote = self._path(name)
        self._run(self._guard(self._sftp_client().get(remote, str(local_path)), remote))
        return local_path

    def upload(self, local_path: Path, name: str) -> str:
        """Write ``local_path`` to ``name`` in the folder atomically: first under a hidden
        temporary name (``.<name>.<random>.part``), then renamed over ``name``, so a reader
        polling the folder never sees half a file. Returns the remote path."""
        async def go() -> str:
            sftp = self._sftp_client()
            final, temp = self._path(name), self._path(f".{name}.{uuid.uuid4().hex[:8]}{PARTIAL_SUFFIX}")
            try:
                await self._guard(sftp.put(str(local_path), temp), temp)
                await self._replace(temp, final)
            except BaseException:
                try:
                    await sftp.remove(temp)
                except Exception:  # the temp may not exist; a stray .part never matches a mask
                    pass
                raise
            return final

        return self._run(go())

    async def _replace(self, source: str, target: str) -> None:
        sftp = self._sftp_client()
        try:
            await sftp.posix_rename(source, target)  # OpenSSH extension: atomic replace
            return
        except asyncssh.SFTPOpUnsupported:
            pass
        except asyncssh.SFTPError as exc:
            raise SftpError("failed", reason=f"{target}: {_reason(exc)}") from None
        if await sftp.exists(target):  # plain SFTP rename refuses to overwrite
            await self._guard(sftp.remove(target), target)
        await self._guard(sftp.rename(source, target), target)

    def move(self, name: str, folder: str) -> str:
        """Move ``name`` into the sub-folder ``folder`` (created when missing). A file of that name
        already there is kept: the moved one gets a numbered name. Returns the new remote path."""
        async def go() -> str:
            sftp = self._sftp_client()
            target_dir = self._path(folder)
            await self._guard(sftp.makedirs(target_dir, exist_ok=True), target_dir)
            stem, dot, ext = name.rpartition(".") if "." in name.lstrip(".") else (name, "", "")
            target, n = posixpath.join(target_dir, name), 1
            while await sftp.exists(target):
                target = posixpath.join(target_dir, f"{stem}-{n}{dot}{ext}")
                n += 1
            await self._guard(sftp.rename(self._path(name), target), self._path(name))
            return target

        return self._run(go())
