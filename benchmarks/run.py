"""Benchmark runner: ``python -m benchmarks [--quick] [--only NAME] [--out FILE]``.

Discovers every ``benchmarks/bench_*.py`` module, runs its ``run(quick)`` and prints one table.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import platform
import sys
from pathlib import Path

if __package__ in (None, ""):  # allow ``python benchmarks/run.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import Row


def discover() -> list[str]:
    """Names of the benchmark modules, sorted."""
    pkg_dir = Path(__file__).resolve().parent
    return sorted(
        m.name for m in pkgutil.iter_modules([str(pkg_dir)]) if m.name.startswith("bench_")
    )


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    if x == 0 or 1e-3 <= abs(x) < 1e6:
        return f"{x:.4g}"
    return f"{x:.3e}"


def format_table(rows: list[Row]) -> str:
    """Render rows as a Markdown table."""
    head = ["bench", "metric", "value", "baseline", "ratio", "target", "ok", "note"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        ok = "-" if r.ok is None else ("yes" if r.ok else "NO")
        cells = [
            r.bench,
            r.metric,
            _fmt(r.value),
            _fmt(r.baseline),
            _fmt(r.ratio),
            r.target,
            ok,
            r.note,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short versions of every benchmark")
    parser.add_argument("--only", action="append", default=[], help="run only these (repeatable)")
    parser.add_argument("--out", type=Path, help="also write the table (Markdown) to this file")
    args = parser.parse_args(argv)

    names = discover()
    if args.only:
        wanted = {n if n.startswith("bench_") else f"bench_{n}" for n in args.only}
        unknown = wanted - set(names)
        if unknown:
            parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
        names = [n for n in names if n in wanted]

    rows: list[Row] = []
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows.extend(module.run(args.quick))

    header = (
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
        f"python {platform.python_version()}, quick={args.quick}"
    )
    table = header + "\n\n" + format_table(rows)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
