"""Pure numpy summaries of a sweep's results, for the plots and the report.

Rows are grouped by factor levels and averaged over seeds; a confidence band is the two-sided
95 % Student-t interval of the mean over the runs in a cell, clipped to the metric's domain
(:func:`metric_domain`: a wait or a speedup cannot be negative, a utilization not above 1), so a
band never claims values the quantity cannot take. Factors not shown in a plot are averaged over
(a main-effects view, as in design of experiments), and the plot says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hybridsim.sweep.store import StoredSweep

__all__ = [
    "FactorAxis",
    "Series",
    "SweepTable",
    "PRIMARY_METRICS",
    "crossing",
    "metric_domain",
]

#: Metrics tried in order for heatmaps and the headline table: the first the sweep has wins.
PRIMARY_METRICS = (
    "speedup_vs_classical_newton",
    "training_time_ratio_vs_classical_newton",
    "time_to_target_s",
    "training_time_s",
    "mean_response_s",
    "mean_wait_s",
    "makespan_s",
)
#: Metrics never plotted: constants of the format, or exact-tick twins of a seconds metric.
_NOT_PLOTTED = frozenset({"tick_s", "makespan_ticks"})
_POLICY = "scheduler.policy"
_MAX_HUE_LINES = 6


def metric_domain(name: str) -> tuple[float, float]:
    """The values a summary metric can take, ``(low, high)``; unbounded for unknown names.

    Utilizations and accuracies lie in [0, 1]; times, counts, losses (cross-entropy), queue
    lengths, speedups and time ratios are non-negative (docs/reference/outputs.md lists them).

    Examples
    --------
    >>> metric_domain("utilization_qpu"), metric_domain("mean_wait_s")
    ((0.0, 1.0), (0.0, inf))
    """
    if name.startswith("utilization_") or name.endswith("accuracy"):
        return 0.0, 1.0
    if (
        name.endswith(("_s", "_ticks", "_loss"))
        or name.startswith(("jobs_", "routed_", "mean_queue_", "speedup_", "training_time_ratio_"))
        or name == "training_steps"
    ):
        return 0.0, math.inf
    return -math.inf, math.inf


@dataclass(frozen=True, slots=True)
class FactorAxis:
    """A factor as a plot axis.

    Parameters
    ----------
    key : str
        The factor's key path.
    labels : tuple of str
        Each level as written in the sweep file, in sweep order.
    numeric : tuple of float or None
        Each level as a number (seconds for durations) when the factor is numeric.
    kind : str
        ``"duration"``, ``"bandwidth"``, ``"number"`` or ``"category"``.
    """

    key: str
    labels: tuple[str, ...]
    numeric: tuple[float | None, ...]
    kind: str

    @property
    def is_numeric(self) -> bool:
        return self.kind != "category" and all(v is not None for v in self.numeric)

    @property
    def log_scale(self) -> bool:
        """Durations and bandwidths, and positive numbers spanning two decades or more."""
        if not self.is_numeric:
            return False
        vals = [v for v in self.numeric if v is not None]
        if min(vals) <= 0:
            return False
        return self.kind in ("duration", "bandwidth") or max(vals) / min(vals) >= 100

    @property
    def unit(self) -> str:
        return {"duration": "s", "bandwidth": "B/s"}.get(self.kind, "")


@dataclass(frozen=True, slots=True)
class Series:
    """One line of a plot: a metric's mean over runs at each level of the x factor.

    ``x`` holds level indices of the x factor; ``lo``/``hi`` the 95 % interval (equal to the
    mean where a cell has one run), clipped to the metric's :func:`metric_domain`; ``n`` the
    runs per cell.
    """

    label: str
    x: np.ndarray
    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    n: np.ndarray


def _label(value: Any) -> str:
    from hybridsim.sweep.factors import toml_literal

    return value if isinstance(value, str) else toml_literal(value)


def _number(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        return math.nan
    if isinstance(value, int | float):
        return float(value)
    return math.nan


def _interval(samples: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95 % Student-t interval of the finite samples (NaN if none)."""
    x = samples[np.isfinite(samples)]
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(np.mean(x))
    if x.size == 1:
        return mean, mean, mean
    from scipy.special import stdtrit  # the t quantile, without importing all of scipy.stats

    half = float(stdtrit(x.size - 1, 0.975) * np.std(x, ddof=1) / math.sqrt(x.size))
    return mean, mean - half, mean + half


class SweepTable:
    """The ok runs of a sweep as arrays: one level index per factor and one value per metric.

    Parameters
    ----------
    stored : StoredSweep
        From :func:`~hybridsim.sweep.store.read_sweep`.
    """

    def __init__(self, stored: StoredSweep):
        definition = stored.definition
        self.definition = definition
        points = definition["points"]
        self.axes: list[FactorAxis] = []
        for i, f in enumerate(definition["factors"]):
            numeric = _level_numeric(points, i, f["values"])
            self.axes.append(
                FactorAxis(f["key"], tuple(_label(v) for v in f["values"]), numeric, f["kind"])
            )
        ok = [r for r in stored.rows if r["status"] == "ok"]
        self.n_rows = len(ok)
        self.levels = np.zeros((len(ok), len(self.axes)), dtype=int)
        index = [{_label(v): j for j, v in enumerate(f["values"])} for f in definition["factors"]]
        for r, row in enumerate(ok):
            values = points[row["point"]]["values"]
            for i, v in enumerate(values):
                self.levels[r, i] = index[i][_label(v)]
        self.seeds = np.array([row["seed"] for row in ok], dtype=int)
        names: dict[str, None] = {}
        for row in ok:
            for k in row["metrics"]:
                names.setdefault(k, None)
        self._values = {
            k: np.array([_number(row["metrics"].get(k)) for row in ok], dtype=float) for k in names
        }

    def axis(self, key: str) -> FactorAxis:
        return next(a for a in self.axes if a.key == key)

    @property
    def varying_axes(self) -> list[FactorAxis]:
        """Factors with at least two levels (the only ones worth an axis)."""
        return [a for a in self.axes if len(a.labels) >= 2]

    def values(self, metric: str) -> np.ndarray:
        return self._values[metric]

    def metrics(self) -> list[str]:
        """Metrics worth plotting: numeric, not constant, not per device, in summary order."""
        out = []
        for name, vals in self._values.items():
            if name in _NOT_PLOTTED or _per_device(name):
                continue
            finite = vals[np.isfinite(vals)]
            if finite.size == 0 or np.all(finite == finite[0]):
                continue
            out.append(name)
        return out

    def primary_metric(self) -> str | None:
        """The headline metric: the first of :data:`PRIMARY_METRICS` that varies, else any."""
        have = self.metrics()
        for name in PRIMARY_METRICS:
            if name in have:
                return name
        return have[0] if have else None

    def hue_axes(self, x: FactorAxis) -> tuple[list[FactorAxis], list[FactorAxis]]:
        """Split the other varying factors into line groups and averaged-over ones.

        Every other factor gets its own lines when their combinations are few; otherwise only
        the scheduling policy does (one line per policy) and the rest are averaged over.
        """
        others = [a for a in self.varying_axes if a.key != x.key]
        combos = math.prod(len(a.labels) for a in others) if others else 1
        if combos <= _MAX_HUE_LINES:
            return others, []
        hue = [a for a in others if a.key == _POLICY]
        return hue, [a for a in others if a.key != _POLICY]

    def series(self, metric: str, x: FactorAxis, hue: Sequence[FactorAxis]) -> list[Series]:
        """Mean and 95 % interval of ``metric`` at each level of ``x``, one series per hue combo."""
        xi = self.axes.index(x)
        hi_idx = [self.axes.index(h) for h in hue]
        vals = self.values(metric)
        low, high = metric_domain(metric)
        out = []
        keys = sorted({tuple(self.levels[r, hi_idx]) for r in range(self.n_rows)})
        for combo in keys:
            mask = np.all(self.levels[:, hi_idx] == np.array(combo, dtype=int), axis=1)
            xs, means, los, his, ns = [], [], [], [], []
            for level in range(len(x.labels)):
                cell = vals[mask & (self.levels[:, xi] == level)]
                mean, lo, hi = _interval(cell)
                if math.isnan(mean):
                    continue
                xs.append(level)
                means.append(mean)
                los.append(max(lo, low))
                his.append(min(hi, high))
                ns.append(int(np.isfinite(cell).sum()))
            if not xs:
                continue
            label = ", ".join(
                f"{h.key.rsplit('.', 1)[-1]}={h.labels[c]}" for h, c in zip(hue, combo, strict=True)
            )
            out.append(Series(label, *(np.array(a) for a in (xs, means, los, his, ns))))
        return out

    def grid(self, metric: str, x: FactorAxis, y: FactorAxis) -> np.ndarray:
        """Mean of ``metric`` over every run at each (y level, x level); NaN for empty cells."""
        xi, yi = self.axes.index(x), self.axes.index(y)
        vals = self.values(metric)
        out = np.full((len(y.labels), len(x.labels)), np.nan)
        for a in range(len(y.labels)):
            for b in range(len(x.labels)):
                cell = vals[(self.levels[:, yi] == a) & (self.levels[:, xi] == b)]
                cell = cell[np.isfinite(cell)]
                if cell.size:
                    out[a, b] = float(np.mean(cell))
        return out


def _level_numeric(points: list[dict[str, Any]], i: int, values: list[Any]):
    """The numeric value of each level of factor ``i``, read from the points that use it."""
    by_label: dict[str, float | None] = {}
    for p in points:
        by_label.setdefault(_label(p["values"][i]), p["numeric"][i])
    return tuple(by_label.get(_label(v)) for v in values)


def _per_device(name: str) -> bool:
    # utilization_<device> for each device (names like q-0); the kind-level ones stay.
    return name.startswith("utilization_") and name not in ("utilization_gpu", "utilization_qpu")


def crossing(
    x: np.ndarray, y: np.ndarray, level: float = 1.0, *, log_x: bool = True, log_y: bool = False
) -> float | None:
    """Where the piecewise-linear curve (x, y) first crosses ``level``, or None.

    Interpolates in log x when ``log_x`` (gate times span decades) and in log y when ``log_y``
    (ratios such as speedups: 0.5 and 2 are equally far from 1).

    Examples
    --------
    >>> crossing(np.array([1e-12, 1e-9]), np.array([2.0, 0.5]), log_y=True)  # doctest: +ELLIPSIS
    3.16...e-11
    """
    order = np.argsort(x)
    x, y = np.asarray(x, float)[order], np.asarray(y, float)[order]
    if log_y:
        with np.errstate(divide="ignore", invalid="ignore"):
            y, level = np.log10(y), math.log10(level)
    for a in range(len(x) - 1):
        y0, y1 = y[a] - level, y[a + 1] - level
        if not (np.isfinite(y0) and np.isfinite(y1)) or y0 == y1 or y0 * y1 > 0:
            continue
        f = y0 / (y0 - y1)
        if log_x:
            return float(10 ** (np.log10(x[a]) + f * (np.log10(x[a + 1]) - np.log10(x[a]))))
        return float(x[a] + f * (x[a + 1] - x[a]))
    return None
