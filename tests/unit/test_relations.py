"""Relation columns (``col("item_id").relation("kitpanel.items")``, on the fixture panel ``tests/kitpanel``): titles read once per page
through ``query.get_many`` (one query per related resource, never one per row), sorted by the
related title through a join, exported through the same join (COPY and Python paths alike), and
never the title of a record the reader may not see."""

from __future__ import annotations

import csv
import re
from contextlib import contextmanager

import pytest
from openpyxl import load_workbook
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.core import auth, crud, exporter, query
from app.core.auth import CurrentUser
from app.core.query import ListParams, get_list, get_many, relation_titles
from app.core.registry import resource
from models.numbers import PhoneNumber
from tests.kitpanel.models import Delivery

pytestmark = pytest.mark.usefixtures("kitpanel")

#: May list deliveries but not items: sees the item ids, never their names.
NO_ITEMS = CurrentUser(id=None, username="clerk", roles=(), permissions=frozenset({"kitpanel.deliveries.view"}))


@contextmanager
def statements():
    """Every SQL statement sent to PostgreSQL meanwhile (SQLAlchemy's ``before_cursor_execute``)."""
    seen: list[str] = []

    def log(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", log)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", log)


def _from(seen: list[str], table: str) -> list[str]:
    return [s for s in seen if re.search(rf"\bFROM {table}\b", s)]


@pytest.fixture()
def deliveries(db, users, kit_data):
    """Twelve deliveries of six items whose names do not sort like their ids."""
    items = resource("kitpanel.items")
    names = ["Яблоко", "Груша", "Арбуз", "Вишня", "Банан", "Дыня"]
    made = [crud.create_record(db, items, users["admin"], {"name": n, "price_rub": "10"}) for n in names]
    for i in range(12):
        db.add(Delivery(item_id=made[i % 6].id, qty=i + 1, vendor="Альфа"))
    db.commit()
    return {p.name: p.id for p in made}


@pytest.fixture()
def numbers(db, users, numbers_world):
    """Forty numbers spread over both providers, both projects, the geo and three statuses."""
    w = numbers_world
    codes = list(w["status"])[:3]
    for i in range(40):
        mine = i % 2 == 0
        db.add(PhoneNumber(phone=f"+7999555{i:04d}", provider_id=w["mine"] if mine else w["other"],
                           project_id=w["project"] if i % 4 == 0 else w["other_project"], geo_id=w["geo"] if i % 3 else None,
                           status_id=w["status"][codes[i % 3]]))
    db.commit()
    return w


# --------------------------------------------------------------------------- one round trip for a page's titles
@pytest.mark.parametrize("size", [5, 40])
def test_titles_of_a_page_are_one_round_trip_for_every_related_resource(db, users, numbers, size):
    res = resource("numbers.numbers")()
    page = get_list(db, res, users["admin"], ListParams(page_size=size))
    assert len(page.rows) == size
    with statements() as seen:
        titles = relation_titles(db, res, users["admin"], page.rows)
    # status, project, provider, geo: one statement (a UNION ALL of the four scoped look-ups),
    # whatever the page size
    assert len(seen) == 1
    for table in ("number_status", "project", "provider", "geo"):
        assert len(_from(seen, table)) == 1, table
    assert set(titles["project_id"].values()) == {"Проект свой", "Проект чужой"}
    assert set(titles["provider_id"].values()) == {"Своя", "Чужая"}


def test_the_list_page_reads_titles_once_however_long_the_page(db, users, deliveries, monkeypatch):
    """The generated list page (its Reflex state) as a browser loads it: the item names of the
    deliveries list come from one query, and a page of 12 rows costs no more statements than one of 3."""
    from tests.unit.test_list_view import _list

    token = auth.login(db, "admin", "admin-pass")
    counts = {}
    for size in (3, 12):
        monkeypatch.setattr(resource("kitpanel.deliveries"), "page_size", size)
        with statements() as seen:
            lst = _list(token, "kitpanel.deliveries", "sort=id")
        assert len(lst.rows) == size
        assert len(_from(seen, "kitpanel.kit_item")) == 1  # the titles: one query for the page, not one per row
        counts[size] = len(seen)
    assert counts[3] == counts[12]
    column_index = next(j for j, c in enumerate(resource("kitpanel.deliveries").columns) if c.name == "item_id")
    assert [r[f"c{column_index}"] for r in lst.rows[:6]] == ["Кабель USB-C", "Роутер Pro", "Яблоко", "Груша", "Арбуз", "Вишня"]


def test_get_many_reads_python_titles_in_one_query_too(db, users, kit_data):
    """A resource whose title only ``title()`` knows (orders: "№12 · +7 916 …") is loaded, still once."""
    orders = resource("kitpanel.orders")
    made = [crud.create_record(db, orders, users["admin"], {"phone": f"+7 916 555-00-0{i}", "item_id": str(kit_data["cable"].id), "qty": "1"})
            for i in range(3)]
    assert orders.title_sql() is None
    with statements() as seen:
        titles = get_many(db, orders, users["admin"], [o.id for o in made] + [None])
    assert len(seen) == 1
    assert titles == {o.id: f"№{o.id} · +7 916 555-00-0{i}" for i, o in enumerate(made)}


# --------------------------------------------------------------------------- sorting
def test_sort_by_a_relation_sorts_by_the_related_title(db, users, deliveries):
    res = resource("kitpanel.deliveries")()
    item_ids = {v for v in deliveries.values()}
    order = sorted(deliveries, key=str)  # Арбуз, Банан, Вишня, Груша, Дыня, Яблоко
    for sort, expected in (("item_id", order), ("-item_id", order[::-1])):
        seen, cursor_page = [], 0
        while True:
            page = get_list(db, res, users["admin"], ListParams(sort=sort, page_size=5, page=cursor_page))
            assert not page.keyset and page.sort == sort  # a join: offset paging
            seen += [r for r in page.rows if r.item_id in item_ids]
            if not page.has_next:
                break
            cursor_page += 1
        names = {v: k for k, v in deliveries.items()}
        titles = [names[r.item_id] for r in seen]
        assert titles == [n for n in expected for _ in range(2)]
        # ties (two deliveries per item) are broken by the key, then the id: pages never repeat a row
        assert len({r.id for r in seen}) == 12


def test_sort_without_the_right_to_see_titles_falls_back_to_the_key(db, users, deliveries):
    res = resource("kitpanel.deliveries")()
    rows = get_list(db, res, NO_ITEMS, ListParams(sort="item_id", page_size=50)).rows
    assert [r.item_id for r in rows] == sorted(r.item_id for r in rows)


def test_the_numbers_list_keeps_keyset_paging_without_joins(db, users, numbers):
    """Millions of rows: the default sort and the indexed sorts never join (relation columns
    of numbers are not sortable), so pages stay keyset scans of one table."""
    res = resource("numbers.numbers")()
    assert not any(c.is_sortable for c in res.columns if c.resource)
    with statements() as seen:
        page = get_list(db, res, users["manager"], ListParams(page_size=10, count_mode="estimate"))
    assert page.keyset
    assert not any("OUTER JOIN" in s for s in seen)


# --------------------------------------------------------------------------- exports
def _csv(path) -> list[list[str]]:
    return list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))


def test_export_writes_titles_through_a_join_on_the_copy_path(db, users, deliveries, tmp_path, monkeypatch):
    res = resource("kitpanel.deliveries")()
    params = ListParams(sort="-item_id")
    fast = exporter.copy_select(res, users["admin"], params)
    assert fast is not None and "LEFT OUTER JOIN" in str(fast)  # PostgreSQL writes it (COPY), titles joined
    copy_path, python_path = tmp_path / "copy.csv", tmp_path / "python.csv"
    exporter.export(db, res, users["admin"], params, copy_path)
    rows = _csv(copy_path)
    column = rows[0].index("Позиция")
    names = [r[column] for r in rows[1:]]
    assert names[:2] == ["Яблоко", "Яблоко"] and "Кабель USB-C" in names
    # the Python path (computed columns, XLSX) writes the same cells
    monkeypatch.setattr(exporter, "copy_select", lambda *a, **k: None)
    exporter.export(db, res, users["admin"], params, python_path)
    assert _csv(python_path) == rows
    xlsx = tmp_path / "s.xlsx"
    exporter.export(db, res, users["admin"], params, xlsx, "xlsx")
    sheet = [list(r) for r in load_workbook(xlsx, read_only=True).active.values]
    assert [r[column] for r in sheet[1:]] == names


def test_python_export_reads_titles_per_batch_not_per_row(db, users, deliveries, tmp_path, monkeypatch):
    monkeypatch.setattr(exporter, "copy_select", lambda *a, **k: None)
    monkeypatch.setattr(exporter, "BATCH", 5)
    with statements() as seen:
        n = exporter.export(db, resource("kitpanel.deliveries")(), users["admin"], ListParams(), tmp_path / "s.csv")
    assert n == 14  # two initial deliveries of kit_data, twelve of ours
    assert len([s for s in _from(seen, "kitpanel.kit_item") if "kit_item.id IN" in s]) == 3  # batches of 5, 5, 4


# --------------------------------------------------------------------------- what a reader may see
def test_no_titles_of_a_resource_the_reader_may_not_view(db, users, deliveries, tmp_path):
    res = resource("kitpanel.deliveries")()
    page = get_list(db, res, NO_ITEMS, ListParams(sort="id"))
    assert relation_titles(db, res, NO_ITEMS, page.rows) == {"item_id": {}}
    assert get_many(db, resource("kitpanel.items"), NO_ITEMS, [deliveries["Яблоко"]]) == {}
    for path_kind in ("copy", "python"):
        path = tmp_path / f"{path_kind}.csv"
        if path_kind == "python":
            exporter.export(db, res, NO_ITEMS, ListParams(sort="id"), tmp_path / "x.xlsx", "xlsx")
            sheet = list(load_workbook(tmp_path / "x.xlsx", read_only=True).active.values)
            cells = [r[sheet[0].index("Позиция")] for r in sheet[1:]]
        else:
            exporter.export(db, res, NO_ITEMS, ListParams(sort="id"), path)
            rows = _csv(path)
            cells = [r[rows[0].index("Позиция")] for r in rows[1:]]
        assert all(re.fullmatch(r"#\d+", c) for c in cells), cells
        assert "Яблоко" not in cells


def test_no_titles_of_records_outside_the_readers_scope(db, users, numbers, tmp_path):
    """A manager sees numbers of their provider; a project their providers do not feed (and they
    did not create) is not theirs to see: its name stays hidden — in the list, the API and exports."""
    w = numbers
    res = resource("numbers.numbers")()
    page = get_list(db, res, users["manager"], ListParams(page_size=100))
    assert {r.provider_id for r in page.rows} == {w["mine"]}
    titles = relation_titles(db, res, users["manager"], page.rows)
    assert titles["project_id"] == {w["project"]: "Проект свой"}  # "Проект чужой" is not named
    assert w["other_project"] in {r.project_id for r in page.rows}
    admin_titles = relation_titles(db, res, users["admin"], page.rows)
    assert admin_titles["project_id"][w["other_project"]] == "Проект чужой"
    from app.panels.numbers import transfers

    out = tmp_path / "n.csv"
    transfers.export_numbers(db, users["manager"], ListParams(), out, lang="ru")
    projects = {r[2] for r in _csv(out)[1:]}
    assert projects == {"Проект свой", f"#{w['other_project']}"}


def test_status_titles_follow_the_readers_language(db, users, numbers):
    res = resource("numbers.numbers")()
    rows = get_list(db, res, users["admin"], ListParams(page_size=3)).rows
    ru = relation_titles(db, res, users["admin"], rows, "ru")["status_id"]
    en = relation_titles(db, res, users["admin"], rows, "en")["status_id"]
    assert "Новый" in ru.values() and "New" in en.values()


def test_a_relation_cell_reads_hash_id_when_unknown_and_nothing_without_a_link():
    assert query.relation_text(None, {}) == ""
    assert query.relation_text(7, {}) == "#7"
    assert query.relation_text(7, {7: "Яблоко"}) == "Яблоко"
