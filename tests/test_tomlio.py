"""The TOML writer: values encoded by tomli-w, the scenario layout kept byte for byte, and
anything written read back equal by tomllib (non-ASCII keys included)."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridsim.scenario import load_scenario
from hybridsim.tomlio import dumps

ROOT = Path(__file__).resolve().parent.parent


def test_non_ascii_key_is_quoted_and_reads_back():
    # Regression: the hand-written writer emitted `κ = 1000.0` (a bare key may only hold
    # A-Z a-z 0-9 _ -), which tomllib refuses.
    data = {"κ": 1000.0, "workload": {"κ_start": 10.0, "ε": 0.01, "kappa": {"ε": 1e-3}}}
    text = dumps(data)
    assert '"κ" = 1000.0' in text
    assert tomllib.loads(text) == data
    assert "[workload]" in text and '"κ_start" = 10.0' in text


def test_layout_is_the_scenario_files_layout():
    data = {
        "name": "demo",
        "seed": 7,
        "big": 1e300,
        "inf": float("inf"),
        "minus_inf": float("-inf"),
        "text": 'say "hi"\\ there\nnew',
        "empty": [],
        "nums": [1, 2.5, "x"],
        "arrival": {"dist": "exponential", "rate_per_s": 100},
        "inline_in_array": [[1, 2], {"k": "v"}],
        "a-b_c": True,
        "nested": {"a": {"b": 1}, "c": [1, 2]},
        "cluster": {"gpu": [{"name": "g", "count": 2}], "qpu": [{"name": "q"}, {"name": "r"}]},
        "empty_table": {},
    }
    assert dumps(data) == (
        'name = "demo"\n'
        "seed = 7\n"
        "big = 1e+300\n"
        "inf = inf\n"
        "minus_inf = -inf\n"
        'text = "say \\"hi\\"\\\\ there\\nnew"\n'
        "empty = []\n"
        'nums = [1, 2.5, "x"]\n'
        'arrival = { dist = "exponential", rate_per_s = 100 }\n'
        'inline_in_array = [[1, 2], { k = "v" }]\n'
        "a-b_c = true\n"
        "\n"
        "[nested]\n"
        "a = { b = 1 }\n"
        "c = [1, 2]\n"
        "\n"
        "[cluster]\n"
        "\n"
        "[[cluster.gpu]]\n"
        'name = "g"\n'
        "count = 2\n"
        "\n"
        "[[cluster.qpu]]\n"
        'name = "q"\n'
        "\n"
        "[[cluster.qpu]]\n"
        'name = "r"\n'
        "\n"
        "[empty_table]\n"
    )


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.toml")), ids=lambda p: p.name)
def test_every_scenario_round_trips(path):
    raw = tomllib.loads(path.read_text())
    assert tomllib.loads(dumps(raw)) == raw
    if "base" not in raw:  # a scenario, not a sweep: its resolved form too
        resolved = load_scenario(path).to_dict()
        assert tomllib.loads(dumps(resolved)) == resolved


def test_values_toml_cannot_hold_are_type_errors():
    with pytest.raises(TypeError):
        dumps({"a": None})
    with pytest.raises(TypeError):
        dumps({"a": object()})


keys = st.text(min_size=0, max_size=8)  # any Unicode: bare, quoted, empty, dotted, κ, emoji
scalars = (
    st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)  # control characters, quotes, backslashes, DEL included
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)
documents = st.dictionaries(keys, values, max_size=6)


@settings(max_examples=100, deadline=None)
@given(documents)
def test_anything_written_reads_back_equal(data):
    assert tomllib.loads(dumps(data)) == data


def test_nan_is_written_as_nan():
    assert math.isnan(tomllib.loads(dumps({"x": float("nan")}))["x"])
