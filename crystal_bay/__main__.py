"""Command line: `python -m crystal_bay <command>`. Run with --help for the list."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time

from crystal_bay.services.errors import DomainError


def _cmd_migrate(args: argparse.Namespace) -> int:
    from crystal_bay import migrations
    from crystal_bay.db import session_scope
    from crystal_bay.services import pipeline

    migrations.upgrade()
    with session_scope() as session:
        pipeline.ensure_default_stages(session=session)
    print("Database is up to date.")
    return 0


def _cmd_create_user(args: argparse.Namespace) -> int:
    from crystal_bay.db import session_scope
    from crystal_bay.services import users
    from crystal_bay.services.audit import Actor

    password = args.password or os.environ.get("CRYSTAL_BAY_NEW_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            print("error: --password is required when not run in a terminal", file=sys.stderr)
            return 2
        password = getpass.getpass("Password: ")
    with session_scope() as session:
        user = users.create_user(session=session, email=args.email, name=args.name, role=args.role,
                                 password=password, actor=Actor.system("cli"))
    print(f"Created {user.role} {user.email} (id {user.id}).")
    return 0


def _cmd_create_api_key(args: argparse.Namespace) -> int:
    from crystal_bay.db import session_scope
    from crystal_bay.services import api_keys
    from crystal_bay.services.audit import Actor

    with session_scope() as session:
        key, raw_key = api_keys.create_api_key(session=session, name=args.name, scopes=args.scope or ["leads:write"],
                                               actor=Actor.system("cli"))
    print(f"Created API key {key.name!r} (id {key.id}, prefix {key.prefix}, scopes: {', '.join(key.scopes)}).")
    print("The key is shown once; store it now:")
    print(raw_key)
    return 0


def _cmd_seed_demo(args: argparse.Namespace) -> int:
    from crystal_bay.db import session_scope
    from crystal_bay.services import demo

    started = time.perf_counter()
    with session_scope() as session:
        if args.if_empty and not demo.database_is_empty(session=session):
            print("Demo data not loaded: the database already has leads.")
            return 0
        counts = demo.seed_demo(session=session, leads=args.leads, seed=args.seed)
    elapsed = time.perf_counter() - started
    summary = ", ".join(f"{k}: {v}" for k, v in counts.items())
    print(f"Demo data loaded in {elapsed:.1f} s ({summary}).")
    return 0


def _cmd_bootstrap(args: argparse.Namespace) -> int:
    """Pipeline stages, the first admin, demo data when empty: what the run script needs."""
    from crystal_bay.db import session_scope
    from crystal_bay.services import demo, pipeline, users
    from crystal_bay.settings import get_settings

    settings = get_settings()
    with session_scope() as session:
        pipeline.ensure_default_stages(session=session)
        admin_password = settings.admin_password.get_secret_value() if settings.admin_password else None
        admin, generated = users.ensure_first_admin(session=session, email=settings.admin_email,
                                                    password=admin_password)
    if admin is not None:
        print("=" * 64)
        print(f"First administrator created: {admin.email}")
        if generated:
            print(f"Password (shown once, change it after logging in): {generated}")
        else:
            print("Password: the one given in ADMIN_PASSWORD.")
        print("=" * 64)
    if settings.demo and args.demo_leads:
        with session_scope() as session:
            if demo.database_is_empty(session=session):
                counts = demo.seed_demo(session=session, leads=args.demo_leads)
                print(f"Demo data loaded: {counts['leads']} leads, {counts['customers']} customers.")
    return 0


def _cmd_extract(args: argparse.Namespace) -> int:
    """Read one inquiry and print the extraction as JSON (issue 7)."""
    import asyncio
    import datetime as dt
    import json

    from crystal_bay.services import ai
    from crystal_bay.services.ai import openai_engine, processor

    try:
        today = dt.date.fromisoformat(args.today) if args.today else processor.local_today()
    except ValueError:
        print(f"error: --today must be a date like 2026-03-01, not {args.today!r}", file=sys.stderr)
        return 2
    text = " ".join(args.text) if args.text else sys.stdin.read()

    async def run():
        try:
            return await ai.extract(text, today=today, engine=args.engine)
        finally:
            await openai_engine.close_engines()

    try:
        result = asyncio.run(run())
    except ai.AIUnavailable as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    if args.engine == "openai" and result.engine != "openai":
        print("warning: OpenAI did not answer; the rules engine did (see the log).", file=sys.stderr)
    print(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m crystal_bay", description="Crystal Bay Travel operations")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("migrate", help="apply database migrations")
    p.set_defaults(func=_cmd_migrate)

    p = sub.add_parser("create-user", help="create an admin or manager")
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--role", required=True, choices=["admin", "manager"])
    p.add_argument("--password", help="omit to be asked (or set CRYSTAL_BAY_NEW_PASSWORD)")
    p.set_defaults(func=_cmd_create_user)

    p = sub.add_parser("create-api-key", help="create an API key for an external system (shown once)")
    p.add_argument("--name", required=True, help="who uses it, e.g. 'website form'")
    p.add_argument("--scope", action="append", choices=["leads:write", "leads:read"],
                   help="repeat for several scopes (default: leads:write)")
    p.set_defaults(func=_cmd_create_api_key)

    p = sub.add_parser("seed-demo", help="load realistic demo leads, customers and messages")
    p.add_argument("--leads", type=int, default=300, help="how many leads (up to 100000)")
    p.add_argument("--seed", type=int, default=None, help="random seed for repeatable data")
    p.add_argument("--if-empty", action="store_true", help="only when the database has no leads")
    p.set_defaults(func=_cmd_seed_demo)

    p = sub.add_parser("bootstrap", help="stages, first admin, and demo data on an empty demo database")
    p.add_argument("--demo-leads", type=int, default=300)
    p.set_defaults(func=_cmd_bootstrap)

    p = sub.add_parser("extract", help="read a travel inquiry and print what it asks for, as JSON")
    p.add_argument("text", nargs="*", help="the message (read from standard input when omitted)")
    p.add_argument("--today", help="reference date YYYY-MM-DD for relative dates (default: today in Almaty)")
    p.add_argument("--engine", choices=["rules", "openai"], help="force an engine (default: OpenAI when configured)")
    p.set_defaults(func=_cmd_extract)

    from crystal_bay.tours_cli import add_commands as add_tours_commands

    add_tours_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "leads", 1) is not None and not 0 < getattr(args, "leads", 1) <= 100_000:
        print("error: --leads must be between 1 and 100000", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
