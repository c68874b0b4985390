"""Start-up cost: ``import hybridsim``, ``hybridsim --help`` and reaching the run API.

Each subject is a fresh interpreter (what a user waits for), timed from the outside; the
baseline is a bare ``python -c pass`` measured in the same run, alternately with the subjects.
The ratios are what matter on a shared machine: the interpreter's own start-up (site, the
editable-install finder) is in every sample.

- ``import hybridsim``: the package is lazy (PEP 562), so this must cost little more than the
  interpreter (issue 17: the API took 2.3 s to import).
- ``hybridsim --help``: argparse and the sub-command parsers only; the sweep package, the
  simulator and matplotlib are imported when a command runs.
- ``hybridsim.run`` (attribute access): numpy, simpy, networkx and the model modules; scipy,
  scikit-learn and matplotlib stay out (the datasets are bundled, scipy.optimize is imported by
  the one calibration function that needs it).
"""

from __future__ import annotations

import shutil
import subprocess
import sys

from benchmarks.harness import Row, interleaved_medians

_PY = sys.executable


def _cli() -> list[str]:
    exe = shutil.which("hybridsim")
    return [exe] if exe else [_PY, "-m", "hybridsim.cli"]


def _runner(cmd: list[str]):
    def go() -> None:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

    return go


def heavy_modules() -> list[str]:
    """Third-party packages loaded by ``import hybridsim; hybridsim.run`` that a run's start-up
    should not need."""
    code = (
        "import sys, hybridsim; hybridsim.run; hybridsim.load_scenario\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'scipy', 'sklearn', 'matplotlib', 'qutip', 'dask', 'distributed', 'pandas'})))"
    )
    out = subprocess.run([_PY, "-c", code], check=True, capture_output=True, text=True)
    return out.stdout.split()


def run(quick: bool) -> list[Row]:
    repeats = 5 if quick else 15
    med = interleaved_medians(
        {
            "python": _runner([_PY, "-c", "pass"]),
            "import": _runner([_PY, "-c", "import hybridsim"]),
            "help": _runner([*_cli(), "--help"]),
            "api": _runner([_PY, "-c", "import hybridsim; hybridsim.run; hybridsim.load_scenario"]),
        },
        repeats,
    )
    heavy = heavy_modules()
    base = med["python"]
    note = f"median of {repeats}, fresh interpreter each; baseline: python -c pass"
    return [
        Row(
            "startup",
            "import hybridsim s",
            med["import"],
            base,
            "ratio <= 1.5",
            med["import"] <= 1.5 * base,
            note,
        ),
        Row(
            "startup",
            "hybridsim --help s",
            med["help"],
            base,
            "ratio <= 2",
            med["help"] <= 2 * base,
            note,
        ),
        Row(
            "startup",
            "import hybridsim; hybridsim.run s",
            med["api"],
            base,
            "no scipy/sklearn/matplotlib",
            not heavy,
            f"{note}; heavy modules loaded: {', '.join(heavy) or 'none'}",
        ),
    ]
