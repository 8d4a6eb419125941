"""bench/report.py: runs bench scripts as real processes and reports their figures.

The scripts here are tiny fakes written to tmp, so the runner's parsing, its handling of
failures and the README rewrite are checked in a second or two, not the real benches.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


def load(name: str) -> ModuleType:
    """A module of bench/ (not a package: its scripts import each other by file name)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


report = load("report")
figures = load("figures")

FAKE = """
import argparse, sys
from pathlib import Path
sys.path.insert(0, {bench!r})
from figures import measured, write_figures

parser = argparse.ArgumentParser()
parser.add_argument("--size", type=int, default=1000)
parser.add_argument("--json", type=Path)
args = parser.parse_args()
print(f"fake bench at size {{args.size}}")
if args.json:
    write_figures(args.json, [
        measured("latency p99", 4.2, "ms", below=5),
        measured("requests/s", 800.0, "req/s", at_least=1000),
        measured(f"rows at size {{args.size}}", args.size, "rows"),
    ], benchmark="fake")
"""


def write_script(folder: Path, name: str, body: str) -> str:
    (folder / name).write_text(textwrap.dedent(body))
    return name


@pytest.fixture
def readme(tmp_path: Path) -> Path:
    path = tmp_path / "README.md"
    path.write_text("# bench/\n\nHow to run the scripts.\n")
    return path


def test_figures_failures_and_missing_scripts_reach_the_results_and_the_readme(
    tmp_path: Path, readme: Path
) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    fake = write_script(scripts, "fake.py", FAKE.format(bench=str(BENCH_DIR)))
    broken = write_script(scripts, "broken.py", "import sys\nprint('boom')\nsys.exit(3)\n")
    silent = write_script(scripts, "silent.py", "print('figures? what figures')\n")
    benches = (
        report.Bench("broken", broken, quick=(), full=()),
        report.Bench("missing", "missing.py", quick=(), full=()),
        report.Bench("fake", fake, quick=("--size", "7"), full=("--size", "9000")),
        report.Bench("silent", silent, quick=(), full=()),
        report.Bench("full-only", fake, quick=None, full=()),
    )

    result, path = report.run_report(
        benches, "quick", bench_dir=scripts, results=tmp_path / "results", readme=readme
    )

    by_name = {b["name"]: b for b in result["benches"]}
    assert list(by_name) == ["broken", "missing", "fake", "silent"]  # full-only not run
    assert (by_name["broken"]["status"], by_name["broken"]["exit_code"]) == ("failed", 3)
    assert by_name["broken"]["output_tail"] == ["boom"]
    assert (by_name["missing"]["status"], by_name["missing"]["exit_code"]) == ("failed", 2)
    assert by_name["silent"]["status"] == "no figures"
    assert by_name["fake"]["status"] == "ok"
    assert by_name["fake"]["figures"] == [
        {"figure": "latency p99", "value": 4.2, "unit": "ms", "target": "< 5 ms", "meets": True},
        {
            "figure": "requests/s",
            "value": 800.0,
            "unit": "req/s",
            "target": ">= 1,000 req/s",
            "meets": False,
        },
        {"figure": "rows at size 7", "value": 7.0, "unit": "rows", "target": None, "meets": None},
    ]
    assert json.loads(path.read_text()) == result
    assert path.name == f"{result['date']}-{result['machine_slug']}-quick.json"
    machine = result["machine"]
    assert {"cpu", "cores", "ram_gb", "python"} <= set(machine)
    assert result["load_before"] is not None and result["load_after"] is not None

    table = path.with_suffix(".md").read_text()
    slug = result["machine_slug"]
    assert f"| fake | latency p99 | < 5 ms | 4.20 ms | yes | {slug} |" in table
    assert f"| fake | requests/s | >= 1,000 req/s | 800 req/s | **NO** | {slug} |" in table
    assert f"| fake | rows at size 7 | - | 7.00 rows | - | {slug} |" in table
    assert f"| broken | - | - | failed (exit code 3) | **NO** | {slug} |" in table
    assert f"| missing | - | - | failed (exit code 2) | **NO** | {slug} |" in table
    assert "| silent | - | - | no figures (it wrote no silent.json) | **NO** |" in table
    assert machine["cpu"] in table
    assert "- fake: `bench/fake.py --size 7`," in table

    text = readme.read_text()
    assert text.startswith("# bench/\n\nHow to run the scripts.\n")
    assert table in text
    assert text.count(report.START_MARK) == text.count(report.END_MARK) == 1


def test_a_script_that_overruns_is_stopped_and_reported(tmp_path: Path) -> None:
    slow = write_script(
        tmp_path, "slow.py", "import time\nprint('working', flush=True)\ntime.sleep(120)\n"
    )
    outcome = report.run_bench(
        report.Bench("slow", slow, quick=(), full=()), (), tmp_path, tmp_path, timeout=1.0
    )
    assert outcome.status == "timed out"
    assert outcome.seconds < 60
    # Stopped with SIGINT first, so that the script's own cleanup (servers, databases) runs.
    assert outcome.output_tail[0] == "working"
    assert outcome.output_tail[-1] == "KeyboardInterrupt"


def test_a_malformed_figure_record_is_reported_not_trusted(tmp_path: Path) -> None:
    odd = write_script(
        tmp_path,
        "odd.py",
        """
        import json, sys
        path = sys.argv[sys.argv.index("--json") + 1]
        json.dump({"figures": [{"figure": "latency", "value": 3}]}, open(path, "w"))
        """,
    )
    outcome = report.run_bench(
        report.Bench("odd", odd, quick=(), full=()), (), tmp_path, tmp_path, timeout=60
    )
    assert outcome.status == "no figures"
    assert "lacks one of figure, value, unit, target, meets" in outcome.message


class TestReadmeSection:
    def test_replaces_only_what_is_between_the_markers(self) -> None:
        text = f"intro\n\n{report.START_MARK}\nold table\n{report.END_MARK}\n\nafter\n"
        rewritten = report.rewrite_section(text, "new table\n")
        assert rewritten == f"intro\n\n{report.START_MARK}\nnew table\n{report.END_MARK}\n\nafter\n"
        assert report.rewrite_section(rewritten, "new table\n") == rewritten

    def test_appends_a_section_when_the_markers_are_missing(self) -> None:
        rewritten = report.rewrite_section("intro\n", "table")
        assert rewritten.startswith("intro\n\n## Latest report")
        assert rewritten.endswith(f"{report.START_MARK}\ntable\n{report.END_MARK}\n")

    def test_the_bench_readme_has_the_markers(self) -> None:
        text = (BENCH_DIR / "README.md").read_text()
        assert text.count(report.START_MARK) == text.count(report.END_MARK) == 1


class TestMeasured:
    def test_targets_below_and_at_least(self) -> None:
        assert figures.measured("p99", 99.9, "ms", below=100).meets is True
        assert figures.measured("p99", 100.0, "ms", below=100).meets is False
        assert figures.measured("rps", 1000, "req/s", at_least=1000).meets is True
        assert figures.measured("rps", 999, "req/s", at_least=1000).target == ">= 1,000 req/s"

    def test_a_missing_value_never_meets_its_target(self) -> None:
        figure = figures.measured("p99", float("nan"), "ms", below=100)
        assert (figure.value, figure.meets) == (None, False)

    def test_a_run_with_errors_does_not_meet_even_without_a_target(self) -> None:
        assert figures.measured("rps", 5.0, "req/s", ok=False).meets is False
        assert figures.measured("rps", 5.0, "req/s").meets is None


def test_the_machine_label_names_the_hardware_not_the_host() -> None:
    machine = {
        "cpu": "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz",
        "cores": 2,
        "ram_gb": 7.7,
        "python": "3.11.7",
        "system": "Linux",
    }
    assert report.machine_slug(machine) == "intel-xeon-platinum-8375c-2c-8g"
    assert report.machine_slug({**machine, "cpu": "AMD EPYC 7B13 64-Core Processor"}) == (
        "amd-epyc-7b13-2c-8g"
    )
    import socket

    assert socket.gethostname() not in json.dumps(report.describe_machine())


def test_every_bench_script_takes_the_runner_s_json_option() -> None:
    for bench in report.BENCHES:
        path = BENCH_DIR / bench.script
        if path.exists():  # audiences.py is written by another branch
            assert '"--json"' in path.read_text(), bench.script
