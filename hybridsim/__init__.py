"""hybridsim: a discrete-event simulator of hybrid quantum-classical clusters.

The public API is small and imported lazily so that ``import hybridsim`` stays fast::

    import hybridsim
    result = hybridsim.run("scenarios/quickstart.toml", seed=1)
    print(result.summary["makespan_s"])
    sweep = hybridsim.run_sweep("scenarios/sweep-demo.toml", out="runs/demo")

``hybridsim.sweep`` is the sweep package; the function that runs a sweep is ``run_sweep``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hybridsim._lazy import lazy_attributes

__version__ = "0.1.0"

__all__ = ["run", "load_scenario", "run_sweep", "Scenario", "RunResult", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from hybridsim.api import run
    from hybridsim.results import RunResult
    from hybridsim.scenario import Scenario, load_scenario
    from hybridsim.sweep.runner import run_sweep

_LAZY = {
    "run": "hybridsim.api",
    "load_scenario": "hybridsim.scenario",
    "Scenario": "hybridsim.scenario",
    "RunResult": "hybridsim.results",
    "run_sweep": "hybridsim.sweep.runner",
}

# PEP 562 lazy attributes: simpy, scipy and friends load only when first used.
_lazy_getattr, __dir__ = lazy_attributes(__name__, _LAZY, globals())


def __getattr__(name: str) -> Any:
    if name == "sweep":
        # Reached only while the sweep package is not imported (importing binds it here).
        # ``hybridsim.sweep(...)`` was the sweep function until issue 19: say where it went.
        raise AttributeError(
            "module 'hybridsim' has no attribute 'sweep': run a sweep with "
            "hybridsim.run_sweep(...); the package is hybridsim.sweep (import it first)",
            name=name,
            obj=None,
        )
    return _lazy_getattr(name)
