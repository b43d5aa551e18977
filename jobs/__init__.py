"""The worker side of background jobs.

* ``jobs.runner.execute`` — the one function RQ runs; it executes an attempt of a ``JobRun``.
* ``python -m jobs.worker`` — an RQ worker on queue ``pult`` with every job kind loaded.
* ``python -m jobs.scheduler`` — fires cron schedules and reaps runs orphaned by dead workers.
* ``python -m jobs.telegram_poller`` — receives Telegram updates by long polling while the settings
  page says so (one process polls at a time).

Job kinds themselves are declared with ``app.core.jobs.job_kind`` in the panels (or in modules
listed in ``PULT_JOB_MODULES``), e.g. ``jobs/<panel>.py`` imported by the panel's ``__init__``.
"""
