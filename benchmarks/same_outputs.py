"""Check that an engine change leaves every scenario's outputs byte-identical.

Runs every file in ``scenarios/`` at a reduced size (scenario files with ``--set``-style
overrides, sweep files as their reduced points: first and last value of each factor, one seed)
plus a few engine variants, writes each run's output files, and compares two such snapshots
file by file, ignoring only the ``wall`` key of ``summary.json`` (wall-clock timings)::

    python -m benchmarks.same_outputs save /tmp/before     # on the old code
    python -m benchmarks.same_outputs check /tmp/before    # on the new code: exit 1 on a diff

Not a test (it takes a few minutes); the engine's refactorings are checked with it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"

# Reduced sizes: a few seconds per run, still every code path the file exercises.
SHORTEN = {
    "mmc.toml": ["workload.jobs=3000"],
    "quickstart.toml": ["workload.steps=4"],
    "paper-mlp.toml": ["workload.epochs=0.5"],
    "paper-bert-tiny.toml": ["workload.steps=20"],
    "paper-mistral-tiny.toml": ["workload.steps=20"],
    "multi-tenant.toml": ["workload.epochs=0.2"],
    "faults.toml": ["workload.epochs=1"],
}

# Engine paths the files alone leave out (no transfers; no queue log; other disciplines).
VARIANTS = {
    "mmc-paper": ("mmc.toml", ["workload.jobs=3000", 'costs.accounting="paper"']),
    "mmc-noqueue": ("mmc.toml", ["workload.jobs=3000", "output.queue_levels=false"]),
    "mmc-priority": (
        "mmc.toml",
        [
            "workload.jobs=2000",
            "workload.priorities=[0, 1, 2]",
            'cluster.qpu.q.discipline="priority"',
        ],
    ),
    "mmc-zero": (
        "mmc.toml",
        [
            "workload.jobs=1000",
            'workload.service={dist="deterministic", value_s=0}',
            'workload.arrival={dist="deterministic", interval_s=0}',
        ],
    ),
    "paper-mlp-full": ("paper-mlp.toml", ["workload.epochs=0.5", 'costs.accounting="full"']),
}


def runs() -> Iterator[tuple[str, Any, list[str], int | None]]:
    """(name, scenario, overrides, seed) of every run of the snapshot."""
    from hybridsim.sweep.spec import load_sweep

    # the sweeps cut exactly as the golden-summary tests cut them (one definition of "reduced")
    from tests.golden import is_sweep, reduced_sweep

    for path in sorted(SCENARIOS.glob("*.toml")):
        if not is_sweep(path.name):
            yield path.stem, path, SHORTEN.get(path.name, []), None
            continue
        spec = load_sweep(reduced_sweep(path.name))
        for point in spec.points:
            for seed in spec.seeds:
                yield f"{path.stem}-p{point.index}-s{seed}", point.scenario, [], seed
    for name, (file, overrides) in VARIANTS.items():
        yield name, SCENARIOS / file, overrides, None


def save(out: Path) -> None:
    import hybridsim

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name, scenario, overrides, seed in runs():
        print(name, file=sys.stderr, flush=True)
        r = hybridsim.run(scenario, seed=seed, overrides=overrides)
        r.write(out / name)
        summary = out / name / "summary.json"
        data = json.loads(summary.read_text())
        data.pop("wall", None)
        summary.write_text(json.dumps(data, indent=2) + "\n")


def compare(a: Path, b: Path) -> list[str]:
    """Differences between two snapshots, one line each."""
    files_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
    files_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    problems = [
        f"{rel}: only in {'before' if rel in files_a else 'after'}"
        for rel in sorted(files_a ^ files_b)
    ]
    problems.extend(
        f"{rel}: differs"
        for rel in sorted(files_a & files_b)
        if (a / rel).read_bytes() != (b / rel).read_bytes()
    )
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.same_outputs")
    ap.add_argument("action", choices=["save", "check"])
    ap.add_argument("dir", type=Path)
    args = ap.parse_args(argv)
    if args.action == "save":
        save(args.dir)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        now = Path(tmp) / "now"
        save(now)
        problems = compare(args.dir, now)
    for line in problems:
        print(line)
    print(f"{'identical' if not problems else f'{len(problems)} differences'}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
