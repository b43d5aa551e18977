"""The Reflex application: every enabled panel's pages, the REST API and /health on one server.

The HTTP layer's rules (:mod:`app.core.http_security`) wrap all of it: security headers on every
response (the API app mounts Reflex's, and the headers middleware wraps both, so the frontend files
served in single-port mode get them too), and the same allowed origins for the ``/_event``
WebSocket as for CORS and CSRF.
"""

from __future__ import annotations

import reflex as rx

from app.boot import boot
from app.core import live, logs
from app.core.http_security import guard_socket, secure_app
from app.core.ui.pages import register_pages

logs.configure()
boot()

# Ask before leaving a form with unsaved changes: in-app links and closing/reloading the tab.
UNSAVED_GUARD = """
window.__pultDirty = false;
window.addEventListener('beforeunload', (e) => { if (window.__pultDirty) { e.preventDefault(); e.returnValue = ''; } });
document.addEventListener('click', (e) => {
  const a = e.target.closest && e.target.closest('a[href]');
  if (!a || !window.__pultDirty) return;
  const msg = (localStorage.getItem('pult_lang') || 'ru').includes('en') ? 'Leave without saving?' : 'Уйти без сохранения?';
  if (!window.confirm(msg)) { e.preventDefault(); e.stopPropagation(); } else { window.__pultDirty = false; }
}, true);
"""


def _api():
    from app.core.api import build_api

    return build_api()


app = rx.App(
    # assets/ holds the deployment's face: favicon.svg, logo.svg and pult.css (style overrides,
    # loaded after the theme). Replace the files to rebrand; the code names only these paths.
    head_components=[rx.script(UNSAVED_GUARD), rx.el.link(rel="icon", type="image/svg+xml", href="/favicon.svg")],
    stylesheets=["/pult.css"],
    api_transformer=[_api(), secure_app],
    # Bottom right: at the top right the toasts covered the page's header buttons and "Выйти", at the
    # bottom centre a form's "Отмена" (issue 8); forms keep their buttons at the left.
    toaster=rx.toast.provider(position="bottom-right", close_button=True, rich_colors=True),
)
guard_socket(app.sio)
register_pages(app)
live.register(app)
