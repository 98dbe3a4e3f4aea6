"""In-process mode: the server minus the socket.

``with mock_profiles(): boto3.client("customer-profiles", region_name="us-east-1")...``

Why one global hook: botocore copies ``botocore.handlers.BUILTIN_HANDLERS`` into every session it
creates, so the only way to reach clients that a test (or the code under test) creates later,
from sessions we never see, is to add one handler there, once. That handler is inert until a mock
is started; a lock-guarded stack of active mocks decides which App answers (the innermost). It runs
on ``before-send``, after botocore has done all its client-side work (parameter validation,
serialization, signing), and answers only requests of ``customer-profiles`` and ``connect``; every
other request passes through untouched, to the network or to another mock such as moto's
``mock_aws``. It is registered first, so inside ``mock_aws`` these two services are still ours.

Each mock gets a fresh App on an in-memory SQLite store: nothing leaks between tests. Fake
credentials are put in the environment while a mock is active when none are set, so clients can sign.
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
from collections.abc import Callable
from io import BytesIO
from typing import Any, TypeVar

from botocore import handlers
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from openprofiles.app import App, build_app
from openprofiles.clock import Clock
from openprofiles.config import Settings
from openprofiles.protocol.messages import HttpRequest

F = TypeVar("F", bound=Callable[..., Any])

_SERVICES = ("customer-profiles", "connect")
_FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


class _RawResponse(BytesIO):
    """What botocore reads a response body from."""

    def stream(self, **_: Any) -> Any:
        contents = self.read()
        while contents:
            yield contents
            contents = self.read()


class _Hook:
    """The one before-send handler; answers from the innermost active mock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active: list[mock_profiles] = []

    def __call__(self, request: AWSPreparedRequest, event_name: str = "", **_: Any) -> Any:
        service = event_name.split(".")[1] if event_name.count(".") >= 1 else ""
        if service not in _SERVICES:
            return None
        with self.lock:
            current = self.active[-1] if self.active else None
        if current is None or current.app is None:
            return None
        return current.respond(request)


_hook = _Hook()
handlers.BUILTIN_HANDLERS.append(("before-send", _hook, handlers.REGISTER_FIRST))


class mock_profiles:  # noqa: N801 - named like the function users call
    """Context manager and decorator: Customer Profiles and Connect served in-process."""

    def __init__(self, settings: Settings | None = None, clock: Clock | None = None) -> None:
        self.settings = settings or Settings(db="memory")
        self.clock = clock
        self.app: App | None = None
        self._saved_env: dict[str, str | None] = {}

    def start(self) -> App:
        self.app = build_app(self.settings, self.clock)
        for key, value in _FAKE_CREDENTIALS.items():
            self._saved_env[key] = os.environ.get(key)
            os.environ.setdefault(key, value)
        with _hook.lock:
            _hook.active.append(self)
        return self.app

    def stop(self) -> None:
        with _hook.lock:
            if self in _hook.active:
                _hook.active.remove(self)
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
        self._saved_env.clear()
        if self.app is not None:
            self.app.close()
            self.app = None

    def __enter__(self) -> App:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __call__(self, func: F) -> F:
        if inspect.isclass(func):
            raise TypeError("mock_profiles decorates functions; use it as a fixture for classes")

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with mock_profiles(self.settings, self.clock):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    def respond(self, prepared: AWSPreparedRequest) -> AWSResponse:
        assert self.app is not None
        path, _, query = prepared.url.partition("://")[2].partition("/")[2].partition("?")
        body = prepared.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif hasattr(body, "read"):
            body = body.read()
        request = HttpRequest(
            method=prepared.method,
            raw_path="/" + path,
            query_string=query,
            headers={k.lower(): _text(v) for k, v in prepared.headers.items()},
            body=body,
        )
        response = self.app.gateway.handle(request)
        return AWSResponse(
            prepared.url, response.status, response.headers, _RawResponse(response.body)
        )


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value
