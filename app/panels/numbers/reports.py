"""Project conversion (seed 004, 2.3) as a declared report: processed numbers, successes, refusals
and no-answers per project with their shares, a period and a provider filter, a chart by day —
the page, ``/api/numbers/reports/conversion`` and its CSV from this one declaration. A manager
sees only the providers assigned to them: the compute applies the scope, and a provider outside
it is refused as a parameter."""

from __future__ import annotations

from app.core import Report, blocks, fields
from app.panels.numbers import services
from app.panels.numbers.routes import CONVERSION as ROUTE

CONVERSION = Report(
    "conversion", ROUTE, "numbers.conversion", perm="numbers.conversion.view", id_prefix="conv",
    params=[*blocks.period(days=30), fields.relation("provider_id", "numbers.providers", label="numbers.provider", help="numbers.all_providers")],
    compute=services.conversion_report,
    kpis=[
        blocks.kpi("processed", "numbers.processed"), blocks.kpi("success", "numbers.kind.success"),
        blocks.kpi("success_rate", "numbers.success_rate", "percent"), blocks.kpi("refusal", "numbers.kind.refusal"),
        blocks.kpi("no_answer", "numbers.kind.no_answer"),
    ],
    chart=blocks.chart("day", [("processed", "numbers.processed", "#8da4ef"), ("success", "numbers.kind.success", "#30a46c")]),
    tables=[blocks.table("projects", None, [
        blocks.column("project", "numbers.project"), blocks.column("processed", "numbers.processed", "int"),
        blocks.column("success", "numbers.kind.success", "int"), blocks.column("success_rate", "numbers.success_rate", "percent"),
        blocks.column("refusal", "numbers.kind.refusal", "int"), blocks.column("refusal_rate", "numbers.refusal_rate", "percent"),
        blocks.column("no_answer", "numbers.kind.no_answer", "int"), blocks.column("no_answer_rate", "numbers.no_answer_rate", "percent"),
    ], id="conv-table")],
    live={"phone_number", "number_stat", "project"},
)
