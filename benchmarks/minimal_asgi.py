"""The peer of benchmarks/http_get_domain.py: a raw ASGI callable returning a fixed small JSON body,
served by uvicorn exactly as ``openprofiles serve`` serves its app (the same
``openprofiles.http.asgi.uvicorn_config``, one worker process).

    python benchmarks/minimal_asgi.py [--host 127.0.0.1] [--port 4598]
"""

from __future__ import annotations

import argparse

BODY = (
    b'{"DomainName":"bench","DefaultExpirationDays":365,'
    b'"CreatedAt":1767225600.0,"LastUpdatedAt":1767225600.0,"Tags":{}}'
)
HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(BODY)).encode()),
]


async def app(scope, receive, send) -> None:  # noqa: ANN001 - raw ASGI
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:  # drain the request body, as openprofiles does
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def main() -> None:
    import uvicorn

    from openprofiles.config import Settings
    from openprofiles.http.asgi import uvicorn_config

    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4598)
    args = parser.parse_args()
    config = uvicorn_config(app, Settings(host=args.host, port=args.port))
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
