"""The ``openprofiles`` command: serve, identity-resolution, coverage, version."""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys
from collections.abc import Sequence

from openprofiles import __version__


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="openprofiles", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the AWS APIs over HTTP")
    serve.add_argument("--host", help="address to listen on (OPENPROFILES_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (OPENPROFILES_PORT, 4599)")
    serve.add_argument(
        "--db",
        help="memory | sqlite:///PATH | postgresql://... (OPENPROFILES_DB; "
        "default: a SQLite file in the user's data directory)",
    )
    serve.add_argument("--log-level", help="debug | info | warning (OPENPROFILES_LOG_LEVEL)")
    serve.add_argument(
        "--threads",
        type=int,
        help="worker threads for API calls; 0 runs them on the event loop "
        "(OPENPROFILES_THREADS; default: 0 on SQLite, 16 on PostgreSQL)",
    )

    resolve = commands.add_parser(
        "identity-resolution",
        help="run an identity resolution job for a domain now, and print its outcome",
    )
    resolve.add_argument("domain", help="the domain's name (Matching must be enabled)")
    resolve.add_argument("--db", help="the store, as for serve (OPENPROFILES_DB)")
    resolve.add_argument("--account", help="the domain's account (OPENPROFILES_DEFAULT_ACCOUNT)")
    resolve.add_argument("--region", help="the domain's region (OPENPROFILES_DEFAULT_REGION)")

    coverage = commands.add_parser("coverage", help="list every operation, implemented or not")
    coverage.add_argument("--markdown", action="store_true", help="as a Markdown table")

    commands.add_parser("version", help="print the version")

    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "identity-resolution":
        return _identity_resolution(args)
    if args.command == "coverage":
        return _coverage(args.markdown)
    print(__version__)
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from openprofiles.app import build_app
    from openprofiles.config import Settings
    from openprofiles.http.asgi import build_asgi, uvicorn_config

    settings = Settings.load(
        host=args.host, port=args.port, db=args.db, log_level=args.log_level, threads=args.threads
    )
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    app = build_app(settings)
    # The service models and compiled routes live as long as the process: move them out of the
    # cyclic collector's way, so its full collections no longer walk them again and again.
    gc.collect()
    gc.freeze()
    print(f"openprofiles {__version__}: data {app.store.describe()}", flush=True)
    print(f"openprofiles listening on http://{settings.host}:{settings.port}", flush=True)
    config = uvicorn_config(build_asgi(app), settings)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the handler
    # that was there before it: make that one a no-op, so a clean shutdown exits with status 0
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, lambda *_: None)
    app.maintenance.start()
    app.jobs.start()
    uvicorn.Server(config).run()
    app.close()
    print("openprofiles stopped", flush=True)
    return 0


def _identity_resolution(args: argparse.Namespace) -> int:
    """Queue a job and run it in this process (a running server may take it instead: both
    share the job table); print the job as GetIdentityResolutionJob shows it."""
    import orjson

    from openprofiles.app import build_app
    from openprofiles.config import Settings
    from openprofiles.engine.matching.identity_resolution import KIND, job_view
    from openprofiles.engine.tenancy import Tenant
    from openprofiles.errors import ServiceError
    from openprofiles.store import jobs as job_store

    settings = Settings.load(db=args.db)
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    tenant = Tenant(args.account or settings.default_account, args.region or settings.default_region)
    app = build_app(settings)
    try:
        job_id = app.start_identity_resolution(tenant, args.domain)
        with app.store.read() as conn:
            row = job_store.get(conn, job_id)
    except ServiceError as error:
        print(f"openprofiles: {error}", file=sys.stderr)
        return 1
    finally:
        app.close()
    assert row is not None and row["kind"] == KIND
    view = {k: v for k, v in job_view(row, args.domain).items() if v is not None}
    print(orjson.dumps(view, option=orjson.OPT_INDENT_2).decode())
    return 1 if view["Status"] == "FAILED" else 0


def _coverage(markdown: bool) -> int:

    print(coverage_markdown() if markdown else coverage_text())
    return 0


def coverage_text() -> str:
    from openprofiles.services.registry import coverage

    rows = coverage()
    lines = [f"{s:18} {n:50} {'implemented' if done else '-'}" for s, n, done in rows]
    lines.append(f"\n{sum(done for *_, done in rows)} of {len(rows)} operations implemented")
    return "\n".join(lines)


def coverage_markdown() -> str:
    """The README's coverage section: a summary per service, then the table."""
    from openprofiles.services.registry import coverage

    rows = coverage()
    lines = []
    for service in dict.fromkeys(s for s, *_ in rows):
        mine = [done for s, _, done in rows if s == service]
        lines.append(f"- `{service}`: {sum(mine)} of {len(mine)} operations implemented")
    lines += ["", "<details><summary>Every operation</summary>", ""]
    lines += ["| service | operation | implemented |", "| --- | --- | --- |"]
    lines += [f"| {s} | {n} | {'yes' if done else 'no'} |" for s, n, done in rows]
    lines += ["", "</details>"]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
