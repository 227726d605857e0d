"""The review web app (Starlette): routes, filters from query parameters, and Jinja2 rendering.

Pages: /login, /logout, / (filterable, searchable, paginated list), /answers/ID (the answer with every
sentence linked to the passage text that supports it), /gaps (knowledge gaps), /charts (trends), and
/healthz. Every page but /login and /healthz needs a session.
"""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

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


class ReviewPages:
    """The page handlers; `review_app` puts them behind Starlette's routing and signed session cookie."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def listing(self, request: Request) -> Response:
        params = dict(request.query_params)
        filters = filters_from(params)
        total = count_answers(self.engine, filters)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        page = min(max(1, int(params["page"]) if params.get("page", "").isdigit() else 1), pages)
        filters.limit, filters.offset = PAGE_SIZE, (page - 1) * PAGE_SIZE
        rows = find_answers(self.engine, filters)
        base = {k: v for k, v in params.items() if k != "page" and v}
        return _page(request, "list.html", rows=rows, total=total, page=page, pages=pages, params=params,
                     routes=ROUTES, negative=NEGATIVE, page_url=lambda n: "/?" + urlencode({**base, "page": n}))

    def answer(self, request: Request) -> Response:
        audit_id = request.path_params["audit_id"]
        with session_scope(self.engine) as session:
            row = session.get(Answer, audit_id, options=WITH_DETAILS)
            if row is None:
                return _page(request, "message.html", status=404, title="Unknown answer",
                             message=f"No answer has the audit id {audit_id}.")
            return _page(request, "answer.html", row=row, passages=passage_views(row),
                         sentences=sorted(row.sentences, key=lambda s: s.position))

    def gaps(self, request: Request) -> Response:
        params = dict(request.query_params)
        return _page(request, "gaps.html", gaps=knowledge_gaps(self.engine, _date(params.get("since"), "since")),
                     params=params)

    def charts(self, request: Request) -> Response:
        params = dict(request.query_params)
        days = daily(self.engine, _date(params.get("since"), "since"))
        return _page(request, "charts.html", days=days, charts=charts(days), params=params)


def _page(request: Request, template: str, status: int = 200, **context) -> Response:
    html = _templates.get_template(template).render(**context)
    server_ms = (time.perf_counter() - request.state.started) * 1000
    return HTMLResponse(html, status, headers={"Server-Timing": f"app;dur={server_ms:.1f}", "X-Frame-Options": "DENY"})


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


def review_app(engine: Engine, auth: Authenticator, secure_cookies: bool = False) -> Starlette:
    """The review site as an ASGI app: Starlette routes, a signed expiring session cookie (HttpOnly,
    SameSite=Strict; Secure when served over HTTPS), every page but /login and /healthz behind it."""
    pages = ReviewPages(engine)

    def signed_in(handler):
        def page(request: Request) -> Response:
            request.state.started = time.perf_counter()
            if not request.session.get("user"):
                return RedirectResponse("/login?" + urlencode({"next": request.url.path}), 303)
            try:
                return handler(request)
            except BadRequest as exc:
                return _page(request, "message.html", status=400, title="Bad filter", message=str(exc))
        return page

    async def login(request: Request) -> Response:
        request.state.started = time.perf_counter()
        target = _safe_next(request.query_params.get("next"))
        if request.method == "POST":
            form = await request.form(max_files=0, max_fields=10)
            user = auth.check(str(form.get("token", "")))
            if user:
                request.session["user"] = user
                return RedirectResponse(target, 303)
            return _page(request, "login.html", status=401, error="That token is not right.", next=target)
        return _page(request, "login.html", next=target)

    def logout(request: Request) -> Response:
        request.session.clear()
        return RedirectResponse("/login", 303)

    def not_found(request: Request, _exc) -> Response:
        request.state.started = time.perf_counter()
        return _page(request, "message.html", status=404, title="Not found", message=f"There is no page {request.url.path}.")

    routes = [Route("/healthz", lambda _: PlainTextResponse("ok")), Route("/login", login, methods=["GET", "POST"]),
              Route("/logout", logout), Route("/", signed_in(pages.listing)),
              Route("/answers/{audit_id}", signed_in(pages.answer)), Route("/gaps", signed_in(pages.gaps)),
              Route("/charts", signed_in(pages.charts))]
    session = Middleware(SessionMiddleware, secret_key=auth.secret, session_cookie=SESSION_COOKIE,
                         max_age=SESSION_SECONDS, same_site="strict", https_only=secure_cookies)
    return Starlette(routes=routes, middleware=[session], exception_handlers={404: not_found})


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
