"""Seconds the recommender-output suites (``expectations/suites/recommender.py``) take on a
synthetic version of the given size: summarising the lists, then GE on the two batches.

    .venv/bin/python bench/recommender_checks.py --users 100000 --items 20000 [--json out.json]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from figures import measured, write_figures

from expectations.runner import validate_frame
from expectations.suites.recommender import recommender_frames, recommender_suites


def lists(rows: int, width: int, n_items: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Distinct items per row (an arithmetic walk with a step prime to the catalogue),
    scores best first."""
    step = 7919 if n_items % 7919 else 7907
    start = rng.integers(0, n_items, rows)[:, None]
    items = ((start + step * np.arange(width)) % n_items).astype(np.int32)
    scores = np.sort(rng.random((rows, width), dtype=np.float32), axis=1)[:, ::-1]
    return {"items": items, "scores": np.ascontiguousarray(scores)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    user_ids = [f"u{n}" for n in range(args.users)]
    item_ids = [f"i{n}" for n in range(args.items)]
    similar = lists(args.items, 50, args.items, rng)
    bought = lists(args.items, 20, args.items, rng)
    version = {
        "user_ids": user_ids,
        "item_ids": item_ids,
        "recommendations": lists(args.users, args.candidates, args.items, rng),
        "similar": similar,
        "bought_together": {"items": bought["items"], "lift": bought["scores"]},
        "positives": pd.DataFrame(
            # items outside the catalogue: never recommended, so the version is sound
            {
                "user_id": np.repeat(user_ids, 5),
                "item_id": [f"gone{n}" for n in range(5 * args.users)],
            }
        ),
    }
    suites = recommender_suites(n_users=args.users, n_items=args.items)
    started = time.perf_counter()
    batches = recommender_frames(**version)
    summarised = time.perf_counter()
    outcomes = [o for name, s in suites.items() for o in validate_frame(s, batches[name])]
    validated = time.perf_counter()
    failed = [o.check for o in outcomes if not o.success]
    print(
        f"{args.users} users x {args.candidates} candidates, {args.items} items: "
        f"frames {summarised - started:.2f} s, GE {validated - summarised:.2f} s, "
        f"total {validated - started:.2f} s; failed: {failed or 'none'}"
    )
    if args.json:
        size = f"{args.users:,} users x {args.candidates} candidates"
        write_figures(
            args.json,
            [
                measured(f"recommender frames, {size}", summarised - started, "s"),
                measured(f"GE validation, {size}", validated - summarised, "s", ok=not failed),
            ],
            benchmark="recommender_checks",
            failed=failed,
        )


if __name__ == "__main__":
    main()
