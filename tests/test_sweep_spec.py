"""Sweep files: schema, factor ranges, grid and zip, validation of every point, fingerprints."""

from __future__ import annotations

import itertools
import json
import re
import time
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybridsim.errors import ScenarioError
from hybridsim.schema import Ctx
from hybridsim.sweep import load_sweep
from hybridsim.sweep.factors import (
    MAX_POINTS,
    Factor,
    combine,
    count_points,
    expand_factor,
    format_seconds,
    iter_points,
    point_values,
    toml_literal,
)
from hybridsim.sweep.spec import MAX_RUNS, PointList, looks_like_scenario, looks_like_sweep
from hybridsim.tomlio import dumps

ROOT = Path(__file__).resolve().parent.parent
MMC = str(ROOT / "scenarios" / "mmc.toml")


def sweep_file(tmp_path: Path, data: dict, name: str = "sweep.toml") -> Path:
    path = tmp_path / name
    path.write_text(dumps(data))
    return path


def expand(raw, key="k"):
    return expand_factor(key, raw, Ctx("s.toml", ("factors", f'"{key}"'))).values


# -- factor values and ranges -------------------------------------------------------------------


def test_logspace_of_durations_keeps_units_and_exact_decades():
    values = expand({"logspace": ["1 us", "1 as"], "num": 13})
    assert values == (
        "1 us", "100 ns", "10 ns", "1 ns", "100 ps", "10 ps", "1 ps",
        "100 fs", "10 fs", "1 fs", "100 as", "10 as", "1 as",
    )  # fmt: skip


def test_logspace_between_decades_rounds_to_six_digits():
    values = expand({"logspace": ["1 us", "1 ns"], "num": 4})
    assert values == ("1 us", "100 ns", "10 ns", "1 ns")
    values = expand({"logspace": ["1 us", "1 as"], "num": 10})
    assert values[1] == "46.4159 ns" and values[-1] == "1 as"


def test_linspace_of_durations_is_exact_then_rounded():
    assert expand({"linspace": ["0 s", "1 s"], "num": 5}) == (
        "0 s", "250 ms", "500 ms", "750 ms", "1 s",
    )  # fmt: skip
    assert expand({"linspace": ["0 s", "1 s"], "num": 4})[1] == "333.333 ms"


def test_number_ranges_integers_and_floats():
    assert expand({"logspace": [1, 64], "num": 7}) == (1, 2, 4, 8, 16, 32, 64)
    assert expand({"logspace": [1e-3, 1e3], "num": 7}) == (1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0, 1e3)
    assert expand({"linspace": [0.25, 1], "num": 4}) == (0.25, 0.5, 0.75, 1.0)
    assert expand({"logspace": [5, 500], "num": 1}) == (5,)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"logspace": [1, 10], "num": 13}, "gives the integer 1 twice"),
        ({"logspace": [1, 10], "nm": 3}, "nm: unknown key; did you mean 'num'?"),
        ({"logspace": [1, 10]}, "num: missing required key"),
        ({"logspace": ["1 us", 10], "num": 3}, "mixed endpoints"),
        ({"logspace": ["1 us", "1 xs"], "num": 3}, "logspace.1: unknown time unit 'xs'"),
        ({"logspace": ["0 s", "1 s"], "num": 3}, "must be positive"),
        ({"logspace": [1, 10], "linspace": [1, 2], "num": 3}, "exactly one of"),
        ({"logspace": [1, 10], "num": 0}, "num: invalid value 0"),
        ([], "no values"),
        ([1, 2, 1], 'factors."k".2: repeats value 1 (item 0)'),
        ("1 ns", "wrong value"),
    ],
)
def test_bad_factor_values_are_located(raw, message):
    with pytest.raises(ScenarioError) as err:
        expand(raw)
    assert message in str(err.value)
    assert str(err.value).startswith('s.toml: factors."k"')


def test_format_seconds_and_literals():
    assert format_seconds(9.999999999e-08) == "100 ns"
    assert format_seconds(1.5e-21) == "1.5 zs"
    assert format_seconds(3600.0) == "3600 s"
    assert toml_literal("5 nss") == '"5 nss"'
    assert toml_literal({"dist": "exponential", "rate_per_s": 1.0}) == (
        '{ dist = "exponential", rate_per_s = 1.0 }'
    )


def test_grid_and_zip():
    from hybridsim.sweep.factors import Factor

    a, b = Factor("a", (1, 2, 3)), Factor("b", ("x", "y", "z"))
    grid = combine([a, b], "grid", Ctx("s"))
    assert len(grid) == 9 and grid[:4] == [(1, "x"), (1, "y"), (1, "z"), (2, "x")]
    assert combine([a, b], "zip", Ctx("s")) == [(1, "x"), (2, "y"), (3, "z")]
    assert combine([], "grid", Ctx("s")) == [()]


# -- sweep files ----------------------------------------------------------------------------------


def test_grid_sweep_file_points_and_resolved_scenarios(tmp_path):
    path = sweep_file(
        tmp_path,
        {
            "base": MMC,
            "seeds": [1, 2],
            "factors": {
                "cluster.qpu.q.count": [2, 3],
                "cluster.qpu.q.gate_time_2q": {"logspace": ["1 us", "1 ns"], "num": 4},
            },
        },
    )
    spec = load_sweep(path)
    assert spec.mode == "grid" and spec.runs == 16 and len(spec.points) == 8
    assert [p.index for p in spec.points] == list(range(8))
    p5 = spec.points[5]
    assert p5.values == (3, "100 ns")
    assert p5.scenario["cluster"]["qpu"][0]["count"] == 3
    assert p5.scenario["cluster"]["qpu"][0]["gate_time_2q"] == "100 ns"
    # durations get their value in seconds as a numeric companion
    gate = spec.factors[1]
    assert gate.kind == "duration" and gate.numeric_column == "cluster.qpu.q.gate_time_2q_s"
    assert p5.numeric == (3.0, 1e-07)
    assert spec.factors[0].kind == "number" and spec.factors[0].numeric_column is None
    assert spec.label(p5) == 'cluster.qpu.q.count=3, cluster.qpu.q.gate_time_2q="100 ns"'
    assert spec.name == "sweep"


def test_zip_mode_pairs_values():
    spec = load_sweep(
        {
            "base": MMC,
            "options": {"mode": "zip"},
            "factors": {"cluster.qpu.q.count": [2, 3, 4], "workload.jobs": [10, 20, 30]},
        }
    )
    assert [p.values for p in spec.points] == [(2, 10), (3, 20), (4, 30)]
    with pytest.raises(ScenarioError, match=r'factors\."workload.jobs": has 2 values'):
        load_sweep(
            {
                "base": MMC,
                "options": {"mode": "zip"},
                "factors": {"cluster.qpu.q.count": [2, 3, 4], "workload.jobs": [10, 20]},
            }
        )


def test_base_is_relative_to_the_sweep_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "base.toml").write_text(Path(MMC).read_text())
    spec = load_sweep(sweep_file(tmp_path / "sub", {"base": "base.toml"}))
    assert spec.base == str(tmp_path / "sub" / "base.toml")
    assert len(spec.points) == 1 and spec.seeds == (1,)  # the base scenario's seed


def test_set_applies_to_every_point():
    spec = load_sweep(
        {"base": MMC, "set": {"workload.jobs": 50}, "factors": {"cluster.qpu.q.count": [1, 2]}}
    )
    assert all(p.scenario["workload"]["jobs"] == 50 for p in spec.points)
    assert spec.definition()["set"] == {"workload.jobs": 50}
    with pytest.raises(ScenarioError, match=r'set\."cluster.qpu.q.count": also a factor'):
        load_sweep(
            {"base": MMC, "set": {"cluster.qpu.q.count": 1}, "factors": {"cluster.qpu.q": [1]}}
        )
    with pytest.raises(ScenarioError) as err:
        load_sweep({"base": MMC, "set": {"workload.jobs": "many"}})
    assert str(err.value).startswith('<dict>: set."workload.jobs": workload.jobs: wrong type')


# -- every point is validated first, and errors name the point and the key -------------------------


def test_bad_value_names_the_point_and_the_key(tmp_path):
    gates = ["84 ns", "1 ns", "1 ps", "5 nss"]
    path = sweep_file(tmp_path, {"base": MMC, "factors": {"cluster.qpu.q.gate_time_2q": gates}})
    with pytest.raises(ScenarioError) as err:
        load_sweep(path)
    assert str(err.value).startswith(
        f'{path}: point 3 (cluster.qpu.q.gate_time_2q="5 nss"): cluster.qpu.q.gate_time_2q: '
        "unknown time unit 'nss'"
    )


def test_bad_factor_key_names_the_point_and_the_key(tmp_path):
    path = sweep_file(tmp_path, {"base": MMC, "factors": {"cluster.qpu.q.gate_tme_2q": ["1 ns"]}})
    with pytest.raises(ScenarioError) as err:
        load_sweep(path)
    assert str(err.value) == (
        f'{path}: point 0 (cluster.qpu.q.gate_tme_2q="1 ns"): cluster.qpu.q.gate_tme_2q: '
        "unknown key; did you mean 'gate_time_2q'?"
    )


def test_unknown_array_entry_is_reported_without_command_line_wording():
    with pytest.raises(ScenarioError) as err:
        load_sweep({"base": MMC, "factors": {"cluster.qpu.zz.count": [1]}})
    text = str(err.value)
    assert "point 0 (cluster.qpu.zz.count=1): cluster.qpu.zz: no entry named 'zz'" in text
    assert "command line" not in text


def test_a_late_point_fails_validation_before_anything_runs():
    # Only the last combination is invalid (one QPU cannot hold the 2 devices the link names).
    base = {
        "cluster": {"qpu": [{"name": "q", "count": 2}]},
        "workload": {
            "kind": "synthetic",
            "jobs": 2,
            "pool": "qpu",
            "arrival": {"dist": "deterministic", "interval_s": 1},
            "service": {"dist": "deterministic", "value_s": 1},
        },
    }
    with pytest.raises(ScenarioError, match=r"point 2 \(workload.pool=\"gpu\"\): workload.pool"):
        load_sweep({"base": base, "factors": {"workload.pool": ["qpu", "q", "gpu"]}})


def test_errors_in_the_base_file_are_reported_there(tmp_path):
    base = tmp_path / "base.toml"
    base.write_text(Path(MMC).read_text().replace("count = 3", "count = 0"))
    path = sweep_file(tmp_path, {"base": "base.toml", "factors": {"workload.jobs": [1, 2]}})
    with pytest.raises(ScenarioError) as err:
        load_sweep(path)
    assert str(err.value).startswith(f"{base}: cluster.qpu.q.count: out of range: 0")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"base": MMC, "seed": [1]}, "seed: unknown key; did you mean 'seeds'?"),
        ({"base": MMC, "seeds": []}, "seeds: needs at least 1 item(s)"),
        ({"base": MMC, "seeds": [1, 1]}, "seeds: repeats a seed"),
        ({"base": MMC, "seeds": [-1]}, "seeds.0: out of range"),
        ({"base": MMC, "options": {"mode": "zipped"}}, "options.mode: invalid value 'zipped'"),
        ({"factors": {}}, "base: missing required key"),
        ({"base": "nothere.toml"}, "base: no scenario file"),
        ({"base": MMC, "factors": {"seed": [1, 2]}}, "the seed is not a factor"),
        ({"base": MMC, "factors": {"a..b": [1]}}, "empty part in the key path"),
        (
            {"base": MMC, "factors": {"workload.arrival": [{}], "workload.arrival.dist": ["x"]}},
            "overlaps factor 'workload.arrival",
        ),
        ({"base": MMC, "factors": [1, 2]}, "factors: wrong type"),
    ],
)
def test_sweep_file_schema_errors(tmp_path, data, message):
    path = sweep_file(tmp_path, data)
    with pytest.raises(ScenarioError) as err:
        load_sweep(path)
    assert message in str(err.value)
    assert str(err.value).startswith(str(path))
    assert "\n" not in str(err.value)


def test_invalid_toml_is_one_line(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text('base = "x\n')
    with pytest.raises(ScenarioError, match="invalid TOML"):
        load_sweep(path)


# -- the fingerprint ------------------------------------------------------------------------------


def test_digest_tracks_what_runs(tmp_path):
    data = {"base": MMC, "seeds": [1, 2], "factors": {"cluster.qpu.q.count": [2, 3]}}
    d0 = load_sweep(sweep_file(tmp_path, data, "a.toml")).digest
    # Same definition written elsewhere, with another name and description: same digest.
    renamed = {**data, "name": "other", "description": "words"}
    assert load_sweep(sweep_file(tmp_path, renamed, "b.toml")).digest == d0
    # A value, a seed or the base scenario changes it.
    assert load_sweep({**data, "seeds": [1, 3]}).digest != d0
    assert load_sweep({**data, "factors": {"cluster.qpu.q.count": [2, 4]}}).digest != d0
    base = tmp_path / "base.toml"
    base.write_text(Path(MMC).read_text().replace("jobs = 20000", "jobs = 200"))
    assert load_sweep({**data, "base": str(base)}).digest != d0
    assert re.fullmatch("[0-9a-f]{64}", d0)  # a SHA-256 hex digest


def test_the_demo_sweep_file_is_valid():
    spec = load_sweep(ROOT / "scenarios" / "sweep-demo.toml")
    assert spec.name == "sweep-demo" and spec.runs == 27


# -- size before work (issue 18.2) ------------------------------------------------------------


def test_a_huge_grid_is_refused_before_any_point_is_generated(tmp_path):
    # 10 factors x 10 values: 10**10 points. Building them all was a MemoryError.
    keys = [f"cluster.qpu.q.{k}" for k in ("count", "capacity")] + [
        f"workload.k{i}" for i in range(8)
    ]
    path = sweep_file(tmp_path, {"base": MMC, "factors": {k: list(range(10)) for k in keys}})
    t0 = time.perf_counter()
    with pytest.raises(ScenarioError) as err:
        load_sweep(path)
    assert time.perf_counter() - t0 < 5  # milliseconds in fact; the bound only catches a hang
    message = str(err.value)
    assert message.startswith(f"{path}: factors: grid of ")
    assert "gives 10000000000 points" in message and f"at most {MAX_POINTS} points" in message
    assert all(f'"{k}" (10)' in message for k in keys) and "\n" not in message


def test_a_huge_range_is_refused_before_its_values_are_generated():
    # Generating 10**7 values took minutes and 2.6 GB.
    raw = {"logspace": [0.1, 2.4], "num": 10**7}
    t0 = time.perf_counter()
    with pytest.raises(ScenarioError) as err:
        expand(raw)
    assert time.perf_counter() - t0 < 10  # a hang guard: generating them took minutes
    assert str(err.value).startswith('s.toml: factors."k".num: 10000000 values, more than')
    assert len(expand({"logspace": ["1 s", "1 zs"], "num": MAX_POINTS})) == MAX_POINTS


def test_too_many_runs_names_the_seeds():
    data = {
        "base": MMC,
        "seeds": list(range(20)),
        "factors": {"workload.jobs": {"linspace": [10, 100_000], "num": 9000}},
    }
    with pytest.raises(ScenarioError) as err:
        load_sweep(data)
    assert str(err.value).startswith("<dict>: seeds: 20 seeds × 9000 points = 180000 runs")
    assert f"at most {MAX_RUNS} runs" in str(err.value)


def test_zip_counts_its_common_length_and_the_bound_covers_it():
    a = Factor("a", tuple(range(MAX_POINTS + 1)))
    with pytest.raises(ScenarioError, match=r"factors: zip of .* gives 10001 points"):
        count_points([a, a], "zip", Ctx("s"))
    assert count_points([a, a], "zip", Ctx("s"), limit=None) == MAX_POINTS + 1


@given(st.lists(st.integers(1, 4), max_size=4), st.sampled_from(["grid", "zip"]))
def test_points_one_at_a_time_are_the_points_in_order(lengths, mode):
    if mode == "zip":
        lengths = lengths[:1] * len(lengths)
    factors = [Factor(f"f{i}", tuple(f"v{i}{j}" for j in range(n))) for i, n in enumerate(lengths)]
    every = list(iter_points(factors, mode))
    expected = (
        list(itertools.product(*(f.values for f in factors)))
        if mode == "grid"
        else list(zip(*(f.values for f in factors), strict=True))
    ) or [()]
    assert every == expected == combine(factors, mode, Ctx("s"))
    assert count_points(factors, mode, Ctx("s")) == len(every)
    assert [point_values(factors, mode, i) for i in range(len(every))] == every


def test_points_are_made_on_access_from_compact_text():
    spec = load_sweep({"base": MMC, "seeds": [1], "factors": {"cluster.qpu.q.count": [2, 3, 4]}})
    assert isinstance(spec.points, PointList) and len(spec.points) == 3
    assert spec.size_text() == "3 points × 1 seed = 3 runs"
    p = spec.points[-1]
    assert (p.index, p.values) == (2, (4,))
    assert p.scenario["cluster"]["qpu"][0]["count"] == 4
    assert spec.points[2].scenario is not p.scenario  # a fresh dict each time
    assert json.loads(spec.points.scenario_json(2)) == p.scenario
    assert [q.index for q in spec.points] == [0, 1, 2]
    with pytest.raises(IndexError):
        spec.points[3]


def test_the_digest_is_the_hash_of_the_whole_definition():
    """Fed piece by piece, the digest equals the hash of the definition as one JSON document
    (as computed before points were lazy), so stores written earlier still resume."""
    import hashlib

    spec = load_sweep(ROOT / "scenarios" / "sweep-demo.toml")
    payload = {
        "version": 1,
        "seeds": list(spec.seeds),
        "factors": [[f.key, list(f.values)] for f in spec.factors],
        "points": [
            {k: v for k, v in p.scenario.items() if k != "description"} for p in spec.points
        ],
    }
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert spec.digest == hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- seeds SQLite and the RNG can take (issue 18.3) -------------------------------------------


@pytest.mark.parametrize("seed", [2**64, 2**63])
def test_seeds_beyond_a_64_bit_integer_are_refused(seed):
    with pytest.raises(ScenarioError) as err:
        load_sweep({"base": MMC, "seeds": [1, seed]})
    assert str(err.value).startswith(f"<dict>: seeds.1: out of range: {seed} (expected")
    assert load_sweep({"base": MMC, "seeds": [2**63 - 1]}).seeds == (2**63 - 1,)


def test_a_base_seed_beyond_a_64_bit_integer_is_refused_naming_seeds(tmp_path):
    base = tmp_path / "base.toml"
    base.write_text(f"seed = {2**64}\n" + Path(MMC).read_text())
    with pytest.raises(ScenarioError) as err:
        load_sweep(sweep_file(tmp_path, {"base": "base.toml"}))
    # the base scenario's own validation refuses it, naming the base file and its key
    assert str(err.value).startswith(f"{base}: seed: out of range: {2**64} (expected")


# -- the wrong kind of file (issue 17.8) ------------------------------------------------------


def test_a_scenario_given_as_a_sweep_names_hybridsim_run():
    path = ROOT / "scenarios" / "quickstart.toml"
    with pytest.raises(ScenarioError) as err:
        load_sweep(path)
    message = str(err.value)
    assert message.startswith(f"{path}: this is a scenario, not a sweep (it has ")
    assert f"run it with `hybridsim run {path}`" in message
    assert "did you mean" not in message and "\n" not in message


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "scenarios").glob("*.toml")))
def test_every_shipped_file_is_recognised_as_what_it_is(name):
    raw = tomllib.loads((ROOT / "scenarios" / name).read_text())
    sweep = "base" in raw
    assert looks_like_sweep(raw) is sweep
    assert looks_like_scenario(raw) is not sweep


def test_a_sweep_with_a_typo_is_not_taken_for_a_scenario():
    assert not looks_like_scenario({"base": MMC, "seed": [1]})
    assert not looks_like_sweep({"base": MMC, "cluster": {}})  # neither: unknown keys say why
    assert not looks_like_scenario([1, 2]) and not looks_like_sweep("base")
