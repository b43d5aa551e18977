"""A page that starts a job and follows it in place: state mixin + card (status, progress bar,
message, the result's summary, the file link). Used by the import pages."""

from __future__ import annotations

from typing import Any

import reflex as rx

from app.core.ui.base import tr, ui_session
from models.jobs import JobRun


class JobRunMixin(rx.State, mixin=True):
    """Vars ``run_id`` / ``run`` / ``run_progress`` / ``busy`` kept current by the live bus:
    call ``live.watch(self, {"job_run"})`` on load and ``self._read_run()`` after enqueueing."""

    run_id: int = 0
    run: dict[str, str] = {}
    run_progress: int = 0
    busy: bool = False

    def run_summary(self, result: dict[str, Any]) -> str:
        """The line shown when the run succeeded (override)."""
        return ""

    def run_has_file(self, result: dict[str, Any]) -> bool:
        """Whether the succeeded run's file is worth a link (override)."""
        return True

    def live_refresh(self) -> None:
        if self.run_id:
            self._read_run()

    def _read_run(self) -> None:
        with ui_session() as db:
            run = db.get(JobRun, self.run_id)
            if run is None:
                return
            status = run.status.value if hasattr(run.status, "value") else str(run.status)
            result: dict[str, Any] = run.result or {}
            done = status == "succeeded"
            self.run = {
                "status": status,
                "status_label": self.t(f"jobs.status.{status}"),  # type: ignore[attr-defined]
                "message": run.message or "",
                "error": (run.error or "").split("\n\n", 1)[0],  # the summary; a traceback belongs in the log
                "summary": self.run_summary(result) if done else "",
                "file": f"/api/jobs/{run.id}/file" if done and run.result_file and self.run_has_file(result) else "",
            }
            # Done is done (a job need not report 100 % itself); otherwise how far it really got.
            self.run_progress = 100 if done else int(round((run.progress or 0) * 100))
            self.busy = status in ("queued", "running")


def status_color(status: rx.Var) -> rx.Var:
    """A run status's colour: green done, red failed, amber cancelled, the accent while it runs."""
    return rx.match(status, ("succeeded", "green"), ("failed", "red"), ("cancelled", "amber"), "indigo")


def job_run_card(state: Any, prefix: str, report_label: str, *links: rx.Component) -> rx.Component:
    """The run's card; element ids are ``<prefix>-status|progress|summary|report|run``. A finished
    run shows a full green bar and a tick; a failed or cancelled one how far it got, in red/amber."""
    status = state.run.get("status", "").to(str)
    color = status_color(status)
    return rx.cond(
        state.run_id > 0,
        rx.card(rx.vstack(
            rx.hstack(rx.badge(rx.cond(status == "succeeded", rx.icon("check", size=12), rx.fragment()), state.run.get("status_label", ""),
                               color_scheme=color, id=f"{prefix}-status"),
                      rx.text(state.run.get("message", ""), size="2", color_scheme="gray"), spacing="2", align="center"),
            rx.progress(value=state.run_progress, max=100, color_scheme=color, width="100%", id=f"{prefix}-progress"),
            rx.cond(state.run.get("summary", "") != "", rx.text(state.run.get("summary", ""), weight="medium", id=f"{prefix}-summary")),
            rx.cond(state.run.get("error", "") != "", rx.text(state.run.get("error", ""), color_scheme="red", size="2")),
            rx.hstack(
                rx.cond(state.run.get("file", "") != "", rx.link(
                    rx.button(rx.icon("file-warning", size=14), tr(report_label), variant="soft", color_scheme="red", size="2"),
                    href=state.run.get("file", ""), is_external=True, id=f"{prefix}-report")),
                *links,
                spacing="2",
            ),
            spacing="2", width="100%",
        ), width="100%", id=f"{prefix}-run"),
    )
