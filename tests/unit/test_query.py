"""The list contract: keyset/offset paging, sorting, filters, search, trash and totals on real PostgreSQL,
on the fixture panel (``tests/kitpanel``)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import delete, text
from sqlmodel import Session

from app.core import query
from app.core.auth import CurrentUser
from app.core.errors import ValidationFailed
from app.core.query import ListParams, get_list
from app.core.registry import resource
from app.core.resource import Resource, filters
from tests.kitpanel.models import Item, Order, OrderStatus

pytestmark = pytest.mark.usefixtures("kitpanel")

ADMIN = CurrentUser(id=None, username="t", roles=("admin",), permissions=frozenset({"*"}))
N = 120
SIZE = 25
SUPPLIERS = ["Альфа", "Бета", "Gamma GmbH", None]


def _price(i: int) -> Decimal | None:
    return None if i % 5 == 0 else Decimal(i * 37 % 1000) + Decimal("0.50")


@pytest.fixture(scope="module")
def items(engine, redis_conn, kitpanel):
    """120 items inserted in an order unrelated to their names, with ties in stock and NULL prices.

    Shared by the whole module (the tests only read; the few that write put everything back), so
    it is built once instead of 30 times.
    """
    with engine.begin() as c:
        c.execute(text('TRUNCATE kitpanel.kit_item, kitpanel.kit_delivery, kitpanel.kit_order RESTART IDENTITY CASCADE'))
    order = [(i * 47) % N for i in range(N)]  # 47 is coprime with 120: a permutation
    rows = []
    for i in order:
        qty = (i % 7) * 3
        rows.append(
            Item(
                name=f"Item {i:03d}",
                quantity=qty,
                issued_qty=min(qty, i % 3),
                min_stock=i % 4,
                price_rub=_price(i),
                vendor=SUPPLIERS[i % 4],
                created_at=dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc) + dt.timedelta(hours=i),
            )
        )
    with Session(engine, expire_on_commit=False) as s:
        s.add_all(rows)
        s.commit()
        for r in rows:
            s.refresh(r)
    yield rows
    with engine.begin() as c:
        c.execute(text('TRUNCATE kitpanel.kit_item, kitpanel.kit_delivery, kitpanel.kit_order RESTART IDENTITY CASCADE'))


@pytest.fixture()
def db(items, engine):
    """A session on the shared data set (this module does not truncate per test)."""
    with Session(engine, expire_on_commit=False) as s:
        yield s
        s.rollback()


def _res():
    return resource("kitpanel.items")()


def walk(db, res, sort: str, **kw) -> tuple[list[int], list[query.Page]]:
    """Follow "next" from the first page to the end; return every id seen and the pages."""
    ids, pages = [], []
    params = ListParams(sort=sort, page_size=SIZE, **kw)
    page = get_list(db, res, ADMIN, params)
    while True:
        pages.append(page)
        ids.extend(r.id for r in page.rows)
        if not page.has_next:
            break
        assert len(pages) < 20, "paging does not terminate"
        if page.keyset:
            assert page.next_cursor.startswith("after:")
            params = ListParams(sort=sort, page_size=SIZE, cursor=page.next_cursor, **kw)
        else:
            params = ListParams(sort=sort, page_size=SIZE, page=page.page + 1, **kw)
        page = get_list(db, res, ADMIN, params)
    return ids, pages


def _expected(rows, sort: str) -> list[int]:
    if sort == "name":
        return [r.id for r in sorted(rows, key=lambda r: (r.name, r.id))]
    if sort == "-stock":
        return [r.id for r in sorted(rows, key=lambda r: (r.stock, r.id), reverse=True)]
    if sort == "price_rub":  # NULLs last, id breaks ties
        return [r.id for r in sorted(rows, key=lambda r: (r.price_rub is None, r.price_rub or 0, r.id))]
    if sort == "id":
        return sorted(r.id for r in rows)
    raise AssertionError(sort)


@pytest.mark.parametrize("sort,keyset", [("name", True), ("-stock", True), ("price_rub", False), ("id", True)])
def test_walking_next_yields_every_row_once_in_order(db, items, sort, keyset):
    ids, pages = walk(db, _res(), sort)
    assert ids == _expected(items, sort)
    assert len(set(ids)) == N
    assert [len(p.rows) for p in pages] == [25, 25, 25, 25, 20]
    assert all(p.keyset is keyset for p in pages)
    assert pages[0].has_prev is False and all(p.has_prev for p in pages[1:])
    assert pages[0].sort == sort


def test_stock_ties_are_broken_by_id_in_the_sort_direction(db, items):
    ids, _ = walk(db, _res(), "-stock")
    by_id = {p.id: p for p in items}
    pairs = [(by_id[i].stock, i) for i in ids]
    assert pairs == sorted(pairs, reverse=True)
    assert len({s for s, _ in pairs}) < N / 5  # there really are many ties


@pytest.mark.parametrize("sort", ["name", "-stock"])
def test_prev_from_page_three_returns_page_two(db, items, sort):
    res = _res()
    p1 = get_list(db, res, ADMIN, ListParams(sort=sort, page_size=SIZE))
    p2 = get_list(db, res, ADMIN, ListParams(sort=sort, page_size=SIZE, cursor=p1.next_cursor))
    p3 = get_list(db, res, ADMIN, ListParams(sort=sort, page_size=SIZE, cursor=p2.next_cursor))
    assert p3.prev_cursor.startswith("before:")
    back = get_list(db, res, ADMIN, ListParams(sort=sort, page_size=SIZE, cursor=p3.prev_cursor))
    assert [r.id for r in back.rows] == [r.id for r in p2.rows]
    assert back.has_prev is True and back.has_next is True
    first = get_list(db, res, ADMIN, ListParams(sort=sort, page_size=SIZE, cursor=back.prev_cursor))
    assert [r.id for r in first.rows] == [r.id for r in p1.rows]
    assert first.has_prev is False


@pytest.mark.parametrize("sort", ["name", "-stock", "price_rub"])
def test_last_page(db, items, sort):
    page = get_list(db, _res(), ADMIN, ListParams(sort=sort, page_size=SIZE, cursor="last"))
    expected = _expected(items, sort)
    if page.keyset:
        assert [r.id for r in page.rows] == expected[-SIZE:]
    else:  # offset paging: the last numbered page
        assert page.page == 4
        assert [r.id for r in page.rows] == expected[100:]
    assert page.has_next is False and page.has_prev is True


def _b64(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


TAMPERED_NAME_CURSORS = [
    "after:!!!not-base64!!!",
    "before:" + _b64({"a": 1}),
    "after:" + _b64(["Item 050"]),
    "after:" + _b64(["Item 050", "x"]),
    "after:" + _b64([{"a": 1}, 3]),  # a dict where the name goes
    "after:" + _b64([5, 3]),  # a number where the name goes
    "before:" + _b64([["Item"], 3]),
    "after:" + _b64(["Item 050", 3, 4]),
    "after:" + _b64("Item 050"),
    "after:",
]


def test_tampered_cursor_falls_back_to_first_page(db, items):
    res = _res()
    first = [r.id for r in get_list(db, res, ADMIN, ListParams(sort="name", page_size=SIZE)).rows]
    for cursor in TAMPERED_NAME_CURSORS:
        page = get_list(db, res, ADMIN, ListParams(sort="name", page_size=SIZE, cursor=cursor))
        assert [r.id for r in page.rows] == first, cursor
        assert page.has_prev is False and page.has_next is True, cursor
    # an honest cursor still works after all that
    p2 = get_list(db, res, ADMIN, ListParams(sort="name", page_size=SIZE, cursor="after:" + _b64(["Item 024", 999999])))
    assert [r.name for r in p2.rows][:2] == ["Item 025", "Item 026"]


def test_tampered_cursor_on_integer_and_datetime_sorts(db, items):
    res = _res()
    for sort, cursors in {
        "-stock": [_b64(["lots", 3]), _b64(["NaN", 3]), _b64([True, 3]), _b64([[1], 3])],
        "created_at": [_b64(["yesterday", 3]), _b64([12, 3])],
        "id": [_b64([3, "three"]), _b64([3, None])],
    }.items():
        first = [r.id for r in get_list(db, res, ADMIN, ListParams(sort=sort, page_size=SIZE)).rows]
        for token in cursors:
            page = get_list(db, res, ADMIN, ListParams(sort=sort, page_size=SIZE, cursor="after:" + token))
            assert [r.id for r in page.rows] == first, (sort, token)


def test_unknown_sort_falls_back_to_default(db, items):
    page = get_list(db, _res(), ADMIN, ListParams(sort="-description", page_size=SIZE))
    assert page.sort == "name"
    assert [r.id for r in page.rows] == _expected(items, "name")[:SIZE]


# --------------------------------------------------------------------------- filters
def _ids(db, res, **kw) -> set[int]:
    page = get_list(db, res, ADMIN, ListParams(page_size=500, **kw))
    assert not page.has_next
    return {r.id for r in page.rows}


def test_number_range_with_one_side_open(db, items):
    res = _res()
    assert _ids(db, res, filters={"stock": "..5"}) == {p.id for p in items if p.stock <= 5}
    assert _ids(db, res, filters={"stock": "10.."}) == {p.id for p in items if p.stock >= 10}
    assert _ids(db, res, filters={"stock": "3..9"}) == {p.id for p in items if 3 <= p.stock <= 9}
    got = _ids(db, res, filters={"price_rub": "500,5.."})  # decimal comma
    assert got == {p.id for p in items if p.price_rub is not None and p.price_rub >= Decimal("500.5")}
    assert 0 < len(got) < N
    # a malformed value is refused with a message under the filter, not silently ignored
    with pytest.raises(ValidationFailed) as exc:
        _ids(db, res, filters={"stock": "abc..x"})
    assert exc.value.errors == {"stock": ("error.int", {})}


def test_number_filters_combine_with_and(db, items):
    got = _ids(db, _res(), filters={"stock": "6..", "price_rub": "..300"})
    assert got == {p.id for p in items if p.stock >= 6 and p.price_rub is not None and p.price_rub <= 300}
    assert got


def test_date_range_includes_the_whole_end_day(db, items):
    # created_at = 2026-03-01 00:00 UTC + i hours, i = 0..119 → 2026-03-01 .. 2026-03-05 23:00
    got = _ids(db, _res(), filters={"created_at": "2026-03-02..2026-03-03"})
    expected = {p.id for p in items if dt.date(2026, 3, 2) <= p.created_at.date() <= dt.date(2026, 3, 3)}
    assert got == expected and len(expected) == 48  # both days, 24 hours each, 23:00 on the 3rd included
    assert len(_ids(db, _res(), filters={"created_at": "2026-03-05.."})) == 24
    assert len(_ids(db, _res(), filters={"created_at": "..2026-03-01"})) == 24


def test_ternary_yes_and_no(db, items):
    res = _res()
    low = _ids(db, res, filters={"is_low": "1"})
    not_low = _ids(db, res, filters={"is_low": "0"})
    assert low == {p.id for p in items if p.stock < p.min_stock}
    assert low and not_low and low.isdisjoint(not_low) and len(low | not_low) == N


def test_select_on_free_text(db, items):
    res = _res()
    assert _ids(db, res, filters={"vendor": "Бета"}) == {p.id for p in items if p.vendor == "Бета"}
    assert _ids(db, res, filters={"vendor": "Альфа,Бета"}) == {p.id for p in items if p.vendor in ("Альфа", "Бета")}


@pytest.fixture()
def orders(db, items):
    rows = _orders(db, items)
    yield rows
    db.rollback()
    db.exec(delete(Order))
    db.commit()


def _orders(db, items) -> list[Order]:
    statuses = list(OrderStatus)
    rows = [
        Order(phone=f"+7999000{i:04d}", item_id=items[i % 3].id, qty=1, unit_price=Decimal(100), status=statuses[i % 3])
        for i in range(12)
    ]
    rows += [
        Order(phone="50%_off", item_id=items[0].id, qty=1, unit_price=Decimal(1)),
        Order(phone="50xxoff", item_id=items[0].id, qty=1, unit_price=Decimal(1)),
        Order(phone="a_b", item_id=items[0].id, qty=1, unit_price=Decimal(1)),
        Order(phone="axb", item_id=items[0].id, qty=1, unit_price=Decimal(1)),
    ]
    db.add_all(rows)
    db.commit()
    return rows


def test_select_on_enum_and_relation(db, items, orders):
    res = resource("kitpanel.orders")()
    issued = _ids(db, res, filters={"status": "issued"})
    assert issued == {o.id for o in orders if o.status == OrderStatus.issued} and len(issued) == 4
    two = _ids(db, res, filters={"status": "issued,denied"})
    assert two == {o.id for o in orders if o.status != OrderStatus.open}
    with pytest.raises(ValidationFailed) as exc:  # an unknown value is refused, not ignored
        _ids(db, res, filters={"status": "bogus"})
    assert exc.value.errors == {"status": ("error.choice", {})}
    pid = items[1].id
    assert _ids(db, res, filters={"item_id": str(pid)}) == {o.id for o in orders if o.item_id == pid}
    assert _ids(db, res, filters={"item_id": str(pid), "status": "denied"}) == {
        o.id for o in orders if o.item_id == pid and o.status == OrderStatus.denied
    }


def test_text_filter_treats_percent_and_underscore_literally(db, items, orders):
    res = resource("kitpanel.orders")()
    by_phone = {o.phone: o.id for o in orders}
    assert _ids(db, res, filters={"phone": "50%"}) == {by_phone["50%_off"]}
    assert _ids(db, res, filters={"phone": "%_"}) == {by_phone["50%_off"]}
    assert _ids(db, res, filters={"phone": "a_b"}) == {by_phone["a_b"]}
    assert _ids(db, res, filters={"phone": "0000"}) == {o.id for o in orders if "0000" in o.phone}


def test_filters_not_declared_on_the_resource_are_ignored(db, items):
    assert len(_ids(db, _res(), filters={"description": "x", "quantity": "1000.."})) == N


class ItemsByText(Resource, model=Item):
    """A throwaway resource (not registered) with a text filter on the name."""

    filters = [filters.text("name")]
    default_sort = "name"


def test_text_filter_case_insensitive_substring(db, items):
    got = _ids(db, ItemsByText(), filters={"name": "item 01"})
    assert got == {p.id for p in items if "Item 01" in p.name} and len(got) == 10


# --------------------------------------------------------------------------- search and trash
@pytest.fixture()
def extra_items(db):
    extra = [Item(name="Кабель USB-C"), Item(name="Адаптер usb-a"), Item(name="Роутер")]
    db.add_all(extra)
    db.commit()
    yield extra
    db.rollback()
    db.exec(delete(Item).where(Item.id.in_([p.id for p in extra])))
    db.commit()


def test_search_matches_name_substring_case_insensitively(db, items, extra_items):
    res = _res()
    names = {p.name for p in get_list(db, res, ADMIN, ListParams(search="UsB", page_size=50)).rows}
    assert names == {"Кабель USB-C", "Адаптер usb-a"}
    names = {p.name for p in get_list(db, res, ADMIN, ListParams(search="кабель", page_size=50)).rows}
    assert names == {"Кабель USB-C"}
    assert {p.name for p in get_list(db, res, ADMIN, ListParams(search="  роут ", page_size=50)).rows} == {"Роутер"}


def test_search_also_matches_supplier(db, items):
    got = {p.id for p in get_list(db, _res(), ADMIN, ListParams(search="gamma", page_size=500)).rows}
    assert got == {p.id for p in items if p.vendor == "Gamma GmbH"}


def test_search_number_matches_the_id(db, items):
    target = next(p for p in items if p.id == 7)
    assert "7" not in target.name  # found by its id, not by its name
    rows = get_list(db, _res(), ADMIN, ListParams(search="7", page_size=500)).rows
    assert {r.id for r in rows} == {p.id for p in items if "7" in p.name or p.id == 7}
    assert target.id in {r.id for r in rows}


def test_search_wildcards_are_literal(db, items):
    assert get_list(db, _res(), ADMIN, ListParams(search="%", page_size=50)).rows == []
    assert get_list(db, _res(), ADMIN, ListParams(search="Item_0", page_size=50)).rows == []


def test_trash_shows_only_soft_deleted_rows(db, items):
    gone = [p.id for p in items[:7]]
    db.exec(text("UPDATE kitpanel.kit_item SET deleted_at = now() WHERE id = ANY(:ids)").bindparams(ids=gone))
    db.commit()
    try:
        res = _res()
        assert _ids(db, res, trash=True) == set(gone)
        assert _ids(db, res) == {p.id for p in items[7:]}
        # search and filters apply inside the trash too
        assert _ids(db, res, trash=True, search=items[0].name) == {gone[0]}
        assert _ids(db, res, trash=True, filters={"vendor": items[0].vendor}) == {
            p.id for p in items[:7] if p.vendor == items[0].vendor
        }
    finally:
        db.rollback()
        db.exec(text("UPDATE kitpanel.kit_item SET deleted_at = NULL"))
        db.commit()


# --------------------------------------------------------------------------- totals
def test_total_is_exact_for_small_sets(db, items):
    page = get_list(db, _res(), ADMIN, ListParams(search="Item 00", page_size=SIZE))
    assert page.total == 10 and page.total_is_estimate is False and not page.has_next
    page = get_list(db, _res(), ADMIN, ListParams(page_size=SIZE))
    assert page.has_next and page.total == N and page.total_is_estimate is False
    page = get_list(db, _res(), ADMIN, ListParams(page_size=SIZE, filters={"vendor": "Альфа"}))
    assert page.total == N // 4 and page.has_next is True


def test_estimate_above_threshold_and_exact_on_request(db, items, monkeypatch):
    db.exec(text("ANALYZE kitpanel.kit_item"))
    db.commit()
    monkeypatch.setattr(query, "EXACT_COUNT_BELOW", 10)
    page = get_list(db, _res(), ADMIN, ListParams(page_size=SIZE))
    assert page.total_is_estimate is True
    assert page.total == query.estimate(db, query.base_query(_res(), ADMIN, ListParams()))
    assert 60 <= page.total <= 240  # the planner's guess after ANALYZE is near 120
    exact = get_list(db, _res(), ADMIN, ListParams(page_size=SIZE, exact_count=True))
    assert exact.total == N and exact.total_is_estimate is False
    # a result that fits on one page is counted by its rows, never estimated
    one = get_list(db, _res(), ADMIN, ListParams(page_size=SIZE, search="Item 11"))
    assert one.total == 10 and one.total_is_estimate is False


def test_page_size_is_clamped(db, items):
    assert len(get_list(db, _res(), ADMIN, ListParams(page_size=0)).rows) == 25  # the resource's default
    assert len(get_list(db, _res(), ADMIN, ListParams(page_size=-5)).rows) == 1
    assert len(get_list(db, _res(), ADMIN, ListParams(page_size=10_000)).rows) == N


def test_a_slow_exact_count_gives_way_to_the_estimate(db, monkeypatch):
    """The page never waits for a count the planner guessed wrong: past the time limit it shows ≈."""
    from sqlalchemy import text as sql

    from app.core import query
    from app.core.registry import resource

    for i in range(60):
        db.add(Item(name=f"count {i:03d}"))
    db.commit()
    monkeypatch.setattr(query, "COUNT_TIMEOUT_MS", 1)
    real_count = query.count

    def slow_count(session, stmt):
        session.exec(sql("SELECT pg_sleep(0.05)"))
        return real_count(session, stmt)

    monkeypatch.setattr(query, "count", slow_count)
    page = query.get_list(db, resource("kitpanel.items")(), ADMIN, ListParams(page_size=10))
    assert page.total_is_estimate is True and page.total > 0
    # and the transaction is still usable, without the short timeout
    assert db.exec(sql("SHOW statement_timeout")).one()[0] in ("0", "0ms")
    db.exec(sql("SELECT pg_sleep(0.02)"))
