"""The web stack under both HTTP entry points (uvicorn + Starlette, `ops.web`): body-size limit, slow
bodies, slow handlers, keep-alive, and a graceful stop that lets requests in flight finish."""

import asyncio
import http.client
import socket
import threading
import time

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from ops.web import serve_in_thread, started_pool


async def echo(request):
    body = await request.body()
    return PlainTextResponse(f"got {len(body)} bytes")


async def slow(request):
    await asyncio.sleep(float(request.query_params.get("s", "1")))
    return PlainTextResponse("done")


@pytest.fixture
def server():
    app = Starlette(routes=[Route("/echo", echo, methods=["POST"]), Route("/slow", slow)])
    running = serve_in_thread(app, max_body=1000, body_timeout=0.5, handler_timeout=2.0)
    yield running
    running.shutdown()


def request(server, method, path, body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    return response.status, response.read().decode(), response


def test_a_started_pool_has_every_thread_running_before_its_first_task():
    before = threading.active_count()
    pool = started_pool(6, "test")
    try:
        assert threading.active_count() == before + 6
        release = threading.Event()
        busy = [pool.submit(release.wait) for _ in range(6)]  # as many waiting tasks as threads
        assert threading.active_count() == before + 6, "no thread is started while tasks arrive"
        release.set()
        assert all(task.result(timeout=5) for task in busy)
    finally:
        pool.shutdown()


def test_a_body_within_the_limit_is_served_and_the_connection_kept_alive(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    for _ in range(2):  # the same connection twice: keep-alive
        connection.request("POST", "/echo", body=b"x" * 1000)
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, b"got 1000 bytes")


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(server):
    status, text, _ = request(server, "POST", "/echo", body=b"x" * 1001)
    assert (status, text) == (413, "request body too large")


def test_a_chunked_body_that_grows_over_the_limit_is_refused(server):
    chunk = b"190\r\n" + b"x" * 400 + b"\r\n"  # no Content-Length: three 400-byte chunks, more to come
    with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=10) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk * 3)
        reply = sock.recv(4096).decode()  # the server answers before the body ends
    assert reply.startswith("HTTP/1.1 413") and reply.endswith("request body too large")


def test_a_client_that_stops_sending_its_body_gets_408_and_does_not_hold_the_server(server):
    with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=10) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        started = time.monotonic()
        reply = sock.recv(4096).decode()
    assert reply.startswith("HTTP/1.1 408") and time.monotonic() - started < 5
    assert request(server, "POST", "/echo", body=b"ok")[0] == 200


def test_a_handler_over_its_time_gets_504(server):
    assert request(server, "GET", "/slow?s=5")[:2] == (504, "the request took too long")
    assert request(server, "GET", "/slow?s=0.1")[:2] == (200, "done")


def test_stopping_lets_a_request_in_flight_finish_and_refuses_new_connections(server):
    results = []
    worker = threading.Thread(target=lambda: results.append(request(server, "GET", "/slow?s=1")[:2]))
    worker.start()
    time.sleep(0.3)  # the request is in flight
    server.shutdown()
    worker.join()
    assert results == [(200, "done")]
    with pytest.raises(OSError):
        request(server, "GET", "/slow?s=0")


def test_the_bot_stops_after_answers_in_flight_finish_and_spooled_audit_rows_are_written(settings):
    from concurrent.futures import ThreadPoolExecutor
    from types import SimpleNamespace

    from sqlalchemy import func, select

    from audit.log import open_audit, record_answer
    from benchmarks.audit import _result
    from bot.server import finish_in_flight
    from core.db import get_engine
    from core.models import Answer

    engine, spool = open_audit(settings.storage)
    down = get_engine("postgresql+psycopg://citebot@127.0.0.1:1/unreachable?connect_timeout=1")
    audit_id = record_answer(down, _result(1), "U1", "C1", spool=spool)  # the database was down for this one
    executor, finished = ThreadPoolExecutor(max_workers=2), []
    executor.submit(lambda: (time.sleep(0.5), finished.append("answer")))  # an answer still being written
    app = SimpleNamespace(listener_runner=SimpleNamespace(listener_executor=executor),
                          citebot_services=SimpleNamespace(answerer=SimpleNamespace(engine=engine, spool=spool)))
    finish_in_flight(app, timeout=5)
    assert finished == ["answer"] and not spool.has_pending()
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Answer).where(Answer.id == audit_id)) == 1
