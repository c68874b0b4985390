"""HHLOptions: the HHL executor's options validated once, when built, and accepted either as one
record or as the documented keywords of hhl_solve (same result, bit for bit)."""

from __future__ import annotations

import dataclasses
import sys

import numpy as np
import pytest

from hybridsim.errors import SolverError
from hybridsim.quantum import HHLOptions, NoiseModel, hhl_solve
from hybridsim.quantum import hhl as hhl_module

A = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 2.0]])
B = np.array([1.0, -2.0, 0.5])


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"evolution": "magic"}, "evolution must be one of"),
        ({"trotter_steps": 4}, "only meaningful with evolution='trotter'"),
        ({"evolution": "trotter", "trotter_steps": 0}, "positive integer"),
        ({"evolution": "trotter", "trotter_steps": True}, "positive integer"),
        ({"indefinite": "ignore"}, "indefinite must be one of"),
        ({"eps": 0.0}, r"eps must be in \(0, 1\)"),
        ({"eps": 1.5}, r"eps must be in \(0, 1\)"),
        ({"signs": "guess"}, "signs must be one of"),
        ({"noise": {"p_2q": 0.1}}, "noise must be a hybridsim.quantum.noise.NoiseModel"),
        ({"kappa": -1.0}, "kappa must be a finite positive number"),
        ({"kappa": float("inf")}, "kappa must be a finite positive number"),
        ({"kappa": 0.5}, "must be >= 1"),
        ({"lambda_min": float("nan")}, "lambda_min must be a finite positive number"),
        ({"lambda_max": 2.0}, "kappa or lambda_min"),
        ({"lambda_min": 3.0, "lambda_max": 2.0}, "lambda_min = 3.0 exceeds lambda_max = 2.0"),
    ],
)
def test_bad_options_are_refused_when_built_without_a_matrix(fields, match):
    with pytest.raises(SolverError, match=match):
        HHLOptions(**fields)
    # the same words through hhl_solve's keywords, before any matrix work
    with pytest.raises(SolverError, match=match):
        hhl_solve(np.zeros((2, 3)), np.ones(2), **fields)


def test_options_are_validated_once_not_per_solve(monkeypatch):
    calls = []
    post_init = HHLOptions.__post_init__

    def counting(self):
        calls.append(1)
        post_init(self)

    monkeypatch.setattr(HHLOptions, "__post_init__", counting)
    opts = HHLOptions(kappa=3.0, lambda_max=5.0)
    for _ in range(3):
        hhl_solve(A, B, clock_qubits=4, options=opts)
    assert len(calls) == 1
    hhl_solve(A, B, clock_qubits=4, options=opts, eps=0.05)  # a replaced field: validated again
    assert len(calls) == 2


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"kappa": 3.0, "lambda_max": 5.0},
        {"kappa": 4.0},
        {"lambda_min": 1.0, "lambda_max": 5.5, "eps": 0.05},
        {"evolution": "trotter", "trotter_steps": 3},
        {"noise": NoiseModel(p_readout=0.02), "signs": "exact_state"},
    ],
)
def test_options_record_and_keywords_give_the_same_solve(fields):
    kw = {"clock_qubits": 4, "shots": 2000}
    by_keywords = hhl_solve(A, B, rng=np.random.default_rng(3), **kw, **fields)
    by_record = hhl_solve(A, B, rng=np.random.default_rng(3), **kw, options=HHLOptions(**fields))
    np.testing.assert_array_equal(by_keywords.x, by_record.x)
    assert by_keywords.success_probability == by_record.success_probability
    assert (by_keywords.lambda_min, by_keywords.lambda_max) == (
        by_record.lambda_min,
        by_record.lambda_max,
    )


def test_keywords_replace_fields_of_the_record():
    base = HHLOptions(eps=0.05, kappa=4.0)
    r = hhl_solve(A, B, options=base, evolution="trotter", kappa=5.0)
    ref = hhl_solve(A, B, eps=0.05, evolution="trotter", kappa=5.0)
    np.testing.assert_array_equal(r.x, ref.x)
    assert (r.evolution, r.kappa) == ("trotter", pytest.approx(5.0))
    assert base == HHLOptions(eps=0.05, kappa=4.0)  # the record itself is unchanged


def test_misused_options_are_refused():
    with pytest.raises(TypeError, match="unexpected keyword argument 'kapa'"):
        hhl_solve(A, B, kapa=3.0)
    with pytest.raises(SolverError, match="options must be a hybridsim.quantum.hhl.HHLOptions"):
        hhl_solve(A, B, options={"eps": 0.1})
    with pytest.raises(SolverError, match="readout error acts on measured outcomes"):
        hhl_solve(A, B, options=HHLOptions(noise=NoiseModel(p_readout=0.01)))
    with pytest.raises(SolverError, match="exceeds"):  # λ_min alone, above the Gershgorin bound
        hhl_solve(A, B, lambda_min=100.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        HHLOptions().eps = 0.1


def test_options_default_to_the_documented_values():
    o = HHLOptions()
    assert (o.eps, o.evolution, o.signs, o.indefinite, o.noise, o.signed) == (
        0.01,
        "exact",
        "interference",
        "refuse",
        None,
        False,
    )
    assert HHLOptions(indefinite="sign_qubit").signed
    assert set(HHLOptions.__dataclass_fields__) == {
        "kappa",
        "lambda_min",
        "lambda_max",
        "eps",
        "evolution",
        "trotter_steps",
        "signs",
        "indefinite",
        "noise",
    }
    assert "HHLOptions" in hhl_module.__all__


def test_hhl_runs_with_one_blas_thread_through_a_cached_controller(monkeypatch):
    """The executor limits every BLAS library to one thread while it runs and restores the
    limits after, as ``threadpool_limits(1, user_api="blas")`` does, without scanning the loaded
    libraries on every call (a new controller per call was 3.5 ms of a 25 ms 10×10 run); a
    library loaded since the last scan (scipy's OpenBLAS arrives with qutip) is limited too."""
    import threadpoolctl

    seen = []
    simulate = hhl_module._hhl_solve

    def spy(*args, **kwargs):
        info = threadpoolctl.threadpool_info()
        seen.append({(i["filepath"], i["num_threads"]) for i in info if i["user_api"] == "blas"})
        return simulate(*args, **kwargs)

    monkeypatch.setattr(hhl_module, "_hhl_solve", spy)
    monkeypatch.setattr(hhl_module, "_BLAS_CONTROLLER", None)
    first = hhl_solve(A, B)  # imports qutip (and with it scipy's OpenBLAS)
    before = {(i["filepath"], i["num_threads"]) for i in threadpoolctl.threadpool_info()}
    again = hhl_solve(A, B)
    controller = hhl_module._BLAS_CONTROLLER
    third = hhl_solve(A, B)
    assert controller is not None and hhl_module._BLAS_CONTROLLER is controller  # no new scan
    assert len(seen) == 3
    for libs in seen:
        assert {n for _, n in libs} == {1}
    assert {(i["filepath"], i["num_threads"]) for i in threadpoolctl.threadpool_info()} == before
    assert np.array_equal(first.x, again.x) and np.array_equal(again.x, third.x)


def test_the_blas_controller_is_rebuilt_only_after_an_import(monkeypatch):
    monkeypatch.setattr(hhl_module, "_BLAS_CONTROLLER", None)
    with hhl_module._single_thread_blas():
        pass
    made = hhl_module._BLAS_CONTROLLER
    with hhl_module._single_thread_blas():
        pass
    assert hhl_module._BLAS_CONTROLLER is made
    monkeypatch.setitem(sys.modules, "hybridsim_test_fake_module", object())
    with hhl_module._single_thread_blas():
        pass
    assert hhl_module._BLAS_CONTROLLER is not made
