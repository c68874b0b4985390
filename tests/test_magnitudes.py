"""Every numeric key of every scenario, set to extreme values (tiny, subnormal, huge, and the edges
of its own domain): ``validate`` refuses it with one line naming the file, or the run completes
(issue 18.3). The default run validates every case and runs a fixed sample of the accepted ones;
``-m slow`` runs them all."""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import pytest
from conftest import check_run_invariants

from hybridsim.errors import ScenarioError
from hybridsim.scenario import load_scenario
from hybridsim.schema import fields_of

ROOT = Path(__file__).resolve().parent.parent
# Shortened so that each accepted case runs in about a second at most.
SHORT = {
    "mmc.toml": ["workload.jobs=30"],
    "quickstart.toml": ["workload.steps=1", "workload.baselines=[]", "quantum.execute_max_n=4"],
    "paper-mlp.toml": ["workload.steps=2"],
    "paper-bert-tiny.toml": ["workload.steps=2"],
    "paper-mistral-tiny.toml": ["workload.steps=2"],
    "multi-tenant.toml": ["workload.steps=2"],
    "faults.toml": ["workload.steps=2"],
    "fault-tolerant.toml": ["workload.steps=1"],
}
NUMERIC = ("int", "float", "duration", "bandwidth", "floats", "ints", "durations", "seed")
EXTREMES = {
    "int": [0, 10**18, 2**64, -(2**63)],
    "seed": [2**64],
    "float": [0.0, 5e-324, 1e-300, 1e308, -1e308],
    "duration": [5e-324, 1e-300, "1 zs", 1e308, "1e12 s"],
    "bandwidth": [5e-324, 1e-300, "1e-320 B/s", 1e308],
}
for kind in ("int", "float", "duration"):
    EXTREMES[kind + "s"] = [[v] for v in EXTREMES[kind]]
RUNS_PER_SCENARIO = 3  # in the default suite


def numeric_keys(obj, prefix=""):
    """(key path, spec) of every numeric key of a built scenario, set or not."""
    for name, spec, _ in fields_of(type(obj)):
        path = f"{prefix}.{name}" if prefix else name
        value = getattr(obj, name)
        if spec.kind in NUMERIC:
            yield path, spec
        elif spec.kind in ("table", "union") and value is not None:
            yield from numeric_keys(value, path)
        elif spec.kind == "tables":
            for g in value:
                yield from numeric_keys(g, f"{path}.{g.name}")


def edges(spec):
    """The extremes plus the edges of the key's own domain (which must run)."""
    out = list(EXTREMES[spec.kind])
    for bound in (spec.min, spec.max):
        if bound is None:
            continue
        if spec.kind in ("int", "ints"):
            v = int(bound)
        elif spec.kind in ("float", "floats"):
            v = float(bound)
        elif spec.kind in ("duration", "durations"):
            v = f"{bound} s"
        else:
            continue
        out.append([v] if spec.kind.endswith("s") else v)
    return out


def cases(name):
    base = SHORT[name]
    sc = load_scenario(ROOT / "scenarios" / name, base)
    for key, spec in numeric_keys(sc):
        for value in edges(spec):
            yield key, value


def accepted(name):
    """Validate every case; return the accepted ones. Refusals are checked on the way."""
    path = ROOT / "scenarios" / name
    out = []
    for key, value in cases(name):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                sc = load_scenario(path, [*SHORT[name], (key, value)])
            except ScenarioError as exc:
                msg = str(exc)
                assert msg.startswith(f"{path}: ") and "\n" not in msg, msg
                continue
        out.append((key, value, sc))
    return out


def run_ok(sc):
    """The run completes: every job ends once, no device over capacity, totals agree."""
    from hybridsim import run

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = run(sc)
    check_run_invariants(r)


@pytest.mark.parametrize("name", sorted(SHORT))
def test_extreme_values_are_refused_or_run(name):
    ok = accepted(name)
    # the tiny/huge/subnormal extremes are outside nearly every domain
    assert len(ok) < len(list(cases(name)))
    for _key, _value, sc in random.Random(name).sample(ok, min(RUNS_PER_SCENARIO, len(ok))):
        run_ok(sc)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SHORT))
def test_every_accepted_extreme_value_runs(name):
    for key, value, sc in accepted(name):
        try:
            run_ok(sc)
        except Exception as exc:  # pragma: no cover - the failure message names the case
            raise AssertionError(f"{name}: {key}={value!r}: {type(exc).__name__}: {exc}") from exc


@pytest.mark.parametrize(
    "name, sets",
    [
        # the edges of domains that replaced run-time failures
        ("quickstart.toml", [("workload.lr", 10.0)]),
        ("quickstart.toml", [("workload.eps_norm", 1e-12)]),
        ("quickstart.toml", [("costs.epsilon", 1e-12)]),
        ("quickstart.toml", [("costs.jennings_success_constant", 1.6)]),
        ("mmc.toml", [("workload.jobs", 1), ("workload.arrival.rate_per_s", 1e-12)]),
        ("mmc.toml", [("cluster.qpu.q.link_bandwidth", "1 bps"), ("workload.n", 64)]),
        ("paper-bert-tiny.toml", [("cluster.gpu.a100.tflops", 1e-6)]),
        ("paper-bert-tiny.toml", [("workload.flops_per_example", 1e18)]),
    ],
)
def test_domain_edges_run(name, sets):
    sc = load_scenario(ROOT / "scenarios" / name, [*SHORT[name], *sets])
    run_ok(sc)
