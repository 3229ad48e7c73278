"""Benchmark the demo seed: `.venv/bin/python bench/seed_100k.py [--leads N] [--database-url URL]`.

Without --database-url a fresh temporary SQLite file is used (and deleted afterwards). With a URL
(e.g. postgresql://postgres@127.0.0.1:5432/test) the app's tables in that database are DROPPED and
recreated from the models; --cleanup drops them again at the end.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import SQLModel  # noqa: E402

import crystal_bay.models  # noqa: E402,F401  (registers the tables)
from crystal_bay.db import make_engine, session_scope  # noqa: E402
from crystal_bay.services import demo  # noqa: E402


def _engine_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--database-url", help="default: a new temporary SQLite file")
    parser.add_argument("--cleanup", action="store_true", help="drop the tables again afterwards")
    args = parser.parse_args(argv)

    tmp = None
    if args.database_url:
        url = _engine_url(args.database_url)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="crystal_bay_bench_")
        url = f"sqlite:///{tmp.name}/bench.db"
    engine = make_engine(url)
    try:
        if args.database_url:
            SQLModel.metadata.drop_all(engine)
        SQLModel.metadata.create_all(engine)
        print(f"database: {engine.url.render_as_string(hide_password=True)} ({engine.dialect.name})")
        started = time.perf_counter()
        with session_scope(engine) as session:
            counts = demo.seed_demo(session=session, leads=args.leads, seed=args.seed)
        elapsed = time.perf_counter() - started
        with session_scope(engine) as session:
            size = demo.database_size(session=session)
        print("counts: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
        print(f"elapsed: {elapsed:.2f} s")
        print(f"rate: {counts['leads'] / elapsed:,.0f} leads/s")
        print(f"database size: {size / 1_048_576:.1f} MB" if size is not None else "database size: unknown")
        print(f"peak memory (this process): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        if args.database_url and args.cleanup:
            SQLModel.metadata.drop_all(engine)
        engine.dispose()
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
