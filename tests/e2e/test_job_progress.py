"""The jobs page draws each run's real progress: a finished run a full bar (it used to be empty next
to "100 %": the bar got the percentage as text), a failed one as far as it got."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import text

from tests.e2e.conftest import login, shot


def _run(engine, status: str, progress: float, message: str) -> int:
    with engine.begin() as c:
        return c.execute(text("""INSERT INTO job_run (kind, queue, user_id, username, args, status, steps, progress, message, attempts, max_attempts, created_at, finished_at)
                                 SELECT 'kit.export', 'pult', id, username, '{}', :s, '[]', :p, :m, 1, 1, now(), now() FROM "user" WHERE username = 'admin'
                                 RETURNING id"""), {"s": status, "p": progress, "m": message}).scalar()


def test_finished_runs_show_a_full_bar_and_failed_ones_their_progress(page, e2e_engine):
    done = _run(e2e_engine, "succeeded", 1.0, "progress check: done")
    failed = _run(e2e_engine, "failed", 0.4, "progress check: failed")
    login(page, "admin", "admin")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/admin/jobs?q=progress check")
    bar_done = page.locator(f"#row-{done} [role=progressbar]")
    bar_failed = page.locator(f"#row-{failed} [role=progressbar]")
    expect(bar_done).to_have_attribute("data-state", "complete")
    expect(bar_done).to_have_attribute("data-value", "100")
    expect(bar_failed).to_have_attribute("data-value", "40")
    expect(bar_failed).to_have_attribute("data-state", "loading")
    expect(page.locator(f"#row-{done}")).to_contain_text(re.compile(r"100\s*%"))
    shot(page, "jobs-progress")
