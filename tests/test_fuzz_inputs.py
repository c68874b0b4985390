"""Fuzzed bad input: every mutated scenario ends in exit 0 or exit 2 with one error line naming
the file, never a traceback and never a partial output directory (issue 9)."""

import copy
import math
import random
import tomllib
from pathlib import Path

import pytest

from hybridsim.cli import main
from hybridsim.tomlio import dumps

ROOT = Path(__file__).resolve().parent.parent
# Mutations are applied to these scenarios; runs are shortened so each stays fast.
BASES = {
    "mmc.toml": ["workload.jobs=40"],
    "quickstart.toml": ["workload.steps=1", "workload.baselines=[]", "quantum.execute_max_n=0"],
}
BAD_VALUES = [
    -1,
    0,
    -1e-300,
    math.nan,
    math.inf,
    -math.inf,
    10**30,
    1e308,
    "",
    "5 nss",
    "-84 ns",
    "nan s",
    "1e999 s",
    "abc",
    True,
    [1, "x"],
    {"a": 1},
    [],
    "0 s",
    "1 zs",
    2**63,
]


def paths(data, prefix=()):
    """Every (path, value) in nested TOML data; array entries by index."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield (*prefix, k), v
            yield from paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield (*prefix, i), v
            yield from paths(v, (*prefix, i))


def set_at(data, path, value):
    cur = data
    for p in path[:-1]:
        cur = cur[p]
    if value is _DELETE:
        if isinstance(cur, list):
            cur.pop(path[-1])
        else:
            del cur[path[-1]]
    elif value is _RENAME:
        cur[str(path[-1]) + "x"] = cur.pop(path[-1])
    else:
        cur[path[-1]] = value


_DELETE, _RENAME = object(), object()


def mutations(data, rng, n):
    all_paths = [p for p, _ in paths(data)]
    for _ in range(n):
        p = rng.choice(all_paths)
        kind = rng.random()
        mutated = copy.deepcopy(data)
        if kind < 0.15:
            value = _DELETE
        elif kind < 0.3 and isinstance(p[-1], str):
            value = _RENAME
        else:
            value = rng.choice(BAD_VALUES)
        try:
            set_at(mutated, p, value)
        except (KeyError, IndexError, TypeError):
            continue
        yield mutated


def run_cli(args, capsys):
    code = main(args)
    err = capsys.readouterr().err
    return code, err


def check(path, extra, out, capsys):
    for cmd in (
        ["validate", str(path), *extra],
        ["run", str(path), "--out", str(out), "--quiet", *extra],
    ):
        code, err = run_cli([c for c in cmd], capsys)
        assert code in (0, 2), (cmd, code, err)
        if code == 2:
            assert err.count("\n") == 1 and err.startswith(f"error: {path}"), err
            if cmd[0] == "run":
                assert not out.exists(), "a failed run left an output directory"
            return "rejected"
        if cmd[0] == "run":
            assert (out / "summary.json").exists()
    return "ran"


@pytest.mark.parametrize("base", sorted(BASES))
def test_fuzzed_scenarios(base, tmp_path, capsys):
    data = tomllib.loads((ROOT / "scenarios" / base).read_text())
    rng = random.Random(f"fuzz/{base}")
    extra = [a for o in BASES[base] for a in ("--set", o)]
    tally = {"rejected": 0, "ran": 0}
    for i, mutated in enumerate(mutations(data, rng, 60 if base == "mmc.toml" else 40)):
        path = tmp_path / f"m{i}.toml"
        try:
            text = dumps(mutated)
        except (TypeError, ValueError):
            continue  # not representable as TOML: nothing a user could write
        path.write_text(text)
        tally[check(path, extra, tmp_path / f"out{i}", capsys)] += 1
    with capsys.disabled():
        print(
            f"\nfuzz {base}: {sum(tally.values())} inputs, "
            f"{tally['rejected']} rejected with exit 2, "
            f"{tally['ran']} ran"
        )
    assert tally["rejected"] > 10


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\x01\x02\xff\xfe binary",
        b"[cluster\n",
        b"= = =",
        b"workload = 3\n",
        "é = 1".encode(),
    ],
)
def test_garbage_files(content, tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_bytes(content)
    out = tmp_path / "out"
    code, err = run_cli(["run", str(path), "--out", str(out)], capsys)
    assert code == 2 and err.startswith(f"error: {path}") and err.count("\n") == 1
    assert not out.exists()


def test_ten_megabyte_file(tmp_path, capsys):
    path = tmp_path / "big.toml"
    base = (ROOT / "scenarios/mmc.toml").read_text()
    path.write_text(base + "\n# " + "x" * (10 * 2**20) + "\n")
    assert main(["validate", str(path)]) == 0
    path.write_text(base.replace("[workload]", "junk = [" + "1, " * (2 * 2**20) + "]\n[workload]"))
    code, err = run_cli(["validate", str(path)], capsys)
    assert code == 2 and "junk: unknown key" in err


SHAPES_HEAD = (
    '[[cluster.gpu]]\nname = "g"\n[scheduler]\npolicy = "classical_only"\n'
    '[workload]\nkind = "shapes"\n'
)


def test_replay_path_may_not_leave_the_scenario_directory(tmp_path, capsys):
    sub = tmp_path / "s"
    sub.mkdir()
    (tmp_path / "steps.csv").write_text("kappa_true_median\n10\n")
    path = sub / "replay.toml"
    path.write_text(
        SHAPES_HEAD + 'steps = 2\n[workload.kappa]\nkind = "replay"\nreplay = "../steps.csv"\n'
    )
    code, err = run_cli(["validate", str(path)], capsys)
    assert code == 2 and "workload.kappa.replay" in err and "leaves the scenario's directory" in err
    # an absolute path is no way out either (issue 18.5) ...
    code, err = run_cli(
        ["validate", str(path), "--set", f'workload.kappa.replay="{tmp_path / "steps.csv"}"'],
        capsys,
    )
    assert code == 2 and "leaves the scenario's directory" in err
    # ... but may name a file inside the tree
    (sub / "steps.csv").write_text("kappa_true_median\n10\n")
    code, _ = run_cli(
        ["validate", str(path), "--set", f'workload.kappa.replay="{sub / "steps.csv"}"'], capsys
    )
    assert code == 0


def test_shapes_replay_uses_the_recorded_kappa(tmp_path):
    from hybridsim import run

    (tmp_path / "steps.csv").write_text("kappa_true_median\n100\n\n10\n")
    path = tmp_path / "replay.toml"
    path.write_text(
        SHAPES_HEAD + "steps = 3\n"
        '[workload.kappa]\nkind = "replay"\nreplay = "steps.csv"\nscatter_sigma = 0.0\n'
    )
    r = run(path)
    assert [round(s.kappa_true_median, 6) for s in r.steps] == [100.0, round(10**1.5, 6), 10.0]
