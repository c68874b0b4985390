"""Lazy public names for hybridsim's packages (PEP 562), written once.

A package that keeps its import cheap lists its public names with the module each one lives in,
and takes its module-level ``__getattr__`` and ``__dir__`` from :func:`lazy_attributes`::

    __all__ = ["hhl_solve", "NoiseModel"]
    _LAZY = {"hhl_solve": "hybridsim.quantum.hhl", "NoiseModel": "hybridsim.quantum.noise"}
    __getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())

The module behind a name is imported the first time the name is read (``from hybridsim.quantum
import hhl_solve`` included); ``dir()`` lists the lazy names with the package's own. Static type
checkers still need the names imported under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable, Mapping

__all__ = ["lazy_attributes"]


def lazy_attributes(
    package: str, names: Mapping[str, str], namespace: Mapping[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` whose ``names`` load on first use.

    Parameters
    ----------
    package : str
        The package's ``__name__`` (for error messages).
    names : mapping of str to str
        Public name → dotted module that defines it under the same name.
    namespace : mapping
        The package's ``globals()``; every lazy name must be listed in its ``__all__``.

    Returns
    -------
    (callable, callable)
        The package's ``__getattr__(name)`` and ``__dir__()``.

    Raises
    ------
    ImportError
        A lazy name missing from ``__all__`` (the two lists drifted apart).

    Examples
    --------
    >>> g = {"__all__": ["sqrt"]}
    >>> getattr_, dir_ = lazy_attributes("pkg", {"sqrt": "math"}, g)
    >>> getattr_("sqrt")(16.0), "sqrt" in dir_()
    (4.0, True)
    >>> getattr_("cbrt")
    Traceback (most recent call last):
    ...
    AttributeError: module 'pkg' has no attribute 'cbrt'
    """
    table = dict(names)
    exported = set(namespace.get("__all__", ()))
    if not set(table) <= exported:
        raise ImportError(
            f"{package}: lazy names missing from __all__: {sorted(set(table) - exported)}"
        )

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(table))

    return __getattr__, __dir__
