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
from app.core.login_methods import LoginField, LoginMethod
from app.core.ui.base import tr

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
  // ---- a sign-in's further steps (a code, or waiting for an approval): whatever the API's 202 says
  function each(form, sel, fn) { var els = form.querySelectorAll(sel); for (var i = 0; i < els.length; i++) fn(els[i]); }
  function stepMode(form, on) {
    each(form, "[data-pult-first]", function (el) { el.style.display = on ? "none" : "contents"; });
    each(form, "[data-pult-step]", function (el) { el.style.display = on ? "flex" : "none"; });
  }
  function stopListening(form) {
    if (form.pultEvents) { form.pultEvents.close(); form.pultEvents = null; }
  }
  function listen(form, id) {
    // A push step: the server tells this page when there is news (no polling loop); then ask once.
    stopListening(form);
    var es = new EventSource("/api/auth/login/" + encodeURIComponent(id) + "/events");
    form.pultEvents = es;
    function done() { if (form.pultEvents === es) { stopListening(form); if (form.pultChallenge === id) advance(form, {}); } }
    es.addEventListener("ready", done);
    es.addEventListener("gone", done);
    es.onerror = function () { if (es.readyState === 2) done(); };  // refused (gone): ask once for the message
  }
  function leaveStep(form, text) {
    stopListening(form);
    if (form.pultPoll) { clearTimeout(form.pultPoll); form.pultPoll = null; }
    form.pultChallenge = null;
    var box = form.querySelector("[data-pult-step-fields]");
    if (box) box.innerHTML = "";
    stepMode(form, false);
    busy(form, false);
    show(form, text || "");
  }
  function field(spec, id) {
    var wrap = document.createElement("div");
    wrap.style.cssText = "display:flex;flex-direction:column;gap:var(--space-1);width:100%";
    var label = document.createElement("label");
    label.htmlFor = id;
    label.className = "rt-Text rt-r-size-2 rt-r-weight-medium";
    label.textContent = spec.label;
    var root = document.createElement("div");
    root.className = "rt-TextFieldRoot rt-r-size-2 rt-variant-surface";
    root.style.width = "100%";
    var input = document.createElement("input");
    input.className = "rt-reset rt-TextFieldInput";
    input.id = id;
    input.name = spec.name;
    input.type = spec.kind === "password" ? "password" : "text";
    input.autocomplete = spec.autocomplete || "off";
    if (spec.kind === "code") input.inputMode = "numeric";
    root.appendChild(input);
    var error = document.createElement("p");
    error.className = "rt-Text rt-r-size-1";
    error.style.cssText = "display:none;color:var(--red-11);margin:0";
    error.setAttribute("data-pult-field-error", spec.name);
    error.id = id + "-error";
    wrap.appendChild(label); wrap.appendChild(root); wrap.appendChild(error);
    return wrap;
  }
  function enterStep(form, body) {
    form.pultChallenge = body.challenge;
    stepMode(form, true);
    busy(form, false);
    show(form, "");
    var msg = form.querySelector("[data-pult-step-message]");
    if (msg) msg.textContent = body.message || "";
    var box = form.querySelector("[data-pult-step-fields]");
    var prefix = (form.id || "login-form").replace(/-form$/, "") + "-step-";
    if (box) {
      box.innerHTML = "";
      if (body.qr) {
        var img = document.createElement("img");
        img.src = body.qr; img.alt = "QR"; img.id = prefix + "qr";
        img.style.cssText = "width:180px;height:180px;align-self:center;image-rendering:pixelated";
        box.appendChild(img);
      }
      if ((body.show || []).length) {
        var pre = document.createElement("pre");
        pre.id = prefix + "show";
        pre.style.cssText = "margin:0;padding:var(--space-2) var(--space-3);background:var(--gray-3);border-radius:var(--radius-2);" +
          "font-size:14px;white-space:pre-wrap;word-break:break-all;user-select:all";
        pre.textContent = body.show.join("\n");
        box.appendChild(pre);
      }
      (body.fields || []).forEach(function (spec) { box.appendChild(field(spec, prefix + spec.name)); });
      box.style.display = (body.fields || []).length || body.qr || (body.show || []).length ? "flex" : "none";
      box.style.flexDirection = "column";
      box.style.gap = "var(--space-3)";
    }
    each(form, "[data-pult-step-submit]", function (el) { el.style.display = body.step === "form" ? "" : "none"; });
    each(form, "[data-pult-step-wait]", function (el) { el.style.display = body.step !== "form" ? "inline-flex" : "none"; });
    var first = box && box.querySelector("input");
    if (first) first.focus();
    if (body.step === "push") {
      form.setAttribute("aria-busy", "true");
      listen(form, body.challenge);
    }
    if (body.step === "poll") {
      form.setAttribute("aria-busy", "true");
      form.pultPoll = setTimeout(function () { advance(form, {}); }, Math.max(250, (body.poll_seconds || 2) * 1000));
    }
  }
  function signedIn(kind) {
    freshState();
    var next = kind === "login" ? new URLSearchParams(window.location.search).get("next") : "/";
    window.location.assign(safeNext(next));
  }
  function answer(form, kind, res, body) {
    if (res.ok && res.status !== 202) { signedIn(kind); return; }
    if (res.status === 202 && body.challenge) { enterStep(form, body); return; }
    busy(form, false);
    if (res.status === 202) {
      form.reset();
      show(form, body.detail, "ok");
      return;
    }
    if (form.pultChallenge && res.status === 401) { leaveStep(form, body.detail || MSG[lang()].unavailable); return; }
    var errors = body.errors || {};
    fieldErrors(form, errors);
    var fields = Object.keys(errors);
    var onField = fields.length > 0 && form.querySelector("[data-pult-field-error='" + fields[0] + "']");
    show(form, onField && fields.length === 1 ? "" : (body.detail || MSG[lang()].unavailable));
  }
  function advance(form, data) {
    var id = form.pultChallenge;
    if (!id) return;
    form.pultPoll = null;
    post("/api/auth/login/" + encodeURIComponent(id), data).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (form.pultChallenge !== id) return;  // started over meanwhile
        if (res.status === 429 && !Object.keys(data).length) {  // polled too early: wait as told
          var wait = parseInt(res.headers.get("Retry-After") || "2", 10);
          form.pultPoll = setTimeout(function () { advance(form, {}); }, Math.max(1, wait) * 1000);
          return;
        }
        answer(form, "login", res, body);
      });
    }).catch(function () {
      if (form.pultChallenge !== id) return;
      if (!Object.keys(data).length) {  // a poll that failed on the network: try again shortly
        form.pultPoll = setTimeout(function () { advance(form, {}); }, 2000);
        return;
      }
      busy(form, false);
      show(form, MSG[lang()].network);
    });
  }
  function submit(form, kind) {
    var data = {};
    if (form.pultChallenge) {
      each(form, "[data-pult-step-fields] input", function (el) { data[el.name] = String(el.value); });
      busy(form, true);
      show(form, "");
      fieldErrors(form, {});
      advance(form, data);
      return;
    }
    new FormData(form).forEach(function (value, key) { data[key] = String(value); });
    var method = form.getAttribute("data-pult-method");
    if (kind === "login" && method) data.method = method;
    busy(form, true);
    show(form, "");
    fieldErrors(form, {});
    post("/api/auth/" + kind, data).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) { answer(form, kind, res, body); });
    }).catch(function () {
      busy(form, false);
      show(form, MSG[lang()].network);
    });
  }
  function showMethod(name) {
    var forms = document.querySelectorAll("form[data-pult-method]");
    for (var i = 0; i < forms.length; i++) {
      var on = forms[i].getAttribute("data-pult-method") === name;
      if (!on && forms[i].pultChallenge) leaveStep(forms[i]);
      forms[i].style.display = on ? "block" : "none";
    }
    var buttons = document.querySelectorAll("[data-pult-show-method]");
    for (var j = 0; j < buttons.length; j++) {
      var pressed = buttons[j].getAttribute("data-pult-show-method") === name;
      buttons[j].setAttribute("aria-pressed", pressed ? "true" : "false");
      buttons[j].setAttribute("data-variant", pressed ? "soft" : "ghost");
      buttons[j].className = buttons[j].className.replace(/rt-variant-\w+/, "rt-variant-" + (pressed ? "soft" : "ghost"));
    }
    var shown = document.querySelector("form[data-pult-method='" + name + "'] input");
    if (shown) shown.focus();
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
    var back = e.target && e.target.closest && e.target.closest("[data-pult-step-back]");
    if (back) {
      e.preventDefault();
      var owner = back.closest("form");
      if (owner) leaveStep(owner);
      return;
    }
    var pick = e.target && e.target.closest && e.target.closest("[data-pult-show-method]");
    if (pick) {
      e.preventDefault();
      showMethod(pick.getAttribute("data-pult-show-method"));
      return;
    }
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


# --------------------------------------------------------------------------- the login page's parts
def _dom_id(method: str, first: str, part: str) -> str:
    """``login-<part>`` for the default method (the ids the page always had), ``login-<method>-<part>`` for others."""
    return f"login-{part}" if method == first else f"login-{method}-{part}"


def _input(f: LoginField, dom_id: str, focus: bool) -> rx.Component:
    kind = {"password": "password"}.get(f.kind, "text")
    extra = {"input_mode": "numeric"} if f.kind == "code" else {}
    return rx.input(name=f.name, id=dom_id, type=kind, width="100%", auto_complete=f.auto_complete, auto_focus=focus,
                    max_length=f.max_length, **extra)


#: A step's parts: hidden until the script shows them (``display: flex``), then a column.
_STEP_STYLE = {"display": "none", "flex_direction": "column", "gap": "var(--space-3)", "width": "100%"}


def method_form_parts(method: LoginMethod, first: str) -> list[rx.Component]:
    """What one method's form holds, generated from its declaration: its fields and button (hidden
    while a challenge's step is shown), the step's message and fields (written by the script from
    the API's answer), the message box, and the step's buttons."""
    fields: list[rx.Component] = []
    for i, f in enumerate(method.fields):
        fields.append(rx.text(tr(f.label), size="2", weight="medium"))
        fields.append(_input(f, _dom_id(method.name, first, f.name), focus=(i == 0 and method.name == first)))
    contents = {"display": "contents"}
    return [
        rx.el.div(*fields, custom_attrs={"data-pult-first": ""}, style=contents),
        rx.el.div(
            rx.hstack(
                rx.el.span(rx.spinner(size="2"), custom_attrs={"data-pult-step-wait": ""}, style={"display": "none"}),
                rx.text("", size="2", custom_attrs={"data-pult-step-message": ""}, id=_dom_id(method.name, first, "step-message")),
                align="center", spacing="2",
            ),
            # React leaves the inside of this box alone (it is "HTML"): the script puts the step's inputs there.
            rx.html("", custom_attrs={"data-pult-step-fields": ""}, width="100%"),
            custom_attrs={"data-pult-step": ""}, style=_STEP_STYLE,
        ),
        message_box(_dom_id(method.name, first, "error")),
        rx.el.div(
            rx.button(tr("login.submit"), type="submit", width="100%", size="3", id=_dom_id(method.name, first, "submit")),
            custom_attrs={"data-pult-first": ""}, style=contents,
        ),
        rx.el.div(
            rx.button(tr("login.step_submit"), type="submit", width="100%", size="3", id=_dom_id(method.name, first, "step-submit"),
                      custom_attrs={"data-pult-step-submit": ""}),
            rx.link(tr("login.step_back"), href="#", size="2", id=_dom_id(method.name, first, "step-back"), custom_attrs={"data-pult-step-back": ""}),
            custom_attrs={"data-pult-step": ""}, style=_STEP_STYLE,
        ),
    ]


def method_switch(methods: list[LoginMethod], first: str) -> rx.Component:
    """One button per method: the script shows that method's form and hides the others."""
    return rx.flex(
        *[rx.button(rx.icon(m.icon, size=14), tr(m.label), type="button", size="1", variant="soft" if m.name == first else "ghost",
                    id=f"login-method-{m.name}", custom_attrs={"data-pult-show-method": m.name, "aria-pressed": "true" if m.name == first else "false"},
                    # a ghost button's negative margins would shift it against the pressed (soft) one
                    style={"margin": "0"})
          for m in methods],
        wrap="wrap", gap="2", width="100%", custom_attrs={"role": "group", "aria-label": tr("login.other_method")},
    )
