"""Fuzzed bad input: every mutated scenario ends in exit 0 or exit 2 with one error line naming
the file, never a traceback and never a partial output directory (issue 9)."""

import copy
import json
import math
import random
import time
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


# ---------------------------------------------------------------------------------------------
# Issue 18's own fuzz cases: deep nesting, huge and tiny magnitudes, path tricks, control
# characters and giant values. Each ends in exit 0 with whole outputs, or exit 2 with one line
# and nothing written; never a traceback, never a hang (each case has a time bound).

MMC = ROOT / "scenarios" / "mmc.toml"
MMC_SHORT = ["--set", "workload.jobs=40"]
CASE_SECONDS = 20  # generous: a hang guard, not a benchmark


def _mmc_with(tmp_path, extra_top="", extra_workload="", name="s.toml"):
    text = MMC.read_text()
    text = text.replace('name = "mmc"', extra_top + 'name = "mmc"')
    text = text.replace('pool = "qpu"', 'pool = "qpu"\n' + extra_workload)
    path = tmp_path / name
    path.write_text(text)
    return path


def _mmc_described(tmp_path, text):
    """mmc.toml with ``text`` as its description."""
    lines = MMC.read_text().splitlines()
    lines = [
        f"description = {json.dumps(text)}" if ln.startswith("description") else ln for ln in lines
    ]
    path = tmp_path / "described.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def whole_or_nothing(args, out, capsys):
    """Run the CLI in-process; check the outcome contract; return (code, stderr)."""
    t0 = time.perf_counter()
    code = main([str(a) for a in args])
    elapsed = time.perf_counter() - t0
    captured = capsys.readouterr()
    assert elapsed < CASE_SECONDS, (args[:3], elapsed)
    assert code in (0, 2), (code, captured.err[-2000:])
    if code == 2:
        assert captured.err.startswith("error: ") and captured.err.count("\n") == 1, captured.err
        assert captured.err[:-1].isprintable(), repr(captured.err)
        assert len(captured.err) < 2000
        if out is not None:
            assert not out.exists(), "a refused input left an output directory"
    elif out is not None and args[0] == "run":
        for f in ("summary.json", "jobs.csv", "intervals.csv", "steps.csv", "scenario.toml"):
            assert (out / f).is_file(), f
        json.loads((out / "summary.json").read_text())  # whole, not truncated
    return code, captured.err


def _run_and_validate(path, tmp_path, capsys, extra=()):
    out = tmp_path / "out"
    codes = []
    for cmd in ("validate", "run"):
        args = [cmd, path, *MMC_SHORT, *extra]
        if cmd == "run":
            args += ["--out", out, "--quiet", "--no-report"]
        codes.append(whole_or_nothing(args, out if cmd == "run" else None, capsys)[0])
    assert codes[0] == codes[1], "validate and run disagree"
    return codes[0]


NESTING = {
    "array 2000 deep": "junk = " + "[" * 2000 + "]" * 2000 + "\n",
    "table 600 deep": "junk = " + "{a = " * 600 + "1" + "}" * 600 + "\n",
    "header 3000 deep": "[" + ".".join(["t"] * 3000) + "]\nx = 1\n",
    "dotted key 3000 deep": ".".join(["k"] * 3000) + " = 1\n",
    "5000-digit integer": "seed = " + "7" * 5000 + "\n",
}


@pytest.mark.parametrize("case", sorted(NESTING))
def test_fuzz_deep_nesting_in_files(case, tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(NESTING[case] + MMC.read_text())
    assert _run_and_validate(path, tmp_path, capsys) == 2


@pytest.mark.parametrize(
    "value",
    ["[" * 2000 + "]" * 2000, "{a=" * 600 + "1" + "}" * 600, "9" * 5000, "[" * 40 + "]" * 40],
)
def test_fuzz_deep_nesting_in_set_values(value, tmp_path, capsys):
    assert _run_and_validate(MMC, tmp_path, capsys, ["--set", f"workload.jobs={value}"]) == 2


MAGNITUDE_KEYS = [
    "workload.jobs",
    "workload.arrival.rate_per_s",
    "workload.service.mean_s",
    "workload.n",
    "seed",
    "until",
    "cluster.qpu.q.count",
    "cluster.qpu.q.capacity",
    "cluster.qpu.q.link_bandwidth",
    "cluster.qpu.q.link_latency",
    "cluster.qpu.q.calibration_period",
    "network.host_bandwidth",
]
MAGNITUDES = [
    "5e-324",
    "-5e-324",
    "1e-300",
    "1e308",
    "-1e308",
    str(2**63),
    "1" + "0" * 4000,  # 4001 digits: converts, far beyond every domain
    '"1e10000000 s"',
    '"1e-10000000 s"',
    '"1e-320 B/s"',
    '"1e300 Tbps"',
    '"0.000000000000000000000000001 s"',
    "0",
]


@pytest.mark.parametrize("key", MAGNITUDE_KEYS)
def test_fuzz_huge_and_tiny_magnitudes(key, tmp_path, capsys):
    tally = {0: 0, 2: 0}
    for i, value in enumerate(MAGNITUDES):
        case = tmp_path / str(i)
        case.mkdir()
        tally[_run_and_validate(MMC, case, capsys, ["--set", f"{key}={value}"])] += 1
    assert tally[2] >= 5  # most of these are outside every key's domain


def _shapes(tmp_path, replay):
    path = tmp_path / "s" / "shapes.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(
        '[[cluster.gpu]]\nname = "g"\n[scheduler]\npolicy = "classical_only"\n'
        '[workload]\nkind = "shapes"\nsteps = 2\n[workload.kappa]\nkind = "replay"\n'
        f"replay = {json.dumps(replay)}\n"
    )
    return path


@pytest.mark.parametrize(
    "replay",
    [
        "../outside.csv",
        "/etc/passwd",
        "/dev/zero",
        "/proc/self/environ",
        "link-out.csv",
        "link-zero.csv",
        "loop.csv",
        "fifo.csv",
        ".",
        "",
        "nul\u0000byte.csv",
        "a" * 10000,
        "~/steps.csv",
        "inside.csv",  # the one good path: runs
    ],
)
def test_fuzz_path_tricks(replay, tmp_path, capsys):
    import os

    (tmp_path / "outside.csv").write_text("kappa_true_median\n10\n")
    path = _shapes(tmp_path, replay)
    sub = path.parent
    (sub / "inside.csv").write_text("kappa_true_median\n10\n20\n")
    (sub / "link-out.csv").symlink_to(tmp_path / "outside.csv")
    (sub / "link-zero.csv").symlink_to("/dev/zero")
    (sub / "loop.csv").symlink_to(sub / "loop.csv")
    os.mkfifo(sub / "fifo.csv")  # reading it would block forever
    out = tmp_path / "out"
    expected = 0 if replay == "inside.csv" else 2
    for cmd in (["validate", path], ["run", path, "--out", out, "--quiet", "--no-report"]):
        code, err = whole_or_nothing(cmd, out if cmd[0] == "run" else None, capsys)
        assert code == expected, err
        if code == 2:
            assert f"error: {path}: workload.kappa." in err


CONTROL = ["\x1b[2J\x1b[H", "\u202e", "\x00", "\x07\x08\x7f", "\u2028", "\r", "\x9b31m"]


@pytest.mark.parametrize("text", CONTROL)
def test_fuzz_control_characters(text, tmp_path, capsys):
    # in a key, a group name, a string value and a free-text field
    cases = [
        _mmc_with(tmp_path, extra_top=f"{json.dumps('k' + text)} = 1\n", name="key.toml"),
        _mmc_with(tmp_path, extra_workload=f"kappa = {json.dumps(text)}\n", name="value.toml"),
    ]
    for path in cases:
        assert _run_and_validate(path, tmp_path, capsys) == 2
    group = tmp_path / "group.toml"
    group.write_text(MMC.read_text().replace('name = "q"', f"name = {json.dumps('q' + text)}"))
    assert _run_and_validate(group, tmp_path, capsys) == 2
    # free text is data: it runs, and the outputs are whole
    assert _run_and_validate(_mmc_described(tmp_path, text), tmp_path, capsys) == 0


GIANT_MEMORY_BOUND = 256 * 2**20  # bytes allocated (tracemalloc peak) for one giant case


@pytest.mark.parametrize(
    "extra_top, extra_workload, expected",
    [
        ("k" * 2**18 + " = 1\n", "", 2),  # a 256 kB key
        ("", "kappa = " + json.dumps("x" * 2**18) + "\n", 2),  # a 256 kB bad value
        ("DESCRIBE", "", 0),  # 256 kB of free text runs
        ("", "priorities = [" + "1, " * 30000 + "]\n", 0),  # a long but valid array
        ("", "priorities = [" + "1, " * 30000 + '"x"]\n', 2),
    ],
    ids=["giant key", "giant bad value", "giant description", "long array", "long bad array"],
)
def test_fuzz_giant_values(extra_top, extra_workload, expected, tmp_path, capsys):
    import tracemalloc

    if extra_top == "DESCRIBE":
        path = _mmc_described(tmp_path, "d" * 2**18)
    else:
        path = _mmc_with(tmp_path, extra_top, extra_workload)
    tracemalloc.start()  # on validation only: tracing a whole run costs ten times its time
    try:
        code, _ = whole_or_nothing(["validate", path, *MMC_SHORT], None, capsys)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == expected
    assert _run_and_validate(path, tmp_path, capsys) == expected
    # the stated bound: a giant input never costs more than GIANT_MEMORY_BOUND to check
    assert peak < GIANT_MEMORY_BOUND, f"{peak / 2**20:.0f} MiB"


def test_fuzz_scenario_path_tricks(tmp_path, capsys):
    import os

    os.mkfifo(tmp_path / "fifo.toml")  # before: read_bytes blocked forever
    for path in (tmp_path / "fifo.toml", tmp_path, "/dev/zero", tmp_path / ("x" * 5000)):
        code, err = whole_or_nothing(["validate", path], None, capsys)
        assert code == 2 and "cannot read file" in err


# A handful through the console script, with a wall-clock timeout and an address-space limit: no
# traceback, no hang, and memory stays below the stated bound.
MEMORY_LIMIT = 3 * 2**30  # bytes of address space for one hybridsim process


def _limited():  # pragma: no cover - runs in the child
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.mark.parametrize(
    "sets",
    [
        ['cluster.qpu.q.gate_time_2q="1e10000000 s"'],
        ["workload.jobs=" + "[" * 5000 + "]" * 5000],
        ["workload.jobs=100000000"],
        ['cluster.qpu.q.calibration_period="2 zs"', 'cluster.qpu.q.calibration_duration="1 zs"'],
        ["workload.n=10000000", 'cluster.qpu.q.link_bandwidth="1 bps"'],
    ],
)
def test_fuzz_console_script_bounded(sets, tmp_path):
    import subprocess
    import sys

    args = [a for s in sets for a in ("--set", s)]
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "hybridsim.cli", "run", str(MMC), "--out", str(out), *args]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=300, preexec_fn=_limited, cwd=tmp_path
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and not out.exists()
