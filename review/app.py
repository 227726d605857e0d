"""The review web app: routes, filters from query parameters, and Jinja2 rendering.

Pages: /login, /logout, / (filterable, searchable, paginated list), /answers/ID (the answer with every
sentence linked to the passage text that supports it), /gaps (knowledge gaps), /charts (trends), and
/healthz. Every page but /login and /healthz needs a session.
"""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Engine

from audit.log import WITH_DETAILS
from audit.queries import NEGATIVE, Filters, count_answers, find_answers
from core.dates import parse_when
from core.db import session_scope
from core.models import Answer
from review.auth import SESSION_COOKIE, SESSION_SECONDS, Authenticator
from review.highlight import passage_views
from review.insights import daily, knowledge_gaps

PAGE_SIZE = 50
ROUTES = ("rag", "abstain", "escalate", "error")
_templates = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                         autoescape=select_autoescape(["html"]))


class BadRequest(Exception):
    pass


def _date(value: str | None, name: str) -> datetime | None:
    try:
        return parse_when(value)
    except ValueError:
        raise BadRequest(f"{name} must be a date like 2026-11-01") from None


def filters_from(params: dict[str, str]) -> Filters:
    route = params.get("route") or None
    if route and route not in ROUTES:
        raise BadRequest(f"route must be one of {', '.join(ROUTES)}")
    until = _date(params.get("until"), "until")
    return Filters(since=_date(params.get("since"), "since"), until=until + timedelta(days=1) if until else None,
                   channel=params.get("channel") or None, route=route,
                   negative_feedback=params.get("feedback") == "negative", text=params.get("q") or None)


class ReviewApp:
    def __init__(self, engine: Engine, auth: Authenticator):
        self.engine, self.auth = engine, auth

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "/")
        params = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
        user = self.auth.user(cookie[SESSION_COOKIE].value if SESSION_COOKIE in cookie else None)
        started = time.perf_counter()
        try:
            if path == "/healthz":
                return self._send(start_response, "200 OK", b"ok", "text/plain")
            if path == "/login":
                return self._login(environ, start_response, params)
            if user is None:
                return self._redirect(start_response, "/login?" + urlencode({"next": path}))
            if path == "/logout":
                return self._redirect(start_response, "/login", f"{SESSION_COOKIE}=; Max-Age=0; Path=/")
            if path == "/":
                return self._page(start_response, "list.html", started, **self._listing(params))
            if path.startswith("/answers/"):
                return self._answer(start_response, path.removeprefix("/answers/"), started)
            if path == "/gaps":
                gaps = knowledge_gaps(self.engine, _date(params.get("since"), "since"))
                return self._page(start_response, "gaps.html", started, gaps=gaps, params=params)
            if path == "/charts":
                days = daily(self.engine, _date(params.get("since"), "since"))
                return self._page(start_response, "charts.html", started, days=days, charts=charts(days),
                                  params=params)
            return self._page(start_response, "message.html", started, status="404 Not Found",
                              title="Not found", message=f"There is no page {path}.")
        except BadRequest as exc:
            return self._page(start_response, "message.html", started, status="400 Bad Request",
                              title="Bad filter", message=str(exc))

    def _listing(self, params: dict[str, str]) -> dict:
        filters = filters_from(params)
        total = count_answers(self.engine, filters)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        page = min(max(1, int(params["page"]) if params.get("page", "").isdigit() else 1), pages)
        filters.limit, filters.offset = PAGE_SIZE, (page - 1) * PAGE_SIZE
        rows = find_answers(self.engine, filters)
        base = {k: v for k, v in params.items() if k != "page" and v}
        return {"rows": rows, "total": total, "page": page, "pages": pages, "params": params, "routes": ROUTES,
                "negative": NEGATIVE, "page_url": lambda n: "/?" + urlencode({**base, "page": n})}

    def _answer(self, start_response, audit_id: str, started: float):
        with session_scope(self.engine) as session:
            row = session.get(Answer, audit_id, options=WITH_DETAILS)
            if row is None:
                return self._page(start_response, "message.html", started, status="404 Not Found",
                                  title="Unknown answer", message=f"No answer has the audit id {audit_id}.")
            return self._page(start_response, "answer.html", started, row=row, passages=passage_views(row),
                              sentences=sorted(row.sentences, key=lambda s: s.position))

    def _login(self, environ, start_response, params: dict[str, str]):
        target = params.get("next", "/")
        target = target if target.startswith("/") and not target.startswith("//") else "/"
        if environ.get("REQUEST_METHOD") == "POST":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            form = {k: v[0] for k, v in parse_qs(environ["wsgi.input"].read(min(size, 10_000)).decode()).items()}
            session = self.auth.login(form.get("token", ""))
            if session:
                return self._redirect(start_response, target,
                                      f"{SESSION_COOKIE}={session}; Max-Age={SESSION_SECONDS}; Path=/; HttpOnly; "
                                      "SameSite=Strict")
            return self._page(start_response, "login.html", time.perf_counter(), status="401 Unauthorized",
                              error="That token is not right.", next=target)
        return self._page(start_response, "login.html", time.perf_counter(), next=target)

    @staticmethod
    def _send(start_response, status: str, body: bytes, content_type: str, headers: list | None = None):
        start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body))),
                                ("X-Frame-Options", "DENY"), *(headers or [])])
        return [body]

    def _page(self, start_response, template: str, started: float, status: str = "200 OK", **context):
        html = _templates.get_template(template).render(**context)
        server_ms = (time.perf_counter() - started) * 1000
        return self._send(start_response, status, html.encode(), "text/html; charset=utf-8",
                          [("Server-Timing", f"app;dur={server_ms:.1f}")])

    def _redirect(self, start_response, location: str, cookie: str | None = None):
        headers = [("Location", location)] + ([("Set-Cookie", cookie)] if cookie else [])
        return self._send(start_response, "303 See Other", b"", "text/plain", headers)


def charts(days: list, width: int = 720, height: int = 160) -> dict[str, list[dict]]:
    """Bars per day for each series, scaled to the SVG box the template draws."""
    series = {"answers per day": [d.answers for d in days], "abstain rate": [d.abstain_rate for d in days],
              "escalate rate": [d.escalate_rate for d in days], "negative-feedback rate": [d.negative_rate for d in days]}
    out = {}
    for name, values in series.items():
        top = max(values, default=0) or 1
        step = width / max(1, len(values))
        out[name] = [{"x": round(i * step, 1), "w": max(1.0, round(step * 0.8, 1)), "h": round(v / top * height, 1),
                      "y": round(height - v / top * height, 1), "label": f"{days[i].day}: {v}"}
                     for i, v in enumerate(values)]
    return out
