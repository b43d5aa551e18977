"""The store card page (``/equipment/stores/[id]/card``): :mod:`app.panels.equipment.store_card`
shown live — installed equipment, shipments, "delivered but not installed", the new-store
progress and the map with the route from the sending warehouse."""

from __future__ import annotations

from typing import Any

import reflex as rx

from app.core import PultError, live
from app.core.display import fmt_datetime
from app.core.i18n import t
from app.core.ui import AuthState, map_view, page_header, tr, ui_session
from app.panels.equipment import store_card
from app.panels.equipment.delivery import config

WATCHED = {"eq_asset", "eq_shipment", "eq_delivery_order", "eq_store", "eq_request"}


class StoreCardState(AuthState):
    store_id: str = ""
    missing: bool = False
    store: dict[str, str] = {}
    counts: dict[str, int] = {}
    installed: list[dict[str, str]] = []
    installed_total: int = 0
    shipments: list[dict[str, str]] = []
    points: list[dict[str, Any]] = []
    route_line: list[list[float]] = []
    route_text: str = ""
    route_estimated: bool = False
    progress: dict[str, int] = {}
    progress_title: str = ""

    @rx.event
    def load(self):
        self.store_id = str(self.router.page.params.get("id", ""))
        live.watch(self, WATCHED)
        self._reload()

    def live_refresh(self) -> None:
        if self.store_id:
            self._reload()

    def _reload(self) -> None:
        try:
            sid = int(self.store_id)
        except ValueError:
            self.missing = True
            return
        try:
            with ui_session() as db:
                cfg = config(db)
                c = store_card.card(db, self.current_user(), sid, routing_url=cfg.get("routing_url") or None,
                                    margin_min=int(cfg.get("courier_margin_min") or 0))
        except PultError as exc:
            self.missing = exc.status_code == 404
            if not self.missing:
                self.fail(exc)
            return
        lang = self.lang
        self.missing = False
        self.store = {k: str(v) for k, v in c.store.items()}
        self.counts = c.counts
        self.installed_total = c.installed_total
        self.installed = [{"id": str(a["id"]), "sn": a["sn"], "product": a["product"],
                           "process": t(f"asset.process.{a['process']}", lang), "process_key": a["process"],
                           "condition": t(f"asset.condition.{a['condition']}", lang),
                           "when": fmt_datetime(a["installed_at"] or a["delivered_at"], lang) if (a["installed_at"] or a["delivered_at"]) else ""}
                          for a in c.installed]
        self.shipments = [{"id": str(s["id"]), "status": t(f"equipment.shipment.{s['status']}", lang), "warehouse": s["warehouse"],
                           "delivery": t(f"equipment.delivery.status.{s['delivery']}", lang) if s["delivery"] else "—",
                           "created": fmt_datetime(s["created_at"], lang)} for s in c.shipments]
        self.points = c.points
        if c.route is not None:
            r = c.route
            self.route_line = r.line
            self.route_estimated = r.estimated
            self.route_text = t("equipment.card.route", lang, warehouse=r.warehouse, km=r.distance_km, drive=r.drive_min,
                                margin=r.margin_min, eta=r.eta_min)
            if r.estimated:
                self.route_text += " · " + t("equipment.card.estimate", lang)
        else:
            self.route_line, self.route_text, self.route_estimated = [], t("equipment.card.no_route", lang), False
        self.progress = c.new_store or {}
        self.progress_title = (c.new_store or {}).get("title", "")

    @rx.var
    def not_installed(self) -> int:
        return int(self.counts.get("NOT_INSTALLED", 0))

    @rx.var
    def installed_count(self) -> int:
        return int(self.counts.get("INSTALLED", 0))

    @rx.var
    def on_the_way(self) -> int:
        return int(self.counts.get("IN_SHIPMENT", 0))


def _stat(label: str, value: rx.Var, id: str, color: str | None = None) -> rx.Component:
    return rx.card(
        rx.vstack(rx.text(tr(label), size="1", color_scheme="gray"),
                  rx.heading(value.to_string(), size="6", id=id, color_scheme=color), spacing="1"),
        min_width="10em", flex="1",
    )


def _progress() -> rx.Component:
    S = StoreCardState
    total = S.progress["total"].to(int)

    def step(key: str, label: str) -> rx.Component:
        return rx.vstack(
            rx.hstack(rx.text(tr(label), size="1"), rx.spacer(),
                      rx.text(S.progress[key].to(int).to_string() + " / " + total.to_string(), size="1", id=f"card-progress-{key}"), width="100%"),
            rx.progress(value=rx.cond(total > 0, S.progress[key].to(int) * 100 / total, 0).to(int), width="100%"),
            spacing="1", width="100%",
        )

    return rx.cond(
        S.progress_title != "",
        rx.card(rx.vstack(
            rx.hstack(rx.icon("store", size=16), rx.text(tr("equipment.card.new_store"), weight="bold"), rx.text(S.progress_title, color_scheme="gray")),
            rx.grid(step("reserved", "equipment.card.p_reserved"), step("shipped", "equipment.card.p_shipped"),
                    step("delivered", "equipment.card.p_delivered"), step("installed", "equipment.card.p_installed"),
                    columns=rx.breakpoints(initial="1", sm="2", md="4"), spacing="3", width="100%"),
            spacing="2", width="100%"), id="card-new-store", width="100%"),
    )


def _installed_table() -> rx.Component:
    S = StoreCardState
    return rx.card(rx.vstack(
        rx.hstack(rx.text(tr("equipment.card.equipment"), weight="bold"), rx.badge(S.installed_total.to_string()), spacing="2"),
        rx.box(rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(tr(k)) for k in (
                "equipment.card.sn", "equipment.card.product", "asset.process", "asset.condition", "equipment.card.when")])),
            rx.table.body(rx.foreach(S.installed, lambda a: rx.table.row(
                rx.table.cell(rx.link(a["sn"], href="/equipment/assets/" + a["id"])),
                rx.table.cell(a["product"]),
                rx.table.cell(rx.badge(a["process"], color_scheme=rx.match(a["process_key"], ("NOT_INSTALLED", "orange"), ("INSTALLED", "green"), "gray"))),
                rx.table.cell(a["condition"]),
                rx.table.cell(a["when"]),
            ))),
            size="1", width="100%", id="card-installed",
        ), overflow_x="auto", width="100%"),
        spacing="2", width="100%"), width="100%")


def _shipments_table() -> rx.Component:
    S = StoreCardState
    return rx.card(rx.vstack(
        rx.text(tr("equipment.card.shipments"), weight="bold"),
        rx.box(rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(tr(k)) for k in (
                "equipment.card.shipment", "equipment.card.from", "equipment.card.status", "equipment.card.delivery", "equipment.card.created")])),
            rx.table.body(rx.foreach(S.shipments, lambda s: rx.table.row(
                rx.table.cell(rx.link("№" + s["id"], href="/equipment/shipments/" + s["id"])),
                rx.table.cell(s["warehouse"]), rx.table.cell(s["status"]), rx.table.cell(s["delivery"]), rx.table.cell(s["created"]),
            ))),
            size="1", width="100%", id="card-shipments",
        ), overflow_x="auto", width="100%"),
        spacing="2", width="100%"), width="100%")


def store_card_page() -> rx.Component:
    S = StoreCardState
    return rx.cond(
        S.missing,
        rx.callout(tr("not_found"), icon="search-x", color_scheme="gray", id="card-missing"),
        rx.vstack(
            page_header(S.store["name"].to(str), rx.link(tr("equipment.card.edit"), href="/equipment/stores/" + S.store_id)),
            rx.text(S.store["city"].to(str) + ", " + S.store["address"].to(str) + rx.cond(S.store["contact"].to(str) != "", " · " + S.store["contact"].to(str), ""),
                    color_scheme="gray", size="2"),
            rx.flex(
                _stat("equipment.card.installed", S.installed_count, "card-installed-count", "green"),
                _stat("equipment.kpi.not_installed", S.not_installed, "card-not-installed", "orange"),
                _stat("equipment.card.on_the_way", S.on_the_way, "card-on-the-way"),
                spacing="3", wrap="wrap", width="100%",
            ),
            _progress(),
            rx.card(rx.vstack(
                rx.text(tr("equipment.card.map"), weight="bold"),
                map_view(S.points, S.route_line, height="300px", id="card-map"),
                rx.text(S.route_text, size="2", id="card-route", color_scheme=rx.cond(S.route_estimated, "amber", "gray")),
                spacing="2", width="100%"), width="100%"),
            _installed_table(),
            _shipments_table(),
            spacing="3", width="100%",
        ),
    )
