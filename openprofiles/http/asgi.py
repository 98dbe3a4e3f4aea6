"""The ASGI adapter that uvicorn serves: health check, then every other request to the gateway.

It is a bare ASGI callable rather than a routed framework app because every AWS request takes the
same path (the gateway routes by the service models).

Where the gateway runs depends on the store (``Settings.worker_threads``). On PostgreSQL it runs
in worker threads, so calls overlap while they wait on the network. On SQLite it runs on the event
loop itself: the work is all in-process and SQLite writes one transaction at a time, so threads
would add hand-offs and lock contention (they cost more than the call) without adding throughput.
``--threads N`` chooses either way explicitly.

On the event loop, over a SQLite file, calls are committed in groups (store.db's commit groups):
calls that arrive together run one after another with their writes in one transaction, which a
callback commits once they have run; each call that ran inside the open transaction is answered
once that commit returns (with an internal error if it failed). A call that runs while no write
is pending is answered at once. Under eight writing clients a group holds about eight calls and
a call costs about a fifth less.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
import uvicorn
from anyio import CapacityLimiter, to_thread

from openprofiles import __version__
from openprofiles.app import App
from openprofiles.config import Settings
from openprofiles.protocol.messages import HttpRequest, HttpResponse
from openprofiles.store.db import CommitGroup

log = logging.getLogger("openprofiles.http")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HEALTH_PATH = "/_openprofiles/health"


def build_asgi(app: App) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    threads = app.settings.worker_threads(app.store.dialect)
    inline = threads == 0
    limiter = CapacityLimiter(max(threads, 1))
    commits = _GroupCommits(app) if inline and app.store.groups_commits else None
    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(app, receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["path"] == HEALTH_PATH:
            body = orjson.dumps(
                {"status": "ok", "version": __version__, "store": app.store.dialect}
            )
            await _send(send, 200, {"content-type": "application/json"}, body)
            return
        message = await receive()
        body = message.get("body", b"")
        if message.get("more_body", False):
            chunks = [body]
            while message.get("more_body", False):
                message = await receive()
                chunks.append(message.get("body", b""))
            body = b"".join(chunks)
        raw_path = scope.get("raw_path") or scope["path"].encode()
        request = HttpRequest(
            scope["method"],
            raw_path.decode("latin-1"),
            scope.get("query_string", b"").decode("latin-1"),
            {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
            body,
        )
        if commits is not None:
            response = commits.handle(request)
            if commits.pending:
                response = await commits.answer(request, response)
        elif inline:
            response = app.gateway.handle(request)
        else:
            response = await to_thread.run_sync(app.gateway.handle, request, limiter=limiter)
        await _send(send, response.status, response.headers, response.body)

    return asgi


class _GroupCommits:
    """The gateway on the event loop, its calls committed in groups (see the module's
    docstring)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.group: CommitGroup | None = None
        self.waiting: list[tuple[asyncio.Future[HttpResponse], HttpRequest, HttpResponse]] = []

    def handle(self, request: HttpRequest) -> HttpResponse:
        """The call, run in the loop's commit group (made at the first call: it belongs to the
        thread that runs the loop)."""
        if self.group is None:
            self.group = self.app.store.commit_group()
        return self.app.gateway.handle(request)

    @property
    def pending(self) -> bool:
        """Whether the calls run since the last commit wrote something not yet committed."""
        return self.group is not None and self.group.open

    async def answer(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """``response`` once the group's commit returns. The first call to wait schedules the
        commit two turns of the loop ahead, so that calls whose requests are arriving run first
        and join the group (one turn ahead, a group under eight clients held about four calls;
        two, about eight)."""
        loop = asyncio.get_running_loop()
        if not self.waiting:
            loop.call_soon(loop.call_soon, self._commit)
        answered: asyncio.Future[HttpResponse] = loop.create_future()
        self.waiting.append((answered, request, response))
        return await answered

    def _commit(self) -> None:
        waiting, self.waiting = self.waiting, []
        try:
            self.group.commit()  # type: ignore[union-attr]
            failed = False
        except Exception:
            log.exception("a group of %d calls failed to commit", len(waiting))
            failed = True
        for answered, request, response in waiting:
            if not answered.done():
                answered.set_result(
                    self.app.gateway.uncommitted(request, response) if failed else response
                )


async def _send(send: Send, status: int, headers: dict[str, str], body: bytes) -> None:
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(app: App, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            app.close()
            await send({"type": "lifespan.shutdown.complete"})
            return


def uvicorn_config(asgi: Any, settings: Settings) -> uvicorn.Config:
    """How uvicorn serves an app: also used by the benchmarks' minimal peer, so both are served
    alike."""
    return uvicorn.Config(
        asgi,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )
