"""One benchmark report: every bench script in one profile, their figures in one table.

    .venv/bin/python bench/report.py                     # quick profile (make bench)
    .venv/bin/python bench/report.py --profile full      # the scripts' full sizes (make bench-full)
    .venv/bin/python bench/report.py --only collect --only recs

Each script runs as its own process with the profile's arguments plus ``--json PATH`` (the
records of ``bench/figures.py``), its output passing through as it comes. The runner then
writes ``bench/results/<date>-<machine>-<profile>.json`` and ``.md`` (figure, target,
measured, met, machine) and, when the whole profile ran, that table into bench/README.md
between its markers. A script that fails, times out or writes no figures is reported as
such with its exit code and the runner goes on. It exits 1 when any script failed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
README = BENCH_DIR / "README.md"
RESULTS = BENCH_DIR / "results"
START_MARK = "<!-- bench-report:start (bench/report.py rewrites this section) -->"
END_MARK = "<!-- bench-report:end -->"
PROFILES = ("quick", "full")
QUICK_TIMEOUT_S = 1200.0
FIGURE_KEYS = ("figure", "value", "unit", "target", "meets")
TAIL_LINES = 20


@dataclass(frozen=True)
class Bench:
    """A script of ``bench/`` and its arguments per profile (None: not in that profile)."""

    name: str
    script: str
    quick: tuple[str, ...] | None
    full: tuple[str, ...] | None

    def arguments(self, profile: str) -> tuple[str, ...] | None:
        return self.quick if profile == "quick" else self.full


# Quick: minutes in all on a quiet 2-core machine, small sizes and short windows (targets
# set for a size, such as training on 1M interactions, then show no target). Full: the
# sizes the targets are set for, the scripts' defaults (the pipeline's 20M events: hours).
BENCHES: tuple[Bench, ...] = (
    Bench(
        "api_catalog", "api_catalog.py",
        quick=("--listings", "20000", "--duration", "5", "--warmup", "2", "--probe", "0"),
        full=(),
    ),
    Bench("api_checkout", "api_checkout.py", quick=("--duration", "5", "--warmup", "2"), full=()),
    Bench("collect", "collect.py", quick=("--duration", "5", "--warmup", "2"), full=()),
    Bench(
        "recs_api", "recs_api.py",
        quick=("--listings", "20000", "--duration", "4", "--warmup", "2", "--rounds", "1",
               "--samples", "1000"),
        full=(),
    ),
    Bench("recs_api-postgresql", "recs_api.py", quick=None, full=("--backend", "postgresql")),
    Bench("recs", "recs.py", quick=("--samples", "500"), full=()),
    Bench("recommender_checks", "recommender_checks.py",
          quick=("--users", "20000", "--items", "5000"), full=()),
    Bench("simulate", "simulate.py", quick=("--shoppers", "200", "--days", "7", "--quiet"),
          full=("--quiet",)),
    # issue 16: profiles and every audience over 1M customers (its own defaults).
    Bench("audiences", "audiences.py", quick=(), full=()),
    Bench("pipeline", "pipeline.py", quick=("--sizes", "100k"), full=()),
)  # fmt: skip


@dataclass
class Outcome:
    """How one script's run went, and the figures it wrote."""

    name: str
    script: str
    arguments: list[str]
    status: str  # ok, failed, timed out, no figures
    exit_code: int | None = None
    seconds: float = 0.0
    load_before: float | None = None
    message: str = ""
    figures: list[dict[str, Any]] = field(default_factory=list)
    output_tail: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------
# The machine
# --------------------------------------------------------------------------------------


def _first_value(path: str, key: str) -> str | None:
    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    return None


def describe_machine() -> dict[str, Any]:
    """What the figures depend on, without the host's name: CPU, cores, RAM, Python, OS."""
    memory_kb = _first_value("/proc/meminfo", "MemTotal")
    ram_gb = round(int(memory_kb.split()[0]) / 2**20, 1) if memory_kb else None
    cpu = _first_value("/proc/cpuinfo", "model name") or platform.processor() or "unknown CPU"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": ram_gb,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
    }


def machine_slug(machine: dict[str, Any]) -> str:
    """A short file-name-safe label: ``amd-epyc-2c-24g``."""
    cpu = re.sub(r"\((r|tm)\)|\bcpu\b|@.*$|\d+-core processor", " ", machine["cpu"].lower())
    cpu = re.sub(r"[^a-z0-9]+", "-", cpu).strip("-")[:32].strip("-") or "cpu"
    ram = "" if machine["ram_gb"] is None else f"-{round(machine['ram_gb'])}g"
    return f"{cpu}-{machine['cores']}c{ram}"


def load_average() -> float | None:
    with contextlib.suppress(OSError):
        return round(os.getloadavg()[0], 2)
    return None


def revision() -> str | None:
    """The commit measured, ``+dirty`` when the worktree has changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
    except OSError:
        return None
    return f"{head}+dirty" if head and dirty else head or None


# --------------------------------------------------------------------------------------
# Running one script
# --------------------------------------------------------------------------------------


def read_figures(path: Path) -> list[dict[str, Any]]:
    """The ``figures`` records a script wrote; ValueError when the file is not that shape."""
    payload = json.loads(path.read_text())
    records = payload.get("figures") if isinstance(payload, dict) else None
    if not isinstance(records, list):
        raise ValueError(f"{path.name} has no 'figures' list")
    for record in records:
        if not isinstance(record, dict) or set(FIGURE_KEYS) - set(record):
            raise ValueError(f"a figure record lacks one of {', '.join(FIGURE_KEYS)}: {record}")
    return [{key: record[key] for key in FIGURE_KEYS} for record in records]


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT first, so the script's cleanup runs (servers, bench databases); then SIGKILL
    to what is left of its process group (a pipeline worker may outlive its parent)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=60)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def run_bench(
    bench: Bench, arguments: tuple[str, ...], bench_dir: Path, work: Path, timeout: float | None
) -> Outcome:
    """Run one script as its own process (group), passing its output through."""
    script = bench_dir / bench.script
    out = work / f"{bench.name}.json"
    command = [sys.executable, str(script), *arguments, "--json", str(out)]
    outcome = Outcome(bench.name, bench.script, list(arguments), "ok", load_before=load_average())
    print(f"\n=== {bench.name}: {' '.join(command[1:])}", flush=True)
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip

    def relay() -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode(errors="replace")
            sys.stdout.write(line)
            sys.stdout.flush()
            tail.append(line.rstrip())

    relaying = threading.Thread(target=relay, daemon=True)
    relaying.start()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(process)
        outcome.status, outcome.message = "timed out", f"stopped after {timeout:.0f} s"
    except KeyboardInterrupt:
        _stop(process)
        raise
    relaying.join(timeout=10)
    outcome.seconds = round(time.perf_counter() - started, 1)
    outcome.exit_code = process.returncode
    outcome.output_tail = list(tail)
    if outcome.status == "ok" and process.returncode != 0:
        outcome.status, outcome.message = "failed", f"exit code {process.returncode}"
    if outcome.status == "ok":
        try:
            outcome.figures = read_figures(out)
        except FileNotFoundError:
            outcome.status, outcome.message = "no figures", f"it wrote no {out.name}"
        except ValueError as error:
            outcome.status, outcome.message = "no figures", str(error)
    return outcome


# --------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------


def format_value(value: float | None, unit: str) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    size = abs(value)
    text = (
        f"{value:,.0f}" if size >= 100 else f"{value:.1f}" if size >= 10
        else f"{value:.2f}" if size >= 1 else f"{value:.3g}"
    )  # fmt: skip
    return f"{text}{unit}" if unit in ("%", "x") else f"{text} {unit}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(report: dict[str, Any]) -> str:
    """The table (figure, target, measured, met, machine) with the run's context above it."""
    machine, slug = report["machine"], report["machine_slug"]
    minutes, seconds = divmod(round(report["seconds"]), 60)
    lines = [
        f"Profile **{report['profile']}**, {report['date']}, revision "
        f"`{report['revision'] or 'unknown'}`, {minutes} min {seconds} s in all. Machine "
        f"`{slug}`: {machine['cpu']}, {machine['cores']} cores, {machine['ram_gb']} GB RAM, "
        f"Python {machine['python']}, {machine['system']}; load average "
        f"{report['load_before']} before, {report['load_after']} after.",
        "",
        "| script | figure | target | measured | met | machine |",
        "|---|---|---|---|---|---|",
    ]
    for bench in report["benches"]:
        if bench["status"] != "ok":
            state = bench["status"] + (f" ({bench['message']})" if bench["message"] else "")
            lines.append(f"| {bench['name']} | - | - | {_cell(state)} | **NO** | {slug} |")
            continue
        for f in bench["figures"]:
            met = {True: "yes", False: "**NO**", None: "-"}[f["meets"]]
            lines.append(
                f"| {bench['name']} | {_cell(f['figure'])} | {_cell(f['target'] or '-')} | "
                f"{format_value(f['value'], f['unit'])} | {met} | {slug} |"
            )
    lines += ["", "Run as (each with `--json PATH`):", ""]
    for bench in report["benches"]:
        call = " ".join([f"bench/{bench['script']}", *bench["arguments"]])
        lines.append(f"- {bench['name']}: `{call}`, {bench['seconds']:,.0f} s")
    return "\n".join(lines) + "\n"


def rewrite_section(text: str, section: str) -> str:
    """``text`` with ``section`` between the markers (appended, with a heading, if absent)."""
    block = f"{START_MARK}\n{section.rstrip()}\n{END_MARK}"
    start, end = text.find(START_MARK), text.find(END_MARK)
    if start != -1 and end > start:
        return text[:start] + block + text[end + len(END_MARK) :]
    return text.rstrip() + "\n\n## Latest report (`make bench`)\n\n" + block + "\n"


def run_report(
    benches: tuple[Bench, ...],
    profile: str,
    *,
    bench_dir: Path = BENCH_DIR,
    results: Path = RESULTS,
    readme: Path | None = README,
    timeout: float | None = None,
) -> tuple[dict[str, Any], Path]:
    """Run the profile's benches, write the results (and the README section); the report
    and the path of its JSON."""
    machine = describe_machine()
    started_at, load_before = datetime.now(UTC), load_average()
    started = time.perf_counter()
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="bench-report-") as work:
        for bench in benches:
            arguments = bench.arguments(profile)
            if arguments is not None:
                outcomes.append(run_bench(bench, arguments, bench_dir, Path(work), timeout))
    report = {
        "profile": profile,
        "date": started_at.date().isoformat(),
        "started_at": started_at.isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
        "revision": revision(),
        "machine": machine,
        "machine_slug": machine_slug(machine),
        "load_before": load_before,
        "load_after": load_average(),
        "benches": [asdict(outcome) for outcome in outcomes],
    }
    results.mkdir(parents=True, exist_ok=True)
    stem = results / f"{report['date']}-{report['machine_slug']}-{profile}"
    table = markdown(report)
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    stem.with_suffix(".md").write_text(table)
    if readme is not None:
        readme.write_text(rewrite_section(readme.read_text(), table))
    return report, stem.with_suffix(".json")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=PROFILES, default="quick")
    parser.add_argument(
        "--only", action="append", choices=[b.name for b in BENCHES],
        help="run only this bench (repeatable); bench/README.md is then left as it is",
    )  # fmt: skip
    parser.add_argument(
        "--timeout", type=float,
        help=f"seconds per script before it is stopped (quick: {QUICK_TIMEOUT_S:.0f}; "
        "full: none)",
    )  # fmt: skip
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of the results")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    benches = tuple(b for b in BENCHES if not args.only or b.name in args.only)
    timeout = args.timeout or (QUICK_TIMEOUT_S if args.profile == "quick" else None)
    print(
        f"Mercado benchmark report, {args.profile} profile: "
        f"{', '.join(b.name for b in benches if b.arguments(args.profile) is not None)}; "
        f"load average {load_average()}",
        flush=True,
    )
    report, path = run_report(
        benches, args.profile, results=args.results,
        readme=None if args.only else README, timeout=timeout,
    )  # fmt: skip
    print("\n" + markdown(report))
    print(f"report written to {path} and {path.with_suffix('.md')}")
    failed = [b["name"] for b in report["benches"] if b["status"] != "ok"]
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
