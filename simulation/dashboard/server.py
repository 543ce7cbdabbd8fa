"""The dashboard's web server: Solara's app, the room's phone page, the facilitator's key.

``python -m simulation.dashboard.server --host H --port P`` (what ``terrinum dashboard``
starts) serves, on one port:

``/`` (and everything Solara needs)
    the facilitator's dashboard, :mod:`simulation.dashboard.app`, run by Solara's Starlette
    app exactly as ``solara run`` would (production mode, offline assets);
``/v``
    the participants' page (``phone.html``): the shared map and charts in a phone
    layout, the question, predictions and the vote; plain HTML and a little JavaScript
    that polls ``/v/api/state`` every :data:`POLL_MS` ms;
``/v/api/state``, ``/v/api/geo``, ``/v/api/vote``, ``/v/api/predict``
    its JSON API (:class:`simulation.dashboard.room.Room`).

When a facilitator key is set (``TERRINUM_DASHBOARD_KEY``: ``terrinum dashboard`` makes one
whenever ``--host`` opens the page to the network, and prints the facilitator's address with
it), every path but ``/v`` needs it: once as ``?key=…`` in the address, then as a cookie. A
participant who opens ``/`` without it gets a page sending them to ``/v``; their phone can
only read the shared view and post a prediction and a vote, checked by the room.
"""

from __future__ import annotations

import argparse
import hmac
import html
import json
import os
import sys
import threading
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from simulation.dashboard.room import ROOM, RoomError, new_phone_id, rt

ENV_KEY = "TERRINUM_DASHBOARD_KEY"
"""Environment variable holding the facilitator's key (unset: no key asked)."""
ENV_ROOM_URL = "TERRINUM_DASHBOARD_ROOM_URL"
"""Environment variable holding the participants' address printed at start (for the QR)."""
KEY_COOKIE = "tn_key"
PHONE_COOKIE = "tn_phone"
MAX_BODY = 2048
"""Largest request body a phone may post (bytes)."""
POLL_MS = 1500
"""How often a phone asks for the state (milliseconds)."""
APP_PATH = Path(__file__).resolve().parent / "app.py"


def is_public(path: str) -> bool:
    """True for the participants' paths (``/v`` and below), open without the key."""
    return path == "/v" or path.startswith("/v/")


def _cookies(scope: dict[str, Any]) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header is ignored
                pass
    return {k: m.value for k, m in jar.items()}


REFUSED_PAGE = """<!doctype html><html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Terrinum</title><style>body{{font:18px system-ui,sans-serif;margin:2em;max-width:34em}}
a{{font-size:1.3em}}</style></head><body>
<h1>Page réservée à l'animateur</h1>
<p>Participants : votez sur <a href="/v">{host}/v</a>.</p>
<p lang="en"><b>Facilitator's page.</b> Participants: vote at <a href="/v">{host}/v</a>.
The facilitator opens the address printed when the dashboard started (it ends with
<code>?key=…</code>).</p></body></html>"""


class FacilitatorKey:
    """ASGI middleware: every path but the participants' needs the facilitator's key."""

    def __init__(self, app: Any, key: str) -> None:
        self.app, self.key = app, key

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """Pass the request on, or refuse it (HTTP 403, or a closed websocket)."""
        if scope["type"] not in ("http", "websocket") or is_public(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        cookie = _cookies(scope).get(KEY_COOKIE, "")
        if cookie and hmac.compare_digest(cookie, self.key):
            await self.app(scope, receive, send)
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        given = (query.get("key") or [""])[0]
        if given and hmac.compare_digest(given, self.key) and scope["type"] == "http":
            header = (f"{KEY_COOKIE}={self.key}; Path=/; HttpOnly; SameSite=Strict").encode()

            async def send_with_cookie(message: dict) -> None:
                if message["type"] == "http.response.start":
                    message = {**message,
                               "headers": [*message.get("headers", []), (b"set-cookie", header)]}
                await send(message)

            await self.app(scope, receive, send_with_cookie)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 4403})
            return
        host = dict(scope.get("headers", ())).get(b"host", b"").decode("latin-1")
        body = REFUSED_PAGE.format(host=html.escape(host)).encode()
        await send({"type": "http.response.start", "status": 403,
                    "headers": [(b"content-type", b"text/html; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


# ------------------------------------------------------------------------------- phone view
_VIEW_LOCK = threading.Lock()
_VIEW_CACHE: dict[str, Any] = {"key": None, "view": None}


def phone_view(session: Any, lang: str) -> dict[str, Any]:
    """The shared view a phone draws: title, date, the map's colours and legend, 2 charts.

    Computed once per change of the session (its fingerprint) and language, whatever the
    number of phones asking.
    """
    from simulation.dashboard import beforeafter as ba

    rec = ba.share(session)
    key = (id(session), ba.fingerprint(session), lang)
    with _VIEW_LOCK:
        if _VIEW_CACHE["key"] == key:
            return _VIEW_CACHE["view"]
        measure = rec.measure or ba.map_measures(session)[0]
        mode = "diff" if rec.mode in ("diff", "beforeafter") else "value"
        pv = ba.present_view(session, measure, mode, lang)
        m = pv.maps[0]
        view = {
            "version": "%x" % (hash(key) & 0xFFFFFFFF), "title": pv.title, "date": pv.date,
            "month": pv.month, "step": pv.step, "map_name": session.map_name,
            "map": {"fills": m.fills, "names": m.names, "legend": m.legend, "title": m.title},
            "charts": [svg for _, svg in pv.charts[:2]], "chart_legend": pv.chart_legend,
            "texts": pv.texts, "attribution": pv.attribution,
        }
        _VIEW_CACHE.update(key=key, view=view)
        return view


def phone_state(phone: str | None, lang: str, have: str = "") -> dict[str, Any]:
    """What ``/v/api/state`` answers: the question, and the view unless ``have`` is current."""
    session = ROOM.session
    out: dict[str, Any] = {"room_rev": ROOM.rev, "lang": lang}
    if session is None:
        out.update(attached=False, message=rt("no_room", lang), question=None)
        return out
    view = phone_view(session, lang)
    out["attached"] = True
    out["version"] = view["version"]
    if have != view["version"]:
        out["view"] = view
    out["question"] = ROOM.question_state(phone, lang)
    if out["question"] is None:
        out["message"] = rt("no_question", lang)
    return out


# ------------------------------------------------------------------------------- routes
def _lang(request: Any) -> str:
    lang = request.query_params.get("lang", "")
    if lang in ("fr", "en"):
        return lang
    if ROOM.session is not None:
        from simulation.dashboard import beforeafter as ba

        return ba.share(ROOM.session).lang
    return "fr"


def _phone(request: Any) -> str:
    return request.cookies.get(PHONE_COOKIE, "")


def routes() -> list[Any]:
    """The participants' routes (Starlette), to put before Solara's catch-all routes."""
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Route

    def page(request: Any) -> Response:
        resp = HTMLResponse(PHONE_PAGE.replace("__POLL_MS__", str(POLL_MS)),
                            headers={"cache-control": "no-store"})
        if not _phone(request):
            resp.set_cookie(PHONE_COOKIE, new_phone_id(), max_age=12 * 3600, httponly=True,
                            samesite="strict")
        return resp

    def state(request: Any) -> Response:
        data = phone_state(_phone(request) or None, _lang(request),
                           request.query_params.get("have", ""))
        return JSONResponse(data, headers={"cache-control": "no-store"})

    def geo(request: Any) -> Response:
        from simulation.dashboard import mapdraw

        session = ROOM.session
        if session is None:
            return JSONResponse({"error": rt("no_room", _lang(request))}, status_code=404)
        layout = mapdraw.map_layout(session.tmap).as_props()
        return JSONResponse({"map_name": session.map_name, **layout},
                            headers={"cache-control": "no-store"})

    async def post(request: Any, kind: str) -> Response:
        lang = _lang(request)
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "request too large"}, status_code=413)
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return JSONResponse({"error": "the body must be JSON"}, status_code=400)
        if not isinstance(data, dict):
            return JSONResponse({"error": "the body must be a JSON object"}, status_code=400)
        phone = _phone(request)
        try:
            if kind == "vote":
                counts = ROOM.vote(phone, data.get("question"), data.get("option"))
                return JSONResponse({"ok": True, "voters": sum(counts)})
            counts = ROOM.predict(phone, data.get("question"), data.get("outcome"))
            return JSONResponse({"ok": True, "predictors": sum(counts.values())})
        except RoomError as exc:
            return JSONResponse({"error": exc.message(lang), "code": exc.code},
                                status_code=exc.status)

    async def vote(request: Any) -> Response:
        return await post(request, "vote")

    async def predict(request: Any) -> Response:
        return await post(request, "predict")

    def not_found(request: Any) -> Response:
        return JSONResponse({"error": f"no such address: {request.url.path}; a phone can "
                                      "only read /v/api/state and post to /v/api/vote or "
                                      "/v/api/predict"}, status_code=404)

    return [Route("/v", page), Route("/v/", page), Route("/v/api/state", state),
            Route("/v/api/geo", geo), Route("/v/api/vote", vote, methods=["POST"]),
            Route("/v/api/predict", predict, methods=["POST"]),
            Route("/v/{rest:path}", not_found, methods=["GET", "POST", "PUT", "DELETE"])]


def build_app(key: str | None = None) -> Any:
    """Solara's Starlette app with the participants' routes and, if given, the key check."""
    import solara.server.starlette as ss

    app = ss.app
    app.router.routes[0:0] = routes()
    if key:
        app.add_middleware(FacilitatorKey, key=key)
    return app


def main(argv: list[str] | None = None) -> int:
    """Run the server (as ``solara run APP --production --theme-loader plain`` would)."""
    ap = argparse.ArgumentParser(prog="python -m simulation.dashboard.server")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8765)
    args = ap.parse_args(argv)
    os.environ["SOLARA_APP"] = str(APP_PATH)
    os.environ["SERVER_NAME"] = args.host
    os.environ["SERVER_PORT"] = str(args.port)
    os.environ.setdefault("SOLARA_MODE", "production")
    os.environ.setdefault("SOLARA_THEME_LOADER", "plain")
    import uvicorn
    from solara.__main__ import LOGGING_CONFIG

    app = build_app(os.environ.get(ENV_KEY) or None)
    uvicorn.run(app, host=args.host, port=args.port, log_config=LOGGING_CONFIG,
                log_level="warning", ws="auto")
    return 0


PHONE_PAGE_FILE = Path(__file__).resolve().parent / "phone.html"
"""The participants' page (HTML, CSS and JavaScript in one file, no external resource)."""
PHONE_PAGE = PHONE_PAGE_FILE.read_text(encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
