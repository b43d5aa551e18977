"""The Telegram poller: ``python -m jobs.telegram_poller``.

While **Администрирование → Telegram** has receiving switched to long polling, it asks the Bot API
for updates and runs the registered handlers (:mod:`app.panels.telegram.poller`); otherwise it idles,
checking the setting every couple of seconds. Run one beside the workers (``scripts/run`` and
docker-compose do); more are safe, they take turns by a Redis lock. SIGTERM/SIGINT stop it at once.

    python -m jobs.telegram_poller [--poll-timeout SECONDS]
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from app.boot import boot
from app.core import logs

log = logging.getLogger("pult.jobs.telegram_poller")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.telegram_poller", description=__doc__.splitlines()[0])
    parser.add_argument("--poll-timeout", type=int, default=int(os.environ.get("PULT_TELEGRAM_POLL_TIMEOUT", "20")),
                        help="seconds each getUpdates waits for an update (PULT_TELEGRAM_POLL_TIMEOUT, default 20)")
    parser.add_argument("--idle", type=float, default=float(os.environ.get("PULT_TELEGRAM_POLL_IDLE", "2")),
                        help="seconds between checks of the setting while not polling")
    parser.add_argument("--lock-ttl", type=float, default=None,
                        help="seconds a dead poller's lock holds off the others (default: poll timeout + 30)")
    parser.add_argument("--name", default=None)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logs.configure(level=args.log_level)  # JSON or text by PULT_LOG_FORMAT, secrets redacted

    # The panels register their bot handlers on import (and PULT_JOB_MODULES may add more).
    boot()
    from app.panels.telegram.poller import TelegramPoller

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    TelegramPoller(poll_timeout=args.poll_timeout, idle_seconds=args.idle, lock_ttl=args.lock_ttl, name=args.name).run(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
