"""The comment wall and timeline on an order's page (kit blocks declared by ``stock.orders``):
two browsers on the same order; one comments with an @mention, the other sees it appear live, and
the mentioned user's bell counts it. Bad input gets its message under the box."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect
from sqlalchemy import text

from tests.e2e.conftest import login, shot


def _new_page(browser, app_url, width=1400, height=900):
    ctx = browser.new_context(base_url=app_url, viewport={"width": width, "height": height}, locale="ru-RU")
    page = ctx.new_page()
    page.set_default_timeout(20_000)
    return ctx, page


def _order(e2e_engine) -> int:
    with e2e_engine.begin() as c:
        pid = c.execute(text("INSERT INTO product (name, quantity, issued_qty, min_stock, sell_price_rub, created_at) "
                             "VALUES (:n, 50, 0, 0, 100, now()) RETURNING id"), {"n": f"Wall {uuid.uuid4().hex[:6]}"}).scalar()
        return c.execute(text("""INSERT INTO "order" (phone, product_id, product_name, qty, unit_price_rub, status, created_at)
                                 VALUES ('+79990001122', :p, 'Wall', 1, 100, 'paid_not_issued', now()) RETURNING id"""), {"p": pid}).scalar()


def _unread(e2e_engine, username: str) -> int:
    with e2e_engine.begin() as c:
        return c.execute(text("""SELECT count(*) FROM notification n JOIN "user" u ON u.id = n.user_id
                                 WHERE u.username = :u AND n.read_at IS NULL"""), {"u": username}).scalar()


def test_mention_appears_live_in_another_browser_and_rings_the_bell(browser, app_url, e2e_engine):
    oid = _order(e2e_engine)
    before = _unread(e2e_engine, "user")
    ctx_a, author = _new_page(browser, app_url)
    ctx_b, reader = _new_page(browser, app_url)
    try:
        login(reader, "user", "user")
        reader.goto(f"/stock/orders/{oid}")
        expect(reader.locator("#comment-wall")).to_contain_text("Комментариев пока нет")
        if before:
            expect(reader.locator("#bell-count")).to_have_text(str(before))

        login(author, "manager", "manager")
        author.goto(f"/stock/orders/{oid}")
        box = author.locator("#comment-body")
        expect(box).to_be_visible()
        # @-autocomplete: typing "@us" offers the user; picking completes the name in place
        box.press_sequentially("Проверь оплату, @us", delay=20)
        option = author.locator(".mention-option", has_text="@user")
        expect(option).to_be_visible()
        option.click()
        expect(box).to_have_value("Проверь оплату, @user ")
        box.press_sequentially("пожалуйста", delay=10)
        author.locator("#comment-body-send").click()
        expect(author.locator(".comment-body").first).to_have_text("Проверь оплату, @user пожалуйста")
        expect(box).to_have_value("")

        # the other browser: the comment arrives without a reload, the timeline shows it, the bell rings
        expect(reader.locator(".comment-body").first).to_have_text("Проверь оплату, @user пожалуйста", timeout=5000)
        expect(reader.locator("#timeline .timeline-entry[data-kind=comment]").first).to_contain_text("Проверь оплату")
        expect(reader.locator("#bell-count")).to_have_text(str(before + 1), timeout=5000)
        reader.locator("#bell").click()
        item = reader.locator(".bell-item", has_text="упомянул вас")
        expect(item.first).to_be_visible()

        # a reply from the mentioned user shows, indented, in the author's browser
        reader.keyboard.press("Escape")
        reader.locator(".comment-reply").first.click()
        reader.locator("#reply-body").fill("Оплата пришла")
        reader.locator("#reply-body-send").click()
        expect(author.locator(".comment-body")).to_have_text(["Проверь оплату, @user пожалуйста", "Оплата пришла"], timeout=5000)
        # a reply being typed survives comments arriving above it (each comment keeps its DOM by id)
        author.locator("#comment-body").fill("Второй вопрос")
        author.locator("#comment-body-send").click()
        second = reader.locator(".comment", has_text="Второй вопрос")
        expect(second).to_be_visible(timeout=5000)
        second.locator(".comment-reply").click()
        reader.locator("#reply-body").fill("черновик ответа")
        author.locator(".comment", has_text="Проверь оплату").first.locator(".comment-reply").first.click()
        author.locator("#reply-body").fill("Спасибо")
        author.locator("#reply-body-send").click()
        expect(reader.locator(".comment-body")).to_have_text(
            ["Проверь оплату, @user пожалуйста", "Оплата пришла", "Спасибо", "Второй вопрос"], timeout=5000)
        expect(reader.locator("#reply-body")).to_have_value("черновик ответа")
        shot(author, "comment-wall-1280")
        author.set_viewport_size({"width": 390, "height": 844})
        expect(author.locator("#comment-wall")).to_be_visible()
        shot(author, "comment-wall-390")
    finally:
        ctx_a.close()
        ctx_b.close()


def test_bad_comment_gets_a_message_under_the_box_and_the_timeline_filters(browser, app_url, e2e_engine, server_services):
    from sqlmodel import Session

    from app.core import crud
    from app.core.principal import SYSTEM
    from app.core.registry import resource

    with Session(e2e_engine) as db:  # an order with a history: created, edited, a supply arrived, issued
        product = crud.create_record(db, resource("stock.products"), SYSTEM, {"name": f"Роутер {uuid.uuid4().hex[:4]}", "sell_price_rub": "6500", "initial_qty": "0"})
        order = crud.create_record(db, resource("stock.orders"), SYSTEM, {"phone": "+7 999 000-11-33", "product_id": str(product.id), "qty": "2"})
        oid = order.id
        crud.update_record(db, resource("stock.orders"), SYSTEM, str(oid), {"customer_name": "Иван Петров", "qty": "1"})
        crud.create_record(db, resource("stock.supplies"), SYSTEM, {"product_id": str(product.id), "qty": "5", "supplier_name": "Бета"})
    ctx, page = _new_page(browser, app_url)
    try:
        login(page, "manager", "manager")
        page.goto(f"/stock/orders/{oid}")
        timeline = page.locator("#timeline .timeline-entry")
        expect(timeline).to_have_count(3)
        expect(timeline.nth(0)).to_contain_text("+5 · Бета")
        expect(timeline.nth(1)).to_contain_text("Количество: 2 → 1")
        expect(timeline.nth(1)).to_contain_text("Покупатель: — → Иван Петров")

        page.locator("#comment-body-send").click()
        expect(page.locator("#comment-body-error")).to_have_text("Напишите текст комментария")
        page.locator("#comment-body").fill("я" * 4001)
        page.locator("#comment-body-send").click()
        expect(page.locator("#comment-body-error")).to_have_text("Слишком длинный комментарий: 4001 символов, можно не больше 4000")
        shot(page, "comment-error-1280")
        with e2e_engine.begin() as c:
            assert c.execute(text("SELECT count(*) FROM comment WHERE record_id = :r"), {"r": str(oid)}).scalar() == 0
        page.locator("#comment-body").fill("Поставка пришла, можно выдавать")
        page.locator("#comment-body-send").click()
        expect(page.locator(".comment-body")).to_have_text(["Поставка пришла, можно выдавать"])
        expect(page.locator("#comment-body-error")).to_have_count(0)
        page.locator("#action-issue").click()
        page.locator("#confirm-ok").click()
        expect(timeline).to_have_count(5)
        expect(timeline.nth(0)).to_contain_text("выдача")
        shot(page, "timeline-1280")
        page.set_viewport_size({"width": 390, "height": 844})
        shot(page, "timeline-390")
        page.set_viewport_size({"width": 1400, "height": 900})
        # the kind filter
        page.locator("#timeline-kind").click()
        page.get_by_role("option", name="Комментарии").click()
        expect(timeline).to_have_count(1)
        expect(timeline.first).to_have_attribute("data-kind", "comment")
        # own comment: edit it
        page.locator(".comment-edit").first.click()
        page.locator("#edit-body").fill("Выдали")
        page.locator("#edit-body-send").click()
        expect(page.locator(".comment-body")).to_have_text(["Выдали"])
        expect(page.locator("#comment-wall")).to_contain_text(re.compile("изменён"))
    finally:
        ctx.close()
