"""Data migrations on a database in the shape of before (its own database, migrated step by step):
0010 splits the roles two panels shared and keeps everyone's access; 0011 gives past orders a rate."""

from __future__ import annotations

import json

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, make_url, text

from tests.conftest import TEST_DB_URL, recreate_database


def _cfg(url: str) -> Config:
    cfg = Config("alembic.ini")
    cfg.attributes["url"] = url
    cfg.attributes["skip_logging"] = True
    return cfg


def test_shared_roles_split_by_panel_and_orders_keep_todays_rate(engine):
    url = make_url(TEST_DB_URL)
    name = f"{url.database}_mig"
    recreate_database(name)
    mig_url = url.set(database=name).render_as_string(hide_password=False)
    command.upgrade(_cfg(mig_url), "9a1b2c3d4e02")
    eng = create_engine(mig_url)
    try:
        with eng.begin() as c:
            for role, perms in (("admin", ["*"]), ("manager", ["stock.*", "admin.audit.view", "numbers.numbers.view"]),
                                ("user", ["stock.orders.view"]), ("auditor", ["admin.audit.view"])):
                c.execute(text("INSERT INTO role (name, label, permissions, builtin) VALUES (:n, :n, CAST(:p AS jsonb), :b)"),
                          {"n": role, "p": json.dumps(perms), "b": role != "auditor"})
            for username, role in (("boss", "admin"), ("mgr", "manager"), ("op", "user"), ("aud", "auditor"), ("new", None)):
                c.execute(text('INSERT INTO "user" (username, hashed_password, role, is_active, pending, created_at) '
                               "VALUES (:u, '-', :r, true, :p, now())"), {"u": username, "r": role, "p": role is None})
            c.execute(text("INSERT INTO notification_rule (event, role, channel, enabled) VALUES "
                           "('stock.low_stock', 'manager', 'inapp', true), ('numbers.x', 'manager', 'inapp', true), "
                           "('stock.order_status', 'user', 'inapp', true)"))
            c.execute(text("INSERT INTO setting (key, value) VALUES ('stock.eur_rub_rate', CAST('\"97.5000\"' AS jsonb))"))
            c.execute(text("INSERT INTO product (name, buy_price_eur, sell_price_rub, quantity, issued_qty, min_stock, created_at) "
                           "VALUES ('Кабель', 5, 900, 10, 0, 0, now())"))
            c.execute(text('INSERT INTO "order" (phone, product_id, qty, unit_price_rub, status, created_at) '
                           "VALUES ('+79991234567', 1, 2, 900, 'paid_issued', now())"))
        command.upgrade(_cfg(mig_url), "head")
        with eng.connect() as c:
            users = dict(c.execute(text('SELECT username, roles FROM "user"')).all())
            roles = {n: sorted(p) for n, p in c.execute(text("SELECT name, permissions FROM role")).all()}
            rules = sorted(c.execute(text("SELECT event, role FROM notification_rule")).all())
            order = c.execute(text('SELECT eur_rub_rate, unit_cost_eur FROM "order"')).one()
        assert users == {"boss": ["admin"], "mgr": ["stock.manager", "numbers.manager"], "op": ["stock.user"], "aud": ["auditor"], "new": []}
        assert roles["stock.manager"] == ["admin.audit.view", "stock.*"] and roles["numbers.manager"] == ["numbers.numbers.view"]
        assert roles["stock.user"] == ["stock.orders.view"] and "manager" not in roles and "user" not in roles
        assert rules == [("numbers.x", "numbers.manager"), ("stock.low_stock", "stock.manager"), ("stock.order_status", "stock.user")]
        assert (str(order[0]), str(order[1])) == ("97.5000", "5.00")
        command.downgrade(_cfg(mig_url), "9a1b2c3d4e02")  # and back: one role a user again
        with eng.connect() as c:
            back = dict(c.execute(text('SELECT username, role FROM "user"')).all())
        assert back == {"boss": "admin", "mgr": "manager", "op": "user", "aud": "auditor", "new": None}
    finally:
        eng.dispose()
        recreate_database(name)
