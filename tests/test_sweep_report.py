"""Sweep analysis, plots and report.html."""

from __future__ import annotations

import io
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hybridsim
from hybridsim.cli import main as cli_main
from hybridsim.errors import HybridSimError
from hybridsim.report.sweep import write_sweep_report
from hybridsim.sweep.analysis import SweepTable, crossing
from hybridsim.sweep.plots import breakeven_figure, breakeven_inputs, measured_breakeven
from hybridsim.sweep.store import StoredSweep

ROOT = Path(__file__).resolve().parent.parent


def stored(metric_by_run: dict[tuple[int, int], float], *, name="speedup_vs_classical_newton"):
    """A hand-made store: factor gate (3 durations) × policy (2), seeds 1..3."""
    gates = ["1 ns", "1 ps", "1 fs"]
    gate_s = [1e-9, 1e-12, 1e-15]
    policies = ["classical_only", "qnewton"]
    points = []
    for i, (g, gs) in enumerate(zip(gates, gate_s, strict=True)):
        for j, p in enumerate(policies):
            points.append({"point": 2 * i + j, "values": [g, p], "numeric": [gs, None]})
    definition = {
        "name": "hand",
        "file": "<dict>",
        "base": "<dict>",
        "mode": "grid",
        "seeds": [1, 2, 3],
        "set": {},
        "factors": [
            {"key": "cluster.qpu.q.gate_time_2q", "values": gates, "kind": "duration", "unit": "s"},
            {"key": "scheduler.policy", "values": policies, "kind": "category", "unit": None},
        ],
        "points": points,
    }
    rows = [
        {"point": p, "seed": s, "status": "ok", "error": "", "metrics": {name: v, "tick_s": 1e-21}}
        for (p, s), v in sorted(metric_by_run.items())
    ]
    return StoredSweep(definition, rows)


def test_series_mean_and_student_t_band():
    values = {(p, s): float(p + s) for p in range(6) for s in (1, 2, 3)}
    table = SweepTable(stored(values))
    gate, policy = table.axes
    assert gate.kind == "duration" and gate.log_scale and gate.numeric == (1e-9, 1e-12, 1e-15)
    assert not policy.is_numeric
    assert table.metrics() == ["speedup_vs_classical_newton"]  # tick_s is constant
    hue, averaged = table.hue_axes(gate)
    assert [h.key for h in hue] == ["scheduler.policy"] and averaged == []
    s0, s1 = table.series("speedup_vs_classical_newton", gate, hue)
    assert s0.label == "policy=classical_only" and list(s0.x) == [0, 1, 2]
    # point 2 (gate 1 ps, classical_only): seeds give 3, 4, 5
    assert s0.mean[1] == pytest.approx(4.0)
    half = 4.302652729911275 * 1.0 / math.sqrt(3)  # t(0.975, 2) · sd / √n
    assert (s0.lo[1], s0.hi[1]) == pytest.approx((4 - half, 4 + half))
    assert list(s1.n) == [3, 3, 3]
    grid = table.grid("speedup_vs_classical_newton", gate, policy)
    assert grid.shape == (2, 3) and grid[1, 2] == pytest.approx(7.0)


def test_bands_are_clipped_to_the_metric_domain():
    """Issue 17: 95 % bands went below zero for quantities that cannot."""
    from hybridsim.sweep.analysis import metric_domain
    from hybridsim.sweep.plots import metrics_figure

    # seeds give 0.1, 0.1, 5 at every point: mean 1.73, t-interval down to about -5.3
    values = {(p, s): (5.0 if s == 3 else 0.1) for p in range(6) for s in (1, 2, 3)}
    table = SweepTable(stored(values))
    gate, policy = table.axes
    (s0, s1) = table.series("speedup_vs_classical_newton", gate, [policy])
    assert s0.mean[0] == pytest.approx(1.7333333) and s0.hi[0] > 5
    assert list(s0.lo) == [0.0, 0.0, 0.0]  # a speedup cannot be negative
    ax = metrics_figure(table, gate, ["speedup_vs_classical_newton"]).axes[0]
    bands = [c for c in ax.collections if type(c).__name__ == "FillBetweenPolyCollection"]
    assert bands and min(p.vertices[:, 1].min() for c in bands for p in c.get_paths()) >= 0
    assert metric_domain("utilization_qpu") == (0.0, 1.0)
    assert metric_domain("final_accuracy") == (0.0, 1.0)
    assert metric_domain("sgd_final_loss") == (0.0, math.inf)
    assert metric_domain("some_signed_metric") == (-math.inf, math.inf)


def test_metric_figures_keep_titles_and_labels_apart():
    """Issue 17: with two factors and many metrics the figure title overlapped the first row's
    titles, and rotated category labels were cut at the bottom."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from hybridsim.sweep.plots import metrics_figure

    values = {(p, s): float(p + s) for p in range(6) for s in (1, 2, 3)}
    st = stored(values)
    for r in st.rows:  # 13 more metrics: five rows of panels
        r["metrics"].update(
            {f"m{k}_s": float((r["point"] * 7 + r["seed"] * k) % 5) for k in range(13)}
        )
    table = SweepTable(st)
    for axis in table.axes:
        fig = metrics_figure(table, axis, table.metrics())
        FigureCanvasAgg(fig)  # the figure's own canvas (Agg) or a new one: the same drawing
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        width, height = fig.canvas.get_width_height()
        title = fig.get_suptitle() and fig._suptitle.get_window_extent(renderer)
        boxes = [ax.get_tightbbox(renderer) for ax in fig.axes if ax.get_visible()]
        assert len(boxes) == 14
        for b in [title, *boxes]:
            assert b.x0 >= 0 and b.y0 >= 0 and b.x1 <= width and b.y1 <= height, b
        for i, b in enumerate([title, *boxes]):
            for c in boxes[i:]:
                assert b is c or not b.overlaps(c), (axis.key, b, c)


def test_crossing_and_measured_breakeven():
    assert crossing(np.array([1.0, 2.0]), np.array([0.0, 2.0]), log_x=False) == 1.5
    assert crossing(np.array([1.0, 2.0]), np.array([2.0, 3.0])) is None
    # speedup 0.5 at 1 ns, 2 at 1 ps, 8 at 1 fs: crosses 1 halfway (in log) from 1 ns to 1 ps
    speed = {0: 0.5, 1: 0.5, 2: 2.0, 3: 2.0, 4: 8.0, 5: 8.0}
    table = SweepTable(stored({(p, s): speed[p] for p in range(6) for s in (1, 2, 3)}))
    gate, measured, metric = measured_breakeven(table)
    assert gate.key == "cluster.qpu.q.gate_time_2q" and metric == "speedup_vs_classical_newton"
    assert measured == pytest.approx(10**-10.5)


def test_breakeven_map_of_a_gpu_qpu_scenario():
    scenario = {
        "cluster": {"gpu": [{"name": "g"}], "qpu": [{"name": "q"}]},
        "costs": {"accounting": "paper"},
        "workload": {
            "kind": "synthetic", "jobs": 1, "n": 1024, "kappa": 100.0,
            "arrival": {"dist": "deterministic", "interval_s": 1}, "service": {"dist": "model"},
        },
    }  # fmt: skip
    inputs = breakeven_inputs(scenario)
    assert inputs["reference"] == {"n": 1024.0, "d": 1024.0, "kappa": 100.0}
    from hybridsim.costs.breakeven import break_even_gate_time

    t_star = break_even_gate_time(1024, 1024, 100.0, inputs["epsilon"], **inputs["kwargs"])
    # paper accounting, sparse-access form (α = d = 1024, 10 gates per query): a QPU wins on this
    # dense block only below a sub-picosecond gate, d·⌈log2 N⌉ ≈ 10⁴ times below the
    # nanosecond-ish gate of one gate per query with α = 1
    assert 1e-15 < t_star < 1e-12
    unit = break_even_gate_time(
        1024, 1024, 100.0, inputs["epsilon"], **{**inputs["kwargs"], "accounting": "paper_unit"}
    )
    assert 1e-12 < unit < 1e-7
    # (less than 1024·10: the α-free term of Jennings et al.'s bound weighs 13 % at κ = 100)
    assert 0.8 * 1024 * 10 < unit / t_star < 1024 * 10
    fig = breakeven_figure(inputs, swept_gate_times=[1e-9, 1e-12], measured=t_star)
    assert len(fig.axes) == 4  # two maps and their colour bars
    no_gpu = {**scenario, "cluster": {"qpu": [{"name": "q"}]}}
    no_gpu["workload"] = {**scenario["workload"], "pool": "qpu"}
    assert breakeven_inputs(no_gpu) is None


def test_sweep_page_states_the_simulated_break_even_as_a_duration(tmp_path, monkeypatch):
    """The page's numbers go through the toolkit's formats: the crossing gate time through the
    one duration formatter, means to 4 digits, a point without runs as a missing value."""
    import hybridsim.report.sweep as page_module

    speed = {0: 0.5, 1: 0.5, 2: 2.0, 3: 2.0, 4: 8.0}  # point 5 has no run
    st = stored({(p, s): speed[p] / s for p in range(5) for s in (1, 2, 3)})
    scenario = {
        "cluster": {"gpu": [{"name": "g"}], "qpu": [{"name": "q"}]},
        "workload": {
            "kind": "synthetic", "jobs": 1, "n": 1024, "kappa": 100.0,
            "arrival": {"dist": "deterministic", "interval_s": 1}, "service": {"dist": "model"},
        },
    }  # fmt: skip
    monkeypatch.setattr(page_module, "read_sweep", lambda *_: st)
    monkeypatch.setattr(page_module, "export_csv", lambda *_: None)
    monkeypatch.setattr(page_module, "point_scenario", lambda *_: scenario)
    text = write_sweep_report(tmp_path).read_text()
    # mean speedups 0.306 at 1 ns and 1.22 at 1 ps cross 1 at 2.718e-12 s (log-log), which
    # timebase.format_duration writes to 3 digits
    assert measured_breakeven(SweepTable(st))[1] == pytest.approx(2.71806554776717e-12)
    assert (
        "Simulated speedup_vs_classical_newton (mean over seeds) crosses 1 at a gate "
        "time of 2.72 ps." in text
    )
    rows = re.findall(r"<tr><td>(\d)</td>(.*?)</tr>", text)
    cells = {int(p): re.findall(r"<td[^>]*>([^<]*)</td>", rest) for p, rest in rows}
    assert cells[0][-2:] == ["3", f"{0.5 * (1 + 1 / 2 + 1 / 3) / 3:.4g}"]
    assert cells[5][-2:] == ["0", "—"]  # no run finished: a missing value, not a blank


def _self_contained(page: str) -> None:
    assert "<img" in page
    for src in re.findall(r'src="([^"]*)"', page):
        assert src.startswith("data:image/png;base64,")
    assert "http://" not in page and "https://" not in page


def test_the_demo_sweep_runs_and_reports(tmp_path, capsys):
    out = tmp_path / "demo"
    r = hybridsim.run_sweep(ROOT / "scenarios" / "sweep-demo.toml", out, workers=2, progress=False)
    assert (r.runs, r.ok) == (27, 27)
    assert cli_main(["report", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out / "report.html")
    page = (out / "report.html").read_text()
    _self_contained(page)
    assert "Sweep sweep-demo" in page and "cluster.qpu.q.count" in page
    assert "no break-even to draw" in page  # mmc has QPUs only
    plots = sorted(p.name for p in (out / "plots").iterdir())
    assert plots == [
        "heatmap_cluster_qpu_q_count__workload_arrival_rate_per_s.png",
        "metrics_cluster_qpu_q_count.png",
        "metrics_workload_arrival_rate_per_s.png",
    ]


def test_report_of_a_gate_time_and_policy_sweep(tmp_path):
    base = {
        "cluster": {"gpu": [{"name": "g"}], "qpu": [{"name": "q"}]},
        # one gate per query, α = 1: the QPU wins between 100 ns and 1 ps gates
        "costs": {"accounting": "paper_unit"},
        "workload": {
            "kind": "synthetic", "jobs": 40, "n": 1024, "kappa": 100.0,
            "arrival": {"dist": "exponential", "rate_per_s": 100.0}, "service": {"dist": "model"},
        },
    }  # fmt: skip
    spec = {
        "base": base,
        "seeds": [1, 2],
        "factors": {
            "cluster.qpu.q.gate_time_2q": {"logspace": ["100 ns", "1 ps"], "num": 3},
            "scheduler.policy": ["classical_only", "qnewton"],
        },
    }
    r = hybridsim.run_sweep(spec, tmp_path / "out", serial=True, progress=False)
    assert r.ok == 12
    rows = r.rows()
    routed = {(row["cluster.qpu.q.gate_time_2q"], row["scheduler.policy"]): row["routed_quantum"]
              for row in rows}  # fmt: skip
    assert routed[("100 ns", "qnewton")] == "0" and routed[("1 ps", "qnewton")] == "40"
    assert routed[("1 ps", "classical_only")] == "0"
    path = write_sweep_report(tmp_path / "out")
    page = path.read_text()
    _self_contained(page)
    assert "Break-even" in page and (tmp_path / "out" / "plots" / "breakeven.png").exists()
    assert "policy=qnewton" not in page  # legends live in the PNGs
    assert "Heatmaps of mean_response_s" in page


def test_report_with_failures_only_and_errors(tmp_path):
    spec = {
        "base": {
            "cluster": {"qpu": [{"name": "q", "count": 2}]},
            "network": {"topology": "custom", "links": [{"a": "host", "b": "q-0"}]},
            "workload": {
                "kind": "synthetic", "jobs": 5, "pool": "qpu",
                "arrival": {"dist": "deterministic", "interval_s": 1},
                "service": {"dist": "deterministic", "value_s": 1},
            },
        },
        "factors": {"workload.jobs": [5, 6]},
    }  # fmt: skip
    r = hybridsim.run_sweep(spec, tmp_path / "out", serial=True, progress=False)
    assert r.failed == 2
    page = write_sweep_report(tmp_path / "out").read_text()
    assert "Failed runs" in page and "is not connected to the host" in page
    assert "No run finished ok yet" in page
    with pytest.raises(HybridSimError, match="no results.sqlite"):
        write_sweep_report(tmp_path)


HOSTILE = "<script>alert('x')</script> \"q\" & co"


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory):
    """A sweep with a GPU and a QPU (so every figure is drawn), named by an attacker."""
    spec = {
        "name": HOSTILE,
        "description": f"about {HOSTILE}",
        "base": {
            "cluster": {"gpu": [{"name": "g"}], "qpu": [{"name": "q"}]},
            "costs": {"accounting": "paper_unit"},  # the QPU wins at 1 ps, not at 10 ns
            "workload": {
                "kind": "synthetic", "jobs": 6, "n": 1024, "kappa": 100.0,
                "arrival": {"dist": "deterministic", "interval_s": 0.01},
                "service": {"dist": "model"},
            },
        },
        "seeds": [1, 2],
        "factors": {
            "cluster.qpu.q.gate_time_2q": ["10 ns", "1 ps"],
            "scheduler.policy": ["classical_only", "qnewton"],
        },
    }  # fmt: skip
    out = tmp_path_factory.mktemp("sweep") / "out"
    assert hybridsim.run_sweep(spec, out, serial=True, progress=False).ok == 8
    return out


def _report_files(directory: Path) -> dict[str, bytes]:
    files = {"report.html": (directory / "report.html").read_bytes()}
    files.update({p.name: p.read_bytes() for p in sorted((directory / "plots").iterdir())})
    return files


def test_sweep_report_is_byte_identical_whatever_the_matplotlib_settings(small_sweep, tmp_path):
    """Sweep PNGs go through the report's PNG writer: RGB, no Software stamp, drawn at the
    figure's own resolution, so neither a redraw nor the user's rcParams change a byte."""
    import matplotlib
    from PIL import Image

    write_sweep_report(small_sweep)
    first = _report_files(small_sweep)
    assert len(first) == 1 + 4  # the page; 2 metric figures, 1 heatmap, break-even
    for name, data in first.items():
        if name.endswith(".png"):
            image = Image.open(io.BytesIO(data))
            assert image.mode == "RGB" and "Software" not in image.info, name
    again = tmp_path / "again"
    shutil.copytree(small_sweep, again)
    settings = {"figure.dpi": 72, "savefig.dpi": 300, "savefig.transparent": True}
    with matplotlib.rc_context({**settings, "savefig.facecolor": "red"}):
        write_sweep_report(again)
    assert _report_files(again) == first


def test_sweep_page_escapes_names_and_is_self_contained(small_sweep):
    from test_report import check_page

    page_path = write_sweep_report(small_sweep)
    page = page_path.read_text()
    _self_contained(page)
    check_page(page_path)  # balanced tags, every image embedded, no external link
    assert "<script" not in page and "alert('x')" not in page
    escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &#34;q&#34; &amp; co"
    assert f"<title>sweep {escaped}</title>" in page
    assert f"<h1>Sweep {escaped}</h1>" in page and f"<p>about {escaped}</p>" in page
    # the one style sheet of every report page, and its tables
    from hybridsim.report.page import template_text

    assert f"<style>\n{template_text('style.css')}</style>" in page
    assert "<table><thead><tr><th>point</th><th>cluster.qpu.q.gate_time_2q</th>" in page


def test_sweep_report_moved_into_the_report_package():
    import hybridsim.report.sweep as new

    with pytest.deprecated_call(match="hybridsim.report.sweep"):
        from hybridsim.sweep.report import write_sweep_report as old
    assert old is new.write_sweep_report
    with pytest.raises(AttributeError):
        import hybridsim.sweep.report as shim

        shim.nothing  # noqa: B018 - the attribute access is the test


def test_import_hybridsim_sweep_stays_light():
    code = (
        "import sys, hybridsim.sweep, hybridsim.sweep.runner, hybridsim.cli.sweep\n"
        "heavy = [m for m in ('matplotlib', 'distributed', 'dask', 'simpy', 'scipy', 'qutip') "
        "if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
