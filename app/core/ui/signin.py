"""Sign-in, registration and sign-out over HTTP, from a script in every page's ``<head>``.

Why not Reflex events: an event travels over the page's WebSocket, and its answer (the cookie and
the redirect) comes back the same way. While the socket is still connecting, reconnecting, or its
backend worker is busy, the event waits in the browser's queue and the answer waits behind
everything else that worker's event loop runs (event handlers are synchronous; one argon2 check
alone holds a worker ~0.2 s, several times that on a loaded host) — so a sign-in could sit on the
login page long after its session row was written. And a cookie written by the page's script
cannot be HttpOnly.

So the forms are plain ``<form data-pult-auth="login|register">`` elements and this script (a
capturing listener on ``document``, registered before the page body is parsed, so it works
before React has hydrated and whether or not the socket is up) posts them with ``fetch`` to
``/api/auth/login`` / ``/api/auth/register``. The answer sets the HttpOnly session cookie; the
page then navigates to ``next`` (a local path only) and the new page's WebSocket carries the
cookie. Errors (wrong password, throttled, waiting for approval, outage) come back as the API's
message in the user's language and are written into the form's ``[data-pult-auth-message]``
box and ``[data-pult-field-error=<name>]`` lines. Any element with ``data-pult-logout`` signs
out the same way (POST /api/auth/logout, then /login).

Signing in or out also drops the tab's Reflex client token, so the next page starts a fresh
backend state: nothing of the previous user's page state carries over in the same tab.
"""

from __future__ import annotations

import json

import reflex as rx
from reflex_components_core.el.elements.scripts import Script

from app.core.i18n import pair

_SCRIPT = r"""
(function () {
  if (typeof window === "undefined" || window.pultAuth) return;
  var MSG = __MESSAGES__;
  function lang() {
    try { return (localStorage.getItem("pult_lang") || "ru").indexOf("en") >= 0 ? "en" : "ru"; } catch (e) { return "ru"; }
  }
  function safeNext(raw) {
    if (!raw || raw.charAt(0) !== "/" || raw.charAt(1) === "/" || raw.charAt(1) === "\\") return "/";
    try {
      var u = new URL(raw, window.location.origin);
      return u.origin === window.location.origin ? u.pathname + u.search + u.hash : "/";
    } catch (e) { return "/"; }
  }
  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-Pult-Request": "1", "Accept-Language": lang()},
      body: JSON.stringify(body || {})
    });
  }
  function freshState() {
    try { window.sessionStorage.removeItem("token"); } catch (e) { /* private mode */ }
  }
  function show(form, text, tone) {
    var box = form.querySelector("[data-pult-auth-message]");
    if (!box) return;
    var slot = box.querySelector("[data-pult-auth-text]") || box;
    slot.textContent = text || "";
    box.setAttribute("data-accent-color", tone === "ok" ? "green" : "red");
    box.style.display = text ? "flex" : "none";
  }
  function fieldErrors(form, errors) {
    var lines = form.querySelectorAll("[data-pult-field-error]");
    for (var i = 0; i < lines.length; i++) {
      var text = errors[lines[i].getAttribute("data-pult-field-error")] || "";
      lines[i].textContent = text;
      lines[i].style.display = text ? "block" : "none";
    }
  }
  function busy(form, on) {
    var buttons = form.querySelectorAll("button[type=submit]");
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = on;
    form.setAttribute("aria-busy", on ? "true" : "false");
  }
  function submit(form, kind) {
    var data = {};
    new FormData(form).forEach(function (value, key) { data[key] = String(value); });
    busy(form, true);
    show(form, "");
    fieldErrors(form, {});
    post("/api/auth/" + kind, data).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (res.ok && res.status !== 202) {
          freshState();
          var next = kind === "login" ? new URLSearchParams(window.location.search).get("next") : "/";
          window.location.assign(safeNext(next));
          return;
        }
        busy(form, false);
        if (res.status === 202) {
          form.reset();
          show(form, body.detail, "ok");
          return;
        }
        var errors = body.errors || {};
        fieldErrors(form, errors);
        var fields = Object.keys(errors);
        var onField = fields.length > 0 && form.querySelector("[data-pult-field-error='" + fields[0] + "']");
        show(form, onField && fields.length === 1 ? "" : (body.detail || MSG[lang()].unavailable));
      });
    }).catch(function () {
      busy(form, false);
      show(form, MSG[lang()].network);
    });
  }
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var kind = form && form.getAttribute && form.getAttribute("data-pult-auth");
    if (kind !== "login" && kind !== "register") return;
    e.preventDefault();
    e.stopImmediatePropagation();
    submit(form, kind);
  }, true);
  document.addEventListener("click", function (e) {
    var el = e.target && e.target.closest && e.target.closest("[data-pult-logout]");
    if (!el) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    post("/api/auth/logout").catch(function () { return null; }).then(function () {
      freshState();
      window.location.assign("/login");
    });
  }, true);
  window.pultAuth = {safeNext: safeNext};
})();
"""


def _messages() -> dict[str, dict[str, str]]:
    keys = {"unavailable": "error.unavailable", "network": "error.network"}
    out: dict[str, dict[str, str]] = {"ru": {}, "en": {}}
    for name, key in keys.items():
        out["ru"][name], out["en"][name] = pair(key)
    return out


def script_source() -> str:
    """The script's text (the two fallback messages filled in from the catalog)."""
    return _SCRIPT.replace("__MESSAGES__", json.dumps(_messages(), ensure_ascii=False))


def head_script() -> rx.Component:
    """A plain ``<script>`` for the document head: part of the prerendered HTML, so it runs
    before the body is parsed (``rx.script`` would go through Helmet and only run after React mounts)."""
    return Script.create(script_source())


def message_box(id: str) -> rx.Component:
    """Where the script writes a form's message (hidden until there is one)."""
    return rx.callout.root(
        rx.callout.icon(rx.icon("info", size=16)),
        rx.callout.text("", custom_attrs={"data-pult-auth-text": ""}),
        color_scheme="red", id=id, width="100%", display="none",
        custom_attrs={"data-pult-auth-message": "", "role": "alert", "aria-live": "polite"},
    )


def field_error(name: str, id: str) -> rx.Component:
    """Where the script writes one field's message."""
    return rx.text("", color_scheme="red", size="1", id=id, display="none", custom_attrs={"data-pult-field-error": name})
