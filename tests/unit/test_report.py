"""The Report and Dashboard page kinds (app/core/report.py): parameters parsed by the field kinds,
bad parameters refused by the parameter (422 through the API, never a 500), the permission, CSV
cells that cannot run as formulas, and the API twin carrying what the page shows. The reports are
declared here on the fixture panel (``tests/kitpanel``): its items, its labels, its permission."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from app.boot import boot
from app.core import FormField, Report, ReportResult, blocks, fields
from app.core.errors import PermissionDenied, ValidationFailed
from app.core.report import fmt, parse_params

boot()

pytestmark = pytest.mark.usefixtures("kitpanel")


def _make(name: str, rows: list[dict], perm: str | None = "kitpanel.reports.view") -> Report:
    def compute(db, user, params):
        return ReportResult(kpis={"total": sum((r["amount"] for r in rows), Decimal(0)), "share": Decimal("0.125")},
                            series=[{"day": dt.date(2026, 3, 1), "amount": Decimal("1.50")}], tables={"rows": rows})

    return Report(
        name, f"/test/{name}", "kitpanel.report", perm=perm, compute=compute,
        params=[*blocks.period(days=7), fields.relation("item_id", "kitpanel.items"),
                FormField("bucket", "select", default="day", options=(("day", "kitpanel.day"), ("month", "kitpanel.month"))),
                fields.integer("top", min=1, max=50)],
        kpis=[blocks.kpi("total", "kitpanel.revenue", "money", currency="RUB"), blocks.kpi("share", "kitpanel.share", "percent")],
        chart=blocks.chart("day", [("amount", "kitpanel.revenue")]),
        tables=[blocks.table("rows", "kitpanel.by_item", [blocks.column("name", "kitpanel.item"),
                                                              blocks.column("amount", "kitpanel.profit", "money", currency="RUB", signed=True)])],
    )


def test_params_are_parsed_by_their_kinds_and_default(db, users, kit_data):
    rep = _make("parse", [])
    today = dt.date.today()
    params = parse_params(rep.params, {}, users["admin"], db)
    assert params["from"] <= today and params["to"] >= params["from"] and params["bucket"] == "day" and params["item_id"] is None
    got = parse_params(rep.params, {"from": "2026-01-02", "to": "2026-01-31", "item_id": str(kit_data["cable"].id), "bucket": "month", "top": "5"},
                       users["admin"], db)
    assert got == {"from": dt.date(2026, 1, 2), "to": dt.date(2026, 1, 31), "item_id": kit_data["cable"].id, "bucket": "month", "top": 5}
    assert parse_params(rep.params, {"from": "", "to": ""}, users["admin"], db)["from"] is None  # emptied: no bound


@pytest.mark.parametrize("raw, field, key", [
    ({"from": "2026-13-01"}, "from", "error.date"),
    ({"from": "2026-02-01", "to": "2026-01-01"}, "from", "report.bad_range"),
    ({"bucket": "year"}, "bucket", "error.choice"),
    ({"item_id": "abc"}, "item_id", "error.relation"),
    ({"item_id": "2147483648"}, "item_id", "error.relation"),
    ({"item_id": "999999"}, "item_id", "error.relation"),  # no such item
    ({"top": "0"}, "top", "error.min"),
    ({"top": "x"}, "top", "error.int"),
])
def test_bad_params_get_a_message_by_the_parameter(db, users, kit_data, raw, field, key):
    rep = _make(f"bad{abs(hash(str(raw))) % 10**6}", [])
    with pytest.raises(ValidationFailed) as info:
        rep.run(db, users["admin"], raw)
    assert info.value.errors[field][0] in (key, "error.number", "error.value"), info.value.errors


def test_permission_is_the_declarations(db, users):
    rep = _make("perm", [])
    with pytest.raises(PermissionDenied):
        rep.run(db, users["user"], {})
    rep.run(db, users["manager"], {})
    assert _make("open", [], perm=None).run(db, users["user"], {})[1].kpis["total"] == 0


def test_csv_cells_cannot_run_as_formulas(db, users):
    rep = _make("csv", [{"name": "=HYPERLINK(\"http://x\")", "amount": Decimal("-2.50")}, {"name": "+cmd", "amount": Decimal("3")}])
    _, result = rep.run(db, users["admin"], {})
    rows = list(csv.reader(io.StringIO(rep.csv(result, "ru").lstrip("\ufeff"))))
    assert rows[0] == ["Позиция", "Прибыль, ₽"]
    assert rows[1][0].startswith("'=") and rows[2][0].startswith("'+")
    assert rows[1][1] == "-2.50"  # a number stays a number (a spreadsheet sums it)


def test_the_api_twin_carries_what_the_page_shows(db, users):
    rep = _make("twin", [{"name": "Кабель", "amount": Decimal("-2.50")}])
    params, result = rep.run(db, users["admin"], {"from": "2026-03-01", "to": "2026-03-07"})
    body = rep.as_json(params, result)
    shown = rep.shown(result, "ru")
    assert body["params"]["from"] == "2026-03-01" and body["params"]["bucket"] == "day"
    assert shown["kpis"] == {"total": fmt(Decimal(body["kpis"]["total"]), "money", "ru", "RUB"), "share": "12,5\u00a0%"}
    assert shown["tables"]["rows"] == [{"name": "Кабель", "amount": "-2,50\u00a0₽", "amount__tone": "red"}]
    assert [Decimal(r["amount"]) for r in body["tables"]["rows"]] == [Decimal("-2.50")]
    assert shown["series"] == [{"day": "01.03", "amount": 1.5}]


def test_compute_that_takes_lang_gets_the_readers_language(db, users):
    """A compute declaring ``lang`` is given the reader's language by ``run`` (the page passes its
    own, the API the request's); one without it keeps its three arguments."""
    seen = []

    def compute(db, user, params, lang="ru"):
        seen.append(lang)
        return ReportResult()

    rep = Report("langs", "/test/langs", "kitpanel.report", perm=None, compute=compute)
    rep.run(db, users["user"], {}, "en")
    rep.run(db, users["user"], {})
    assert seen == ["en", "ru"]
    assert _make("plain", [], perm=None).run(db, users["user"], {}, "en")[1].kpis["share"] == Decimal("0.125")
