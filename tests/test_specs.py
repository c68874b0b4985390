"""Typed device specs: built once from a scenario group, passed to every cost model, and the
deprecated keyword forms still giving the same predictions (with a DeprecationWarning)."""

from __future__ import annotations

import dataclasses
import math
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridsim.costs import classical
from hybridsim.costs.breakeven import break_even, break_even_gate_time, break_even_table
from hybridsim.costs.classical import classical_solve_time
from hybridsim.costs.model import CostModel
from hybridsim.costs.quantum import ACCOUNTING, qlsa_cost
from hybridsim.costs.specs import GpuSpec, QpuSpec
from hybridsim.errors import ModelDomainError
from hybridsim.scenario import load_scenario
from hybridsim.timebase import to_seconds

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted(
    p
    for p in (ROOT / "scenarios").glob("*.toml")
    if "base" not in tomllib.loads(p.read_text())  # sweeps: their bases are scenarios here
)


def old_gpu_keywords(group) -> dict:
    """The group → keyword mapping as CostModel wrote it before the specs (kept to compare)."""
    return dict(
        tflops=group.tflops,
        launch_latency_s=to_seconds(group.launch_latency),
        mem_bandwidth_Bps=group.memory_bandwidth,
    )


def old_qpu_keywords(group) -> dict:
    return dict(
        gate_time_1q_s=to_seconds(group.gate_time_1q),
        gate_time_2q_s=to_seconds(group.gate_time_2q),
        measure_time_s=to_seconds(group.measure_time),
        reset_time_s=to_seconds(group.reset_time),
        max_shots_per_job=group.max_shots,
        job_overhead_s=to_seconds(group.job_overhead),
    )


def old_break_even_keywords(gpu, qpu) -> dict:
    """As ``hybridsim.sweep.plots.breakeven_inputs`` wrote them before the specs."""
    return dict(
        tflops=gpu.tflops,
        launch_latency_s=to_seconds(gpu.launch_latency),
        mem_bandwidth_Bps=gpu.memory_bandwidth,
        measure_time_s=to_seconds(qpu.measure_time),
        reset_time_s=to_seconds(qpu.reset_time),
        max_shots_per_job=float(qpu.max_shots),
        gate_time_ratio_1q=qpu.gate_time_1q / qpu.gate_time_2q,
        job_overhead_s=to_seconds(qpu.job_overhead),
        link_latency_s=to_seconds(qpu.link_latency),
        link_bandwidth_Bps=qpu.link_bandwidth,
    )


def fields_equal(a, b) -> None:
    """Every field of two cost records equal, bit for bit (NaN equal to NaN)."""
    assert type(a) is type(b)
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, str):
            assert x == y, f.name
        else:
            np.testing.assert_array_equal(x, y, err_msg=f.name, strict=True)


def legacy(fn, *args, **kwargs):
    with pytest.warns(DeprecationWarning, match="is deprecated"):
        return fn(*args, **kwargs)


N = np.array([16.0, 256.0, 4096.0])
D = np.array([4.0, 16.0, 4096.0])
KAPPA = np.array([10.0, 1e3, 1e5])


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_specs_from_every_scenario_group_predict_as_the_old_keywords_did(path):
    # The method the old keywords priced (the default is now `auto`, which needs structure).
    sc = load_scenario(path, ['costs.classical_method="lu"'])
    cm = CostModel(sc.costs)
    eps = sc.costs.epsilon
    for g in sc.cluster.gpu:
        spec = GpuSpec.from_group(g)
        assert spec == GpuSpec(**old_gpu_keywords(g))
        assert cm.gpu_spec(g) is cm.gpu_spec(g) == spec  # built once per group
        for method in ("lu", "cholesky", "cg"):
            new = classical_solve_time(method, N, D, KAPPA, eps, gpu=spec)
            old = legacy(classical_solve_time, method, N, D, KAPPA, eps, **old_gpu_keywords(g))
            fields_equal(new, old)
        new = cm.classical(256, 16, 100.0, g)
        assert new.total_s == float(
            classical_solve_time(sc.costs.classical_method, 256, 16, 100.0, eps, gpu=spec).total_s
        )
        assert cm.gpu_kernel_s(g, 1e9, 1e6, 2) == max(
            1e9 / (spec.tflops * 1e12), 1e6 / spec.mem_bandwidth_Bps
        ) + 2 * to_seconds(g.launch_latency)
    for q in sc.cluster.qpu:
        spec = QpuSpec.from_group(q)
        assert cm.qpu_spec(q) is cm.qpu_spec(q) == spec
        assert spec.link_latency_s == to_seconds(q.link_latency)
        assert spec.link_bandwidth_Bps == q.link_bandwidth
        for acc in ("paper", "full"):
            kw = dict(accounting=acc, algorithm=sc.costs.algorithm, clamp=True)
            new = qlsa_cost(N, D, KAPPA, eps, qpu=spec, **kw)
            old = legacy(qlsa_cost, N, D, KAPPA, eps, **kw, **old_qpu_keywords(q))
            fields_equal(new, old)
        if spec.fault_tolerant:  # priced by its estimate instead (tests/test_ft_sim.py)
            continue
        est = cm.quantum(256, 16, 100.0, q)
        direct = qlsa_cost(
            256,
            16,
            100.0,
            eps,
            accounting=cm.accounting,
            qpu=spec,
            algorithm=sc.costs.algorithm,
            alpha=cm.alpha(16, None),
            jennings_success_constant=sc.costs.jennings_success_constant,
            jennings_alpha_power=sc.costs.jennings_alpha_power,
            costa_constant=sc.costs.costa_constant,
            clamp=sc.costs.kappa_clamp,
        )
        assert (est.total_s, est.queries, est.runs) == (
            direct.total_s,
            direct.queries,
            direct.runs,
        )
    for g in sc.cluster.gpu:
        for q in sc.cluster.qpu:
            old_kw = old_break_even_keywords(g, q)
            ratio = old_kw["gate_time_ratio_1q"]
            new_kw = dict(gpu=GpuSpec.from_group(g), qpu=QpuSpec.from_group(q))
            for acc in ("paper", "full"):
                new = break_even(
                    N, D, KAPPA, eps, accounting=acc, gate_time_ratio_1q=ratio, clamp=True, **new_kw
                )
                old = legacy(break_even, N, D, KAPPA, eps, accounting=acc, clamp=True, **old_kw)
                fields_equal(new, old)


def test_every_scenario_file_was_seen():
    assert {p.name for p in SCENARIOS} >= {"quickstart.toml", "paper-mlp.toml", "mmc.toml"}
    assert sum(len(load_scenario(p).cluster.qpu) for p in SCENARIOS) >= 5


devices = st.fixed_dictionaries(
    {
        "tflops": st.floats(1e-3, 1e3),
        "launch_latency_s": st.floats(0.0, 1e-3),
        "mem_bandwidth_Bps": st.floats(1e9, 1e13),
        "gate_time_2q_s": st.floats(1e-21, 1e-6),
        "ratio": st.floats(0.0, 2.0),
        "measure_time_s": st.floats(0.0, 1e-5),
        "reset_time_s": st.floats(0.0, 1e-3),
        "max_shots_per_job": st.integers(1, 10**6),
        "job_overhead_s": st.floats(0.0, 1.0),
        "link_latency_s": st.floats(0.0, 1e-2),
        "link_bandwidth_Bps": st.floats(1e6, 1e12),
    }
)


@settings(max_examples=40, deadline=None)
@given(
    dev=devices,
    n=st.integers(1, 10**5),
    frac=st.floats(0.0, 1.0),
    kappa=st.floats(1.0, 1e8),
    eps=st.floats(1e-4, 0.2),
    acc=st.sampled_from(["paper", "full"]),
    method=st.sampled_from(["lu", "cholesky", "cg"]),
)
def test_old_and_new_signatures_give_equal_predictions(dev, n, frac, kappa, eps, acc, method):
    d = max(1, round(frac * n))
    gpu_kw = {k: dev[k] for k in GpuSpec.__dataclass_fields__}
    t2 = dev["gate_time_2q_s"]
    qpu_kw = dict(
        gate_time_1q_s=dev["ratio"] * t2,
        gate_time_2q_s=t2,
        measure_time_s=dev["measure_time_s"],
        reset_time_s=dev["reset_time_s"],
        max_shots_per_job=dev["max_shots_per_job"],
        job_overhead_s=dev["job_overhead_s"],
    )
    link = {k: dev[k] for k in ("link_latency_s", "link_bandwidth_Bps")}
    gpu, qpu = GpuSpec(**gpu_kw), QpuSpec(**qpu_kw, **link)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        fields_equal(
            classical_solve_time(method, n, d, kappa, eps, gpu=gpu),
            classical_solve_time(method, n, d, kappa, eps, **gpu_kw),
        )
        fields_equal(
            qlsa_cost(n, d, kappa, eps, accounting=acc, qpu=qpu, clamp=True),
            qlsa_cost(n, d, kappa, eps, accounting=acc, clamp=True, **qpu_kw),
        )
        be_old = {
            **gpu_kw,
            **link,
            **{k: qpu_kw[k] for k in ("measure_time_s", "reset_time_s", "max_shots_per_job")},
            "job_overhead_s": qpu_kw["job_overhead_s"],
        }
        common = dict(accounting=acc, classical_method=method, clamp=True)
        fields_equal(
            break_even(
                n, d, kappa, eps, gpu=gpu, qpu=qpu, gate_time_ratio_1q=dev["ratio"], **common
            ),
            break_even(n, d, kappa, eps, gate_time_ratio_1q=dev["ratio"], **common, **be_old),
        )
        # the old default ratio was 1, whatever the device; a spec's default is its own ratio
        fields_equal(
            break_even(n, d, kappa, eps, gpu=gpu, qpu=qpu, gate_time_ratio_1q=1.0, **common),
            break_even(n, d, kappa, eps, **common, **be_old),
        )
        fields_equal(
            break_even(n, d, kappa, eps, gpu=gpu, qpu=qpu, **common),
            break_even(
                n,
                d,
                kappa,
                eps,
                gpu=gpu,
                qpu=qpu,
                gate_time_ratio_1q=qpu.gate_time_ratio_1q,
                **common,
            ),
        )


GPU = GpuSpec(tflops=14.0, launch_latency_s=2e-5, mem_bandwidth_Bps=1.5e12)
QPU = QpuSpec(
    gate_time_1q_s=84e-9,
    gate_time_2q_s=84e-9,
    measure_time_s=1.56e-6,
    reset_time_s=0.0,
    max_shots_per_job=1e5,
)
OLD_GPU = dict(tflops=14.0, launch_latency_s=2e-5, mem_bandwidth_Bps=1.5e12)
OLD_QPU = dict(measure_time_s=1.56e-6, reset_time_s=0.0, max_shots_per_job=1e5)


def test_deprecated_keyword_forms_warn_at_the_callers_line_and_match():
    with pytest.warns(DeprecationWarning, match=r"break_even_gate_time\(tflops=") as rec:
        old = break_even_gate_time(
            1e4, 1e4, 1e4, 1e-2, accounting="paper_unit", **OLD_GPU, **OLD_QPU
        )
    assert {Path(w.filename).name for w in rec} == {"test_specs.py"}
    assert old == break_even_gate_time(
        1e4, 1e4, 1e4, 1e-2, accounting="paper_unit", gpu=GPU, qpu=QPU
    )
    assert f"{old:.2e}" == "5.53e-09"  # the paper's example, as documented
    with pytest.warns(DeprecationWarning, match="break_even_table") as rec:
        rows = break_even_table([64], [8], [10.0], 1e-2, accounting="paper", **OLD_GPU, **OLD_QPU)
    assert {Path(w.filename).name for w in rec} == {"test_specs.py"}
    assert rows == break_even_table([64], [8], [10.0], 1e-2, accounting="paper", gpu=GPU, qpu=QPU)
    with pytest.warns(DeprecationWarning, match=r"qlsa_cost\(gate_time_1q_s=") as rec:
        qlsa_cost(64, 8, 10.0, 1e-2, accounting="paper", gate_time_1q_s=1e-9, gate_time_2q_s=1e-9,
                  measure_time_s=0.0, reset_time_s=0.0, max_shots_per_job=1)  # fmt: skip
    assert {Path(w.filename).name for w in rec} == {"test_specs.py"}
    with pytest.warns(DeprecationWarning, match="pass gpu=GpuSpec") as rec:
        classical_solve_time("lu", 64, 64, None, None, tflops=1.0, launch_latency_s=0.0)
    assert {Path(w.filename).name for w in rec} == {"test_specs.py"}
    # only the GPU given the old way: one warning, the QPU spec is used as is
    with pytest.warns(DeprecationWarning) as rec:
        mixed = break_even(64, 8, 10.0, 1e-2, accounting="full", qpu=QPU, **OLD_GPU)
    assert len(rec) == 1
    fields_equal(mixed, break_even(64, 8, 10.0, 1e-2, accounting="full", gpu=GPU, qpu=QPU))


def test_the_new_forms_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        break_even_table([64], [8], [10.0], 1e-2, accounting="full", gpu=GPU, qpu=QPU)
        classical_solve_time("cg", 64, 8, 10.0, 1e-2, gpu=GPU)
        qlsa_cost(64, 8, 10.0, 1e-2, accounting=ACCOUNTING["full"], qpu=QPU)


def test_misused_signatures_are_type_errors():
    with pytest.raises(TypeError, match="got gpu= and the keywords it replaces: tflops"):
        classical_solve_time("lu", 4, 4, None, None, gpu=GPU, tflops=1.0)
    with pytest.raises(TypeError, match="missing required keyword argument 'gpu'"):
        classical_solve_time("lu", 4, 4, None, None)
    with pytest.raises(TypeError, match="missing required keyword argument 'qpu'"):
        qlsa_cost(4, 4, 10.0, 1e-2, accounting="paper")
    with pytest.raises(TypeError, match="missing required keyword argument 'qpu'"):
        break_even(4, 4, 10.0, 1e-2, accounting="paper", gpu=GPU)
    with pytest.raises(TypeError, match="unexpected keyword argument 'tflop'"):
        classical_solve_time("lu", 4, 4, None, None, gpu=GPU, tflop=1.0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'link_latency_s'"):
        qlsa_cost(4, 4, 10.0, 1e-2, accounting="paper", qpu=QPU, link_latency_s=0.0)
    with pytest.raises(TypeError, match=r"missing required keyword arguments: \['tflops'\]"):
        classical_solve_time("lu", 4, 4, None, None, launch_latency_s=0.0)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: GpuSpec(tflops=0.0, launch_latency_s=0.0), "tflops > 0"),
        (lambda: GpuSpec(tflops=1.0, launch_latency_s=-1.0), "launch_latency_s >= 0"),
        (lambda: GpuSpec(1.0, 0.0, mem_bandwidth_Bps=0.0), "mem_bandwidth_Bps > 0"),
        (lambda: dataclasses.replace(QPU, gate_time_2q_s=-1.0), "gate_time_2q_s must be finite"),
        (lambda: dataclasses.replace(QPU, measure_time_s=math.inf), "measure_time_s must be"),
        (lambda: dataclasses.replace(QPU, job_overhead_s=math.nan), "job_overhead_s must be"),
        (lambda: dataclasses.replace(QPU, max_shots_per_job=0), "max_shots_per_job must be >= 1"),
        (lambda: dataclasses.replace(QPU, link_bandwidth_Bps=0.0), "link_bandwidth_Bps > 0"),
        (lambda: dataclasses.replace(QPU, gate_time_2q_s=0.0).gate_time_ratio_1q, "ratio"),
    ],
)
def test_specs_are_validated_when_built(build, match):
    with pytest.raises(ModelDomainError, match=match):
        build()


def test_specs_are_frozen_and_hashable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        GPU.tflops = 1.0
    assert len({GPU, dataclasses.replace(GPU), QPU}) == 2
    assert QPU.gate_time_ratio_1q == 1.0


def test_break_even_uses_the_specs_ratio_unless_told():
    heron = dataclasses.replace(QPU, gate_time_1q_s=32e-9)
    own = break_even(64, 8, 10.0, 1e-2, accounting="full", gpu=GPU, qpu=heron)
    told = break_even(
        64, 8, 10.0, 1e-2, accounting="full", gpu=GPU, qpu=heron, gate_time_ratio_1q=32 / 84
    )
    one = break_even(
        64, 8, 10.0, 1e-2, accounting="full", gpu=GPU, qpu=heron, gate_time_ratio_1q=1.0
    )
    assert own.gate_equivalents == pytest.approx(told.gate_equivalents, rel=1e-15)
    assert own.gate_equivalents < one.gate_equivalents  # state preparation's 1q gates are cheaper
    with pytest.raises(ModelDomainError, match="gate_time_ratio_1q must be >= 0"):
        break_even(64, 8, 10.0, 1e-2, accounting="full", gpu=GPU, qpu=QPU, gate_time_ratio_1q=-1)
    with pytest.raises(ModelDomainError, match="classical_overhead_s must be >= 0"):
        break_even(64, 8, 10.0, 1e-2, accounting="full", gpu=GPU, qpu=QPU, classical_overhead_s=-1)


def test_calibration_gives_a_spec():
    cal = classical.CpuCalibration(tflops=0.01, launch_latency_s=1e-5, samples=())
    assert cal.spec == GpuSpec(0.01, 1e-5)
    assert (
        cal.predict_s(100) == classical_solve_time("lu", 100, 100, None, None, gpu=cal.spec).total_s
    )
