import tomllib

import pytest
from conftest import synthetic
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridsim.errors import ScenarioError
from hybridsim.scenario import (
    apply_override,
    load_scenario,
    parse_override,
)
from hybridsim.timebase import to_ticks
from hybridsim.tomlio import dumps

MMC = {
    "cluster": {"qpu": [{"name": "q", "count": 3}]},
    "workload": {
        "kind": "synthetic",
        "jobs": 20000,
        "arrival": {"dist": "exponential", "rate_per_s": 2.4},
        "service": {"dist": "exponential", "mean_s": 1.0},
        "pool": "qpu",
    },
}


def err(data, overrides=()):
    with pytest.raises(ScenarioError) as info:
        load_scenario(data, overrides)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def test_issue_mmc_scenario_validates_with_defaults():
    sc = load_scenario(MMC)
    q = sc.cluster.qpu[0]
    assert q.count == 3 and q.gate_time_2q == to_ticks("84 ns")
    assert q.measure_time == to_ticks("1.56 us")
    assert sc.workload.arrival.rate_per_s == 2.4
    assert sc.workload.service.mean_s == to_ticks("1 s")
    assert sc.network.topology == "star"


def test_to_dict_round_trips_through_toml_text():
    sc = load_scenario(
        MMC, ["cluster.qpu.q.calibration_period='1 h'", "cluster.qpu.q.calibration_duration='90 s'"]
    )
    again = load_scenario(tomllib.loads(dumps(sc.to_dict())))
    assert again == sc


@settings(max_examples=40, deadline=None)
@given(
    count=st.integers(1, 50),
    gate=st.integers(1, 10**15),
    bw=st.floats(1.0, 1e13, allow_nan=False),
    disc=st.sampled_from(["fifo", "priority", "shortest_predicted_first"]),
)
def test_round_trip_property(count, gate, bw, disc):
    data = synthetic(
        qpu=[
            {
                "name": "q",
                "count": count,
                "gate_time_2q": f"{gate} zs",
                "link_bandwidth": bw,
                "discipline": disc,
            }
        ],
        pool="q",
    )
    sc = load_scenario(data)
    assert sc.cluster.qpu[0].gate_time_2q == gate
    assert load_scenario(tomllib.loads(dumps(sc.to_dict()))) == sc


def test_unknown_key_suggests_closest():
    data = synthetic()
    data["cluster"]["gpu"][0]["cuont"] = 2
    assert err(data) == "<dict>: cluster.gpu.g.cuont: unknown key; did you mean 'count'?"


@pytest.mark.parametrize(
    "override, key, words",
    [
        ("cluster.gpu.g.count=0", "cluster.gpu.g.count", ">= 1"),
        ("cluster.gpu.g.count=1.5", "cluster.gpu.g.count", "an integer"),
        ("cluster.gpu.g.count='2'", "cluster.gpu.g.count", "an integer"),
        ("cluster.gpu.g.tflops=-3", "cluster.gpu.g.tflops", ">= 1e-06"),
        ("cluster.gpu.g.tflops=nan", "cluster.gpu.g.tflops", "finite"),
        ("cluster.gpu.g.launch_latency='-1 us'", "cluster.gpu.g.launch_latency", "duration"),
        ("cluster.gpu.g.discipline='lifo'", "cluster.gpu.g.discipline", "fifo"),
        ("cluster.gpu.g.link_bandwidth='10 Gbits'", "cluster.gpu.g.link_bandwidth", "bandwidth"),
        ("workload.jobs=0", "workload.jobs", ">= 1"),
        ("workload.pool=qpu", "workload.pool", "no devices"),
        ("workload.service.value_s='5 nss'", "workload.service.value_s", "unknown time unit"),
        ("workload.arrival.dist=poisson", "workload.arrival.dist", "exponential"),
        ("seed=-4", "seed", "non-negative"),
        ("until=0", "until", "positive"),
    ],
)
def test_bad_values_name_file_and_key(override, key, words):
    msg = err(synthetic(), [override])
    assert msg.startswith(f"<dict>: {key}: ")
    assert words in msg


def test_negative_gate_time_is_rejected():
    msg = err(synthetic(qpu=[{"name": "q", "gate_time_2q": "-84 ns"}], gpu=[]), [])
    assert "cluster.qpu.q.gate_time_2q" in msg and "positive duration" in msg


def test_no_devices_at_all():
    data = synthetic()
    data["cluster"] = {}
    assert "at least one" in err(data)


def test_duplicate_group_names():
    msg = err(synthetic(gpu=[{"name": "x"}], qpu=[{"name": "x"}], pool="x"))
    assert "already used" in msg


def test_calibration_needs_both_and_shorter_window():
    assert "calibration_duration: missing" in err(
        synthetic(qpu=[{"name": "q", "calibration_period": "1 h"}], gpu=[], pool="q")
    )
    msg = err(
        synthetic(
            qpu=[{"name": "q", "calibration_period": "1 h", "calibration_duration": "2 h"}],
            gpu=[],
            pool="q",
        )
    )
    assert "calibration_duration" in msg and "shorter" in msg


def test_custom_topology_link_to_unknown_node():
    data = synthetic(
        network={
            "topology": "custom",
            "nodes": ["sw"],
            "links": [{"a": "host", "b": "sw"}, {"a": "sw", "b": "gg"}],
        }
    )
    msg = err(data)
    assert msg.startswith("<dict>: network.links.1.b: unknown node 'gg'")


def test_custom_topology_accepts_group_names_and_devices():
    data = synthetic(
        gpu=[{"name": "g", "count": 2}],
        network={
            "topology": "custom",
            "nodes": ["sw"],
            "links": [{"a": "host", "b": "sw"}, {"a": "sw", "b": "g"}],
        },
    )
    sc = load_scenario(data)
    assert len(sc.network.links) == 2


def test_star_with_links_is_an_error():
    msg = err(synthetic(network={"links": [{"a": "host", "b": "g-0"}]}))
    assert "network.links" in msg and "custom" in msg


def test_trace_length_must_match_jobs():
    msg = err(synthetic(jobs=3, service={"dist": "trace", "values_s": [1, 2]}))
    assert "workload.service.values_s" in msg


def test_override_addresses_array_entries_by_name():
    sc = load_scenario(MMC, ["cluster.qpu.q.count=4", "workload.service.mean_s='2 s'"])
    assert sc.cluster.qpu[0].count == 4
    assert sc.workload.service.mean_s == to_ticks("2 s")
    msg = err(MMC, ["cluster.qpu.nope.count=4"])
    assert msg.startswith("<dict>: cluster.qpu.nope: no entry named 'nope'")


def test_override_values_are_toml_literals_never_code():
    assert parse_override("a.b=[1, 2]") == ("a.b", [1, 2])
    assert parse_override("a.b=__import__('os').system('false')") == (
        "a.b",
        "__import__('os').system('false')",
    )
    assert parse_override("name=hello world") == ("name", "hello world")
    with pytest.raises(ScenarioError):
        parse_override("no-equals-sign")


def test_override_through_scalar_is_an_error():
    raw = {"seed": 3}
    with pytest.raises(ScenarioError):
        apply_override(raw, "seed.x", 1, "f.toml")


def test_file_errors_are_one_line(tmp_path):
    missing = tmp_path / "nope.toml"
    assert "cannot read file" in err(missing)
    bad = tmp_path / "bad.toml"
    bad.write_text("[cluster\n")
    msg = err(bad)
    assert msg.startswith(f"{bad}: invalid TOML")
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert "not a text file" in err(binary)
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    assert "cluster: no devices" in err(empty)


def test_scenario_files_in_repo_validate_without_warnings_and_round_trip():
    """Every scenario file (not the sweeps) validates with no warning, and its resolved form
    rebuilds the same Scenario (test_scenarios.py runs each; this checks the files themselves)."""
    import warnings
    from pathlib import Path

    from hybridsim.errors import ScenarioWarning

    checked = []
    for path in sorted(Path(__file__).parent.parent.joinpath("scenarios").glob("*.toml")):
        raw = tomllib.loads(path.read_text())
        if "base" in raw and "factors" in raw:
            continue  # sweep files are checked by the sweep tests
        with warnings.catch_warnings():
            warnings.simplefilter("error", ScenarioWarning)
            sc = load_scenario(path)
        assert load_scenario(sc.to_dict()) == sc, path.name
        checked.append(path.name)
    assert {"mmc.toml", "quickstart.toml", "faults.toml", "paper-bert-tiny.toml"} <= set(checked)
