"""Deprecated (one release): the sweep's executors are run backends, in
:mod:`hybridsim.sweep.backends`.

``Executor`` → ``RunBackend``, ``SerialExecutor`` → ``SerialBackend``, ``PoolExecutor`` →
``PoolBackend``, ``DaskExecutor`` → ``DaskBackend``, ``ExecutorLost`` → ``BackendLost``,
``make_executor`` → ``make_backend``; ``usable_cores`` moved unchanged. Each old name is the new
object (``except ExecutorLost`` still catches), read with a ``DeprecationWarning``.
"""

from __future__ import annotations

from typing import Any

__all__: list[str] = []

_MOVED = {
    "Executor": "RunBackend",
    "SerialExecutor": "SerialBackend",
    "PoolExecutor": "PoolBackend",
    "DaskExecutor": "DaskBackend",
    "ExecutorLost": "BackendLost",
    "make_executor": "make_backend",
    "usable_cores": "usable_cores",
}


def __getattr__(name: str) -> Any:
    new = _MOVED.get(name)
    if new is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import warnings

    from hybridsim.sweep import backends

    warnings.warn(
        f"hybridsim.sweep.executors.{name} is deprecated; use hybridsim.sweep.backends.{new}",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(backends, new)
