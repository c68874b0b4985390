"""The HTML report: one self-contained page per run, and a comparison page across runs.

Self-contained means every figure is a base64 PNG inside the page and the style sheet is inline:
the file can be mailed or attached to a paper's supplement. Links point only to sibling output
files that exist when the page is written. The pages are templates (``run.html.j2``,
``comparison.html.j2``) drawn by the report toolkit (:mod:`hybridsim.report.page`), which
escapes every value; this module gathers what they show.

Deterministic: the page holds no timestamps, absolute paths or wall-clock times (the summary's
``wall`` key is left out), and PNGs are written with fixed metadata, so ``hybridsim report DIR``
rebuilds exactly the page ``hybridsim run`` wrote.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from hybridsim.report.blocks import FigureBlock, comparison_figures, run_figures
from hybridsim.report.data import NESTED_KEYS, RunData, as_runs, from_result, load_run
from hybridsim.report.files import local_href, write_bytes, write_text
from hybridsim.report.formats import value_text
from hybridsim.report.page import render
from hybridsim.report.tables import Table, paired, table

__all__ = [
    "render_report",
    "render_comparison",
    "write_report",
    "write_comparison",
    "REPORT_FILES",
    "RUNS_META",
    "page_runs",
]

#: Files ``write_report`` writes into a run directory (one of the two traces: a large one, or
#: any with ``output.compress``, is compressed).
REPORT_FILES = ("timeline.png", "trace.json", "trace.json.gz", "report.html")
# Output files a report links to when present (in this order).
_LINKED = (
    "summary.json",
    "jobs.csv",
    "jobs.csv.gz",
    "intervals.csv",
    "intervals.csv.gz",
    "queues.csv",
    "queues.csv.gz",
    "steps.csv",
    "steps.csv.gz",
    "scenario.toml",
    "timeline.png",
    "trace.json",
    "trace.json.gz",
)


# -- HTML -------------------------------------------------------------------------------------


def _scalar_items(summary: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return [
        (k, v)
        for k, v in summary.items()
        if k not in NESTED_KEYS and not isinstance(v, dict | list)
    ]


def _report_version() -> str:
    try:
        return metadata.version("matplotlib")
    except metadata.PackageNotFoundError:  # pragma: no cover - a dependency
        return "not installed"


def _versions(summaries: Sequence[Mapping[str, Any]], labels: Sequence[str]) -> Table:
    names: dict[str, None] = {}
    for s in summaries:
        v = s.get("versions")
        if isinstance(v, dict):
            names.update(dict.fromkeys(v))
    rows = []
    for name in names:
        vals = []
        for s in summaries:
            v = s.get("versions")
            vals.append(str(v.get(name, "—")) if isinstance(v, dict) else "—")
        rows.append([name, *vals])
    rows.append(["matplotlib (drew this report)", *([_report_version()] * len(summaries))])
    return table(["package", *labels], rows)


def _links(directory: Path | None, base: Path | None) -> list[tuple[str, str]]:
    """(name, href) of the run's output files that exist, linked from a page in ``base``."""
    if directory is None or base is None:
        return []
    links = []
    for name in _LINKED:
        if (directory / name).is_file():
            href = local_href(directory / name, base)
            if href is not None:
                links.append((name, href))
    return links


#: Name of the ``<meta>`` that lists, as paths relative to the page, the run directories a page
#: reports: ``hybridsim report`` overwrites a page only if it reports the same runs.
RUNS_META = "hybridsim-runs"
_RUNS_META_RE = re.compile(rf'<meta name="{RUNS_META}" content="([^"]*)">')


def _runs_meta(runs: Sequence[RunData], base: Path | None) -> str | None:
    """The content of the page's runs ``<meta>`` (JSON; the template escapes it), or None."""
    sources = [r.source for r in runs if r.source is not None]
    if base is None or len(sources) < len(runs):
        return None
    return json.dumps([Path(os.path.relpath(s, base)).as_posix() for s in sources])


def page_runs(page: Path) -> set[Path] | None:
    """The run directories (resolved) an existing report page says it reports, or None if it
    is not such a page (or cannot be read)."""
    try:
        with open(page, encoding="utf-8", errors="replace") as fh:
            head = fh.read(65536)
    except OSError:
        return None
    m = _RUNS_META_RE.search(head)
    if m is None:
        return None
    try:
        rels = json.loads(html.unescape(m.group(1)))
    except ValueError:
        return None
    if not isinstance(rels, list) or not all(isinstance(r, str) for r in rels):
        return None
    return {Path(os.path.realpath(page.parent / r)) for r in rels}


def _anchors(blocks: Sequence[FigureBlock]) -> list[tuple[str, str]]:
    return [(b.key, b.title) for b in blocks]


def render_report(run: RunData, blocks: Sequence[FigureBlock], base: Path | None = None) -> str:
    """The HTML page of one run.

    Parameters
    ----------
    run : RunData
    blocks : sequence of FigureBlock
        Figures to embed, in order (see :func:`run_figures`).
    base : Path, optional
        Directory the page will be written to; links to the run's output files are relative to
        it and only made for files that exist.
    """
    name = str(run.summary.get("scenario_name") or run.label)
    per_row = 2  # key/value pairs per table row
    items = [(k, value_text(v)) for k, v in _scalar_items(run.summary)]
    return render(
        "run.html.j2",
        title=f"hybridsim report: {name}",
        runs_meta=_runs_meta([run], base),
        name=name,
        description=str(run.scenario.get("description", "")) if run.scenario else "",
        label=run.label,
        seed=value_text(run.summary.get("seed")),
        policy=run.policy,
        links=_links(run.source, base),
        anchors=[
            *_anchors(blocks[:1]),
            ("summary", "Summary"),
            *_anchors(blocks[1:]),
            ("scenario", "Scenario"),
            ("versions", "Versions"),
        ],
        blocks=blocks,
        summary=paired(("key", "value"), items, per_row),
        scenario_text=run.scenario_text or "(no scenario.toml)",
        versions=_versions([run.summary], ["version"]),
    )


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    """Scenario dict -> {"cluster.qpu.q.gate_time_2q": '"84 ns"', ...}; list items that are
    tables with a name (device groups) are keyed by that name, so groups line up across runs."""
    out: dict[str, Any] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}{k}."))
    elif isinstance(d, list) and d and all(isinstance(x, dict) and "name" in x for x in d):
        for x in d:
            out.update(_flat({k: v for k, v in x.items() if k != "name"}, f"{prefix}{x['name']}."))
    else:
        out[prefix[:-1]] = json.dumps(d, ensure_ascii=False, sort_keys=True)
    return out


def render_comparison(
    runs: Sequence[RunData], blocks: Sequence[FigureBlock], base: Path | None = None
) -> str:
    """The HTML page comparing several runs: differing scenario keys, summaries side by side,
    shared figures with one line per run, each run's timeline, scenarios and versions."""
    labels = [r.label for r in runs]
    scenarios = list(dict.fromkeys(r.title for r in runs))
    listed = []
    for r in runs:
        own = r.source / "report.html" if r.source else None
        href = None
        if own is not None and own.is_file() and base is not None:
            href = local_href(own, base)
        what = f"{r.summary.get('scenario_name') or ''} {r.policy}, seed "
        what += value_text(r.summary.get("seed"))
        text = r.scenario_text or "(no scenario.toml)"
        listed.append({"label": r.label, "href": href, "what": what, "scenario_text": text})
    keys: dict[str, None] = {}
    for r in runs:
        keys.update(dict.fromkeys(k for k, _ in _scalar_items(r.summary)))
    flats = [_flat(dict(r.scenario)) for r in runs]
    all_keys: dict[str, None] = {}
    for f in flats:
        all_keys.update(dict.fromkeys(f))
    diff = [
        [k, *(f.get(k, "—") for f in flats)] for k in all_keys if len({f.get(k) for f in flats}) > 1
    ]
    return render(
        "comparison.html.j2",
        title=f"hybridsim comparison: {len(runs)} runs of {', '.join(scenarios)}",
        runs_meta=_runs_meta(runs, base),
        runs=listed,
        anchors=[
            ("summary", "Summary"),
            ("differences", "Differences"),
            *_anchors(blocks),
            ("scenario", "Scenarios"),
            ("versions", "Versions"),
        ],
        summary=table(
            ["key", *labels], [[k, *(value_text(r.summary.get(k)) for r in runs)] for k in keys]
        ),
        differences=table(["scenario key", *labels], diff, numeric=()),
        blocks=blocks,
        versions=_versions([r.summary for r in runs], labels),
    )


# -- writing ----------------------------------------------------------------------------------


def write_report(run: Any, out_dir: str | Path | None = None, *, trace: bool = True) -> list[Path]:
    """Write ``timeline.png``, ``trace.json`` (or ``trace.json.gz``: see
    :func:`~hybridsim.report.trace.write_trace`) and ``report.html`` for one run.

    Parameters
    ----------
    run : RunResult, RunData or path
        The run. A ``RunResult`` is reported from memory, with the same result as reading back
        the directory it was written to.
    out_dir : str or Path, optional
        Where to write (created if needed). Default: the run's own directory.
    trace : bool
        Also write the trace (compressed past 4 MiB, or always with ``output.compress``).

    Returns
    -------
    list of Path
        The files written.

    Examples
    --------
    >>> import hybridsim                                              # doctest: +SKIP
    >>> from hybridsim.report import write_report                     # doctest: +SKIP
    >>> r = hybridsim.run("scenarios/mmc.toml"); r.write("out")        # doctest: +SKIP
    >>> write_report(r, "out")                                        # doctest: +SKIP
    """
    if isinstance(run, str | Path):
        data = load_run(run)
    elif isinstance(run, RunData):
        data = run
    else:
        data = from_result(run, source=Path(out_dir) if out_dir is not None else None)
    out = Path(out_dir) if out_dir is not None else data.source
    if out is None:
        raise ValueError("out_dir is required for a run that was not read from a directory")
    out.mkdir(parents=True, exist_ok=True)
    if data.source is None:
        data = RunData(
            data.label,
            data.summary,
            data.scenario_text,
            data.jobs,
            data.intervals,
            data.queues,
            data.steps,
            out,
        )
    blocks = run_figures(data)
    written = [write_bytes(out / "timeline.png", blocks[0].png)]
    if trace:
        from hybridsim.report.trace import write_trace

        output = data.scenario.get("output")
        compress = isinstance(output, Mapping) and output.get("compress") is True
        written.append(write_trace(data, out / "trace.json", compress=True if compress else None))
    written.append(write_text(out / "report.html", render_report(data, blocks, base=out)))
    return written


def write_comparison(runs: Any, out_path: str | Path) -> Path:
    """Write a comparison page of several runs to ``out_path`` (an .html file) and return it."""
    datas = as_runs(runs)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    blocks = comparison_figures(datas)
    return write_text(out_path, render_comparison(datas, blocks, base=out_path.parent))
