"""The HTML report: one self-contained page per run, and a comparison page across runs.

Self-contained means every figure is a base64 PNG inside the page and the style sheet is inline:
the file can be mailed or attached to a paper's supplement. Links point only to sibling output
files that exist when the page is written.

Deterministic: the page holds no timestamps, absolute paths or wall-clock times (the summary's
``wall`` key is left out), and PNGs are written with fixed metadata, so ``hybridsim report DIR``
rebuilds exactly the page ``hybridsim run`` wrote.
"""

from __future__ import annotations

import base64
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

__all__ = [
    "render_report",
    "render_comparison",
    "write_report",
    "write_comparison",
    "REPORT_FILES",
    "RUNS_META",
    "page_runs",
]

#: Files ``write_report`` writes into a run directory.
REPORT_FILES = ("timeline.png", "trace.json", "report.html")
# Output files a report links to when present (in this order).
_LINKED = (
    "summary.json",
    "jobs.csv",
    "intervals.csv",
    "queues.csv",
    "steps.csv",
    "scenario.toml",
    "timeline.png",
    "trace.json",
)


# -- HTML -------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;
max-width:1240px;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:.25em .6em;
text-align:left;vertical-align:top}td.num{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f4f4f4}pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:.85em}
figure{margin:1em 0}img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.9em;max-width:60em}nav a{margin-right:1em}
.muted{color:#777}
"""


#: The one definition of utilization, stated on every run page under the summary.
_UTILIZATION_NOTE = (
    "<b>Utilization</b> (<code>utilization_gpu</code>, <code>utilization_qpu</code>, "
    "<code>utilization_&lt;device&gt;</code>, and the timeline's <i>utilization</i> column) is "
    "solve-job service time divided by slots × makespan: the share of slot-time spent serving "
    "solve jobs. Local compute of the training steps and transfers are not counted; the "
    "timeline's <i>busy</i> column counts them (any work on the lane, parallel slots counted "
    "once), so a GPU that also runs the training steps is busier than it is utilized."
)


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


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


def _figure_html(block: FigureBlock) -> str:
    b64 = base64.b64encode(block.png).decode("ascii")
    return (
        f'<section id="{html.escape(block.key)}"><h2>{html.escape(block.title)}</h2>\n'
        f'<figure><img alt="{html.escape(block.title)}" src="data:image/png;base64,{b64}">\n'
        f"<figcaption>{html.escape(block.caption)}</figcaption></figure></section>\n"
    )


def _table(
    header: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] | None = None
) -> str:
    """An HTML table; cells in the ``numeric`` columns (default: all but the first) align right."""
    num = set(numeric) if numeric is not None else set(range(1, len(header)))
    out = ["<table><thead><tr>"]
    out += [f"<th>{html.escape(h)}</th>" for h in header]
    out.append("</tr></thead><tbody>\n")
    for row in rows:
        out.append("<tr>")
        for i, cell in enumerate(row):
            cls = ' class="num"' if i in num else ""
            out.append(f"<td{cls}>{html.escape(cell)}</td>")
        out.append("</tr>\n")
    out.append("</tbody></table>\n")
    return "".join(out)


def _version_rows(summaries: Sequence[Mapping[str, Any]]) -> str:
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
    return rows


def _links(directory: Path | None, base: Path | None) -> str:
    if directory is None or base is None:
        return ""
    present = [n for n in _LINKED if (directory / n).is_file()]
    if not present:
        return ""
    items = []
    for name in present:
        href = local_href(directory / name, base)
        if href is not None:
            items.append(f'<a href="{html.escape(href)}">{html.escape(name)}</a>')
    return "<p>Files: " + " · ".join(items) + "</p>\n" if items else ""


#: Name of the ``<meta>`` that lists, as paths relative to the page, the run directories a page
#: reports: ``hybridsim report`` overwrites a page only if it reports the same runs.
RUNS_META = "hybridsim-runs"
_RUNS_META_RE = re.compile(rf'<meta name="{RUNS_META}" content="([^"]*)">')


def _runs_meta(runs: Sequence[RunData], base: Path | None) -> str:
    if base is None or any(r.source is None for r in runs):
        return ""
    rels = [Path(os.path.relpath(r.source, base)).as_posix() for r in runs]
    return f'<meta name="{RUNS_META}" content="{html.escape(json.dumps(rels))}">\n'


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


def _page(title: str, body: str, meta: str = "") -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        f"{meta}<title>{html.escape(title)}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<style>{_CSS}</style></head>\n<body>\n{body}</body></html>\n"
    )


def _anchors(blocks: Sequence[FigureBlock]) -> list[tuple[str, str]]:
    return [(b.key, b.title) for b in blocks]


def _nav(links: Sequence[tuple[str, str]]) -> str:
    items = [f'<a href="#{html.escape(k)}">{html.escape(t)}</a>' for k, t in links]
    return "<nav>" + " ".join(items) + "</nav>\n"


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
    name = run.summary.get("scenario_name") or run.label
    desc = run.scenario.get("description", "") if run.scenario else ""
    parts = [f"<h1>hybridsim report: {html.escape(str(name))}</h1>\n"]
    if desc:
        parts.append(f"<p>{html.escape(str(desc))}</p>\n")
    meta = [
        f"run <b>{html.escape(run.label)}</b>",
        f"seed {html.escape(_fmt(run.summary.get('seed')))}",
    ]
    if run.policy:
        meta.append(f"policy {html.escape(run.policy)}")
    parts.append('<p class="muted">' + ", ".join(meta) + "</p>\n")
    parts.append(_links(run.source, base))
    parts.append(
        _nav(
            [
                *_anchors(blocks[:1]),
                ("summary", "Summary"),
                *_anchors(blocks[1:]),
                ("scenario", "Scenario"),
                ("versions", "Versions"),
            ]
        )
    )
    # The timeline first (what a reader looks for), then the numbers, then the other figures.
    parts += [_figure_html(b) for b in blocks[:1]]
    parts.append('<section id="summary"><h2>Summary</h2>\n')
    items = [(k, _fmt(v)) for k, v in _scalar_items(run.summary)]
    per_row = 2  # key/value pairs per table row: a dense table, not a long scroll
    rows = []
    for i in range(0, len(items), per_row):
        chunk = items[i : i + per_row]
        chunk += [("", "")] * (per_row - len(chunk))
        rows.append([c for kv in chunk for c in kv])
    parts.append(_table(["key", "value"] * per_row, rows, numeric=range(1, 2 * per_row, 2)))
    parts.append(
        '<p class="muted">Keys and units: docs/reference/outputs.md. Wall-clock times '
        "are left out so the page is reproducible.</p>\n"
        f"<p>{_UTILIZATION_NOTE}</p></section>\n"
    )
    parts += [_figure_html(b) for b in blocks[1:]]
    parts.append(
        '<section id="scenario"><h2>Scenario</h2>\n<p>The resolved scenario '
        "(scenario.toml), runnable as is:</p>\n"
    )
    parts.append(f"<pre>{html.escape(run.scenario_text or '(no scenario.toml)')}</pre></section>\n")
    parts.append('<section id="versions"><h2>Versions</h2>\n')
    parts.append(_table(["package", "version"], _version_rows([run.summary])))
    parts.append("</section>\n")
    return _page(f"hybridsim report: {name}", "".join(parts), _runs_meta([run], base))


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
    heading = f"hybridsim comparison: {len(runs)} runs of {', '.join(scenarios)}"
    parts = [f"<h1>{html.escape(heading)}</h1>\n"]
    rows = []
    for r in runs:
        own = r.source / "report.html" if r.source else None
        link = ""
        href = None
        if own is not None and own.is_file() and base is not None:
            href = local_href(own, base)
        if href is not None:
            link = f' (<a href="{html.escape(href)}">report</a>)'
        what = f"{r.summary.get('scenario_name') or ''} {r.policy}, seed "
        what += _fmt(r.summary.get("seed"))
        rows.append(f"<li><b>{html.escape(r.label)}</b>{link}: {html.escape(what)}</li>")
    parts.append("<ul>" + "".join(rows) + "</ul>\n")
    parts.append(
        _nav(
            [
                ("summary", "Summary"),
                ("differences", "Differences"),
                *_anchors(blocks),
                ("scenario", "Scenarios"),
                ("versions", "Versions"),
            ]
        )
    )
    keys: dict[str, None] = {}
    for r in runs:
        keys.update(dict.fromkeys(k for k, _ in _scalar_items(r.summary)))
    table = [[k, *(_fmt(r.summary.get(k)) for r in runs)] for k in keys]
    parts.append('<section id="summary"><h2>Summary</h2>\n')
    parts.append(_table(["key", *labels], table))
    parts.append("</section>\n")
    flats = [_flat(dict(r.scenario)) for r in runs]
    all_keys: dict[str, None] = {}
    for f in flats:
        all_keys.update(dict.fromkeys(f))
    diff = [
        [k, *(f.get(k, "—") for f in flats)] for k in all_keys if len({f.get(k) for f in flats}) > 1
    ]
    parts.append('<section id="differences"><h2>Differences</h2>\n')
    parts.append(
        _table(["scenario key", *labels], diff, numeric=())
        if diff
        else "<p>The scenarios are identical (runs differ only in seed, if at all).</p>\n"
    )
    parts.append("</section>\n")
    parts += [_figure_html(b) for b in blocks]
    parts.append('<section id="scenario"><h2>Scenarios</h2>\n')
    for r in runs:
        parts.append(
            f"<details><summary>{html.escape(r.label)}</summary>"
            f"<pre>{html.escape(r.scenario_text or '(no scenario.toml)')}</pre></details>\n"
        )
    parts.append("</section>\n")
    parts.append('<section id="versions"><h2>Versions</h2>\n')
    parts.append(_table(["package", *labels], _version_rows([r.summary for r in runs])))
    parts.append("</section>\n")
    return _page(heading, "".join(parts), _runs_meta(runs, base))


# -- writing ----------------------------------------------------------------------------------


def write_report(run: Any, out_dir: str | Path | None = None, *, trace: bool = True) -> list[Path]:
    """Write ``timeline.png``, ``trace.json`` and ``report.html`` for one run.

    Parameters
    ----------
    run : RunResult, RunData or path
        The run. A ``RunResult`` is reported from memory, with the same result as reading back
        the directory it was written to.
    out_dir : str or Path, optional
        Where to write (created if needed). Default: the run's own directory.
    trace : bool
        Also write ``trace.json``.

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

        written.append(write_trace(data, out / "trace.json"))
    written.append(write_text(out / "report.html", render_report(data, blocks, base=out)))
    return written


def write_comparison(runs: Any, out_path: str | Path) -> Path:
    """Write a comparison page of several runs to ``out_path`` (an .html file) and return it."""
    datas = as_runs(runs)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    blocks = comparison_figures(datas)
    return write_text(out_path, render_comparison(datas, blocks, base=out_path.parent))
