"""Rules engine accuracy and speed: `.venv/bin/python bench/extraction.py [--repeat N] [--data FILE ...]`.

Reads the labelled inquiries (tests/data/inquiries.json, the tuning set, and
tests/data/inquiries_holdout.json, written afterwards and never tuned against), and prints for each
file the share of messages where each field (and each field group: destination, dates, nights,
travellers, budget) is exactly right, then the time per message: the first call (dateparser loads its
language data) and the mean/p95 of warm calls.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crystal_bay.services.ai import rules_engine  # noqa: E402

FIELDS = ("intent", "departure_city", "country", "resort", "date_from", "date_to", "nights_min", "nights_max",
          "adults", "children", "children_ages", "budget", "currency", "hotel_stars", "meal", "name", "phone",
          "email", "language")
GROUPS = {"destination": ("country", "resort"), "dates": ("date_from", "date_to"),
          "nights": ("nights_min", "nights_max"), "travellers": ("adults", "children", "children_ages"),
          "budget": ("budget", "currency")}
DEFAULT_DATA = [ROOT / "tests" / "data" / "inquiries.json", ROOT / "tests" / "data" / "inquiries_holdout.json"]


def accuracy(path: Path) -> tuple[int, dict[str, float], dict[str, float], list[str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    fields = dict.fromkeys(FIELDS, 0)
    groups = dict.fromkeys(GROUPS, 0)
    misses = []
    for case in data["cases"]:
        today = dt.date.fromisoformat(case.get("today", data["today"]))
        got = rules_engine.extract(case["text"], today=today).model_dump(mode="json")
        want = {k: case["expect"].get(k, [] if k == "children_ages" else None) for k in FIELDS}
        for key in FIELDS:
            fields[key] += got[key] == want[key]
            if got[key] != want[key]:
                misses.append(f"  {key}: {got[key]!r} ≠ {want[key]!r} in {case['text'][:70]!r}")
        for group, keys in GROUPS.items():
            groups[group] += all(got[k] == want[k] for k in keys)
    n = len(data["cases"])
    return n, {k: v / n for k, v in fields.items()}, {k: v / n for k, v in groups.items()}, misses


def first_call() -> float:
    started = time.perf_counter()
    rules_engine.extract("Нячанг с 10 по 20 июня, 2 взрослых, бюджет 2500$", today=dt.date(2026, 1, 15))
    return (time.perf_counter() - started) * 1000


def timing(texts: list[str], repeat: int) -> tuple[float, float]:
    today = dt.date(2026, 1, 15)
    samples = []
    for i in range(repeat):
        day = today + dt.timedelta(days=i)  # a new reference date each round: dateparser's cache starts cold
        for text in texts:
            t0 = time.perf_counter()
            rules_engine.extract(text, today=day)
            samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.fmean(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="*", default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--misses", action="store_true", help="list every wrong field")
    args = parser.parse_args()
    first = first_call()
    texts = []
    for path in args.data:
        n, fields, groups, misses = accuracy(path)
        texts += [c["text"] for c in json.loads(path.read_text(encoding="utf-8"))["cases"]]
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {n} messages")
        print("  groups: " + "  ".join(f"{g} {v:.1%}" for g, v in groups.items()))
        print("  fields: " + "  ".join(f"{k} {v:.0%}" for k, v in fields.items()))
        if args.misses:
            print("\n".join(misses) or "  (no misses)")
    mean, p95 = timing(texts, args.repeat)
    print(f"time per message: first call {first:.0f} ms (dateparser loads its data), then mean {mean:.2f} ms, "
          f"p95 {p95:.2f} ms over {len(texts) * args.repeat} extractions")


if __name__ == "__main__":
    main()
