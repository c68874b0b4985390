import os
import subprocess
import sys

import numpy as np
import pytest

from hybridsim.rng import Streams, stream


def test_same_seed_and_name_give_identical_streams():
    a = stream(7, "arrivals").random(5)
    b = stream(7, "arrivals").random(5)
    assert np.array_equal(a, b)


def test_names_and_seeds_give_different_streams():
    base = stream(7, "arrivals").random(5)
    assert not np.array_equal(base, stream(7, "service").random(5))
    assert not np.array_equal(base, stream(8, "arrivals").random(5))


def test_streams_continue_their_own_sequence():
    s = Streams(3)
    first = s["x"].random()
    second = s["x"].random()
    fresh = stream(3, "x")
    assert [first, second] == list(fresh.random(2))


def test_drawing_from_one_stream_does_not_shift_another():
    s1, s2 = Streams(5), Streams(5)
    s1["service"].random(1000)  # s1 draws a lot of service times first
    assert s1["arrivals"].random() == s2["arrivals"].random()


def test_negative_seed_rejected():
    with pytest.raises(ValueError):
        stream(-1, "x")


def test_streams_do_not_depend_on_python_hash_seed():
    code = "from hybridsim.rng import stream; print(stream(11, 'shots/q-0').integers(0, 2**62))"
    outs = set()
    for hs in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hs}
        outs.add(
            subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            ).stdout
        )
    # one value whatever the hash seed, and the value this process draws
    assert outs == {f"{stream(11, 'shots/q-0').integers(0, 2**62)}\n"}
