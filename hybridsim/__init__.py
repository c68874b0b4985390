"""hybridsim: a discrete-event simulator of hybrid quantum-classical clusters.

The public API is small and imported lazily so that ``import hybridsim`` stays fast::

    import hybridsim
    result = hybridsim.run("scenarios/quickstart.toml", seed=1)
    print(result.summary["makespan_s"])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hybridsim._lazy import lazy_attributes

__version__ = "0.1.0"

__all__ = ["run", "load_scenario", "sweep", "Scenario", "RunResult", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from hybridsim.api import run
    from hybridsim.results import RunResult
    from hybridsim.scenario import Scenario, load_scenario
    from hybridsim.sweep import sweep

_LAZY = {
    "run": "hybridsim.api",
    "load_scenario": "hybridsim.scenario",
    "Scenario": "hybridsim.scenario",
    "RunResult": "hybridsim.results",
    "sweep": "hybridsim.sweep",
}

# PEP 562 lazy attributes: simpy, scipy and friends load only when first used.
__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
