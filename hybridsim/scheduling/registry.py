"""The scheduler registry: built-in policies listed here, user policies registered by name.

The built-in policies are the table :data:`BUILTIN` (imported, not discovered), so the names a
scenario may use are visible in one place. Users add their own with :func:`register_scheduler`;
inside :func:`scoped_registry` a registration lasts until the block ends, so a test or a script
can add a policy without leaking it into the rest of the process::

    with scoped_registry():
        register_scheduler("always_gpu")(AlwaysGpu)
        hybridsim.run(scenario, overrides=["scheduler.policy=always_gpu"])
    # "always_gpu" is unknown again here

Every registered factory conforms to :class:`~hybridsim.scheduling.base.SchedulerFactory`: it
declares ``needs`` and ``uses_estimate`` (read by the scenario check and the workload before any
job), and what it builds is a :class:`~hybridsim.scheduling.base.Scheduler`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

from hybridsim.scheduling import policies
from hybridsim.scheduling.base import Scheduler, SchedulerFactory

__all__ = [
    "BUILTIN",
    "DEVICE_KINDS",
    "register_scheduler",
    "scoped_registry",
    "scheduler_names",
    "scheduler_factory",
    "make_scheduler",
    "policy_needs",
    "registry_snapshot",
]

#: The built-in policies (docs/howto/add-a-scheduler.md lists what each does).
BUILTIN: Mapping[str, SchedulerFactory] = MappingProxyType(
    {
        "classical_only": policies.ClassicalOnly,
        "quantum_only": policies.QuantumOnly,
        "qnewton": policies.QNewton,
        "kappa_threshold": policies.KappaThreshold,
        "earliest_finish": policies.EarliestFinish,
        "oracle": policies.Oracle,
        "qnewton_free_kappa": policies.QNewtonFreeKappa,
    }
)

#: Device kinds a policy may declare in ``needs``.
DEVICE_KINDS = frozenset({"gpu", "qpu"})

# User registrations made outside any scope (the process-wide table), and the table of the
# innermost active scope. A ContextVar, like decimal's local contexts: a scope opened in one
# thread is invisible to the others.
_GLOBAL: dict[str, SchedulerFactory] = {}
_SCOPE: ContextVar[dict[str, SchedulerFactory] | None] = ContextVar(
    "hybridsim_scheduler_scope", default=None
)

#: Defaults filled in (with a DeprecationWarning) for policies written before the protocol
#: declared these members; from the next release a missing member is an error.
_LEGACY_DEFAULTS: Mapping[str, Any] = MappingProxyType(
    {"needs": frozenset(), "uses_estimate": True}
)


def _user_table() -> dict[str, SchedulerFactory]:
    scope = _SCOPE.get()
    return _GLOBAL if scope is None else scope


def _declare_defaults(
    obj: Any, defaults: Mapping[str, Any], name: str, what: str, stacklevel: int
) -> None:
    """Deprecation shim: give ``obj`` the protocol members it lacks (one release).

    ``stacklevel`` as for :func:`warnings.warn`, counted from this function's caller.
    """
    missing = {m: v for m, v in defaults.items() if not hasattr(obj, m)}
    if not missing:
        return
    said = ", ".join(f"{m!r} (assuming {v!r})" for m, v in missing.items())
    warnings.warn(
        f"scheduler {name!r}: {what} does not declare {said}, which the Scheduler protocol "
        "requires; declare them, or derive from hybridsim.scheduling.base.BaseScheduler",
        DeprecationWarning,
        stacklevel=stacklevel + 1,
    )
    for member, default in missing.items():
        try:
            setattr(obj, member, default)
        except (AttributeError, TypeError):
            raise TypeError(
                f"scheduler {name!r}: {what} has no {member!r} and cannot be given one"
            ) from None


def _check_factory(name: str, factory: Any, stacklevel: int) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"a scheduler name must be a non-empty string, got {name!r}")
    if not callable(factory):
        raise TypeError(f"scheduler {name!r}: the factory must be callable, got {factory!r}")
    what = getattr(factory, "__qualname__", repr(factory))
    _declare_defaults(factory, _LEGACY_DEFAULTS, name, what, stacklevel + 1)
    needs = factory.needs
    if not (isinstance(needs, frozenset | set | tuple | list) and set(needs) <= DEVICE_KINDS):
        raise TypeError(
            f"scheduler {name!r}: needs must be a frozenset of {sorted(DEVICE_KINDS)}, "
            f"got {needs!r}"
        )
    if not isinstance(factory.uses_estimate, bool):
        raise TypeError(
            f"scheduler {name!r}: uses_estimate must be True or False, "
            f"got {factory.uses_estimate!r}"
        )


def register_scheduler(
    name: str, factory: SchedulerFactory | None = None
) -> Callable[[SchedulerFactory], SchedulerFactory]:
    """Register a scheduler factory (usually a class) under ``name``.

    Used as a class decorator, or called with the factory. The registration goes to the
    innermost :func:`scoped_registry` block, or process-wide outside any. Registering a
    built-in name, or a name already registered to another factory, is an error (registering
    the same factory again is a no-op, so a script may be imported twice).

    Parameters
    ----------
    name : str
        The name scenarios use (``[scheduler] policy = "..."``).
    factory : SchedulerFactory, optional
        Called as ``factory(config=..., costs=...)``; declares ``needs`` and ``uses_estimate``.

    Returns
    -------
    callable
        The decorator (it returns the factory unchanged).

    Examples
    --------
    >>> from hybridsim.scheduling.base import BaseScheduler, Decision
    >>> with scoped_registry():
    ...     @register_scheduler("first_gpu_doc_example")
    ...     class FirstGpu(BaseScheduler):
    ...         name = "first_gpu_doc_example"
    ...         needs = frozenset({"gpu"})
    ...         uses_estimate = False
    ...         def decide(self, job, view):
    ...             return Decision("classical", view.groups("gpu")[0].name, policy=self.name)
    ...     print("first_gpu_doc_example" in scheduler_names())
    True
    >>> "first_gpu_doc_example" in scheduler_names()
    False
    """

    def deco(f: SchedulerFactory) -> SchedulerFactory:
        return _register(name, f, stacklevel=2)

    if factory is not None:
        _register(name, factory, stacklevel=2)
    return deco


def _register(name: str, factory: SchedulerFactory, stacklevel: int) -> SchedulerFactory:
    table = _user_table()
    if name in BUILTIN and BUILTIN[name] is not factory:
        raise ValueError(f"scheduler {name!r} is a built-in policy")
    if name in table and table[name] is not factory:
        raise ValueError(f"scheduler {name!r} is already registered")
    _check_factory(name, factory, stacklevel + 1)
    table[name] = factory
    return factory


@contextmanager
def scoped_registry(
    schedulers: Mapping[str, SchedulerFactory] | None = None,
) -> Iterator[None]:
    """A block whose registrations are forgotten when it ends.

    Inside, every name registered before (process-wide or by an enclosing scope) stays visible,
    and :func:`register_scheduler` adds to this block's own table; on exit (normal or by an
    exception) the previous table is back, untouched. Scopes nest.

    Parameters
    ----------
    schedulers : mapping of name to factory, optional
        Registered on entry, as with :func:`register_scheduler`.

    Examples
    --------
    >>> from hybridsim.scheduling.policies import QNewton
    >>> class Cautious(QNewton):
    ...     name = "cautious"
    >>> with scoped_registry({"cautious": Cautious}):
    ...     "cautious" in scheduler_names()
    True
    >>> "cautious" in scheduler_names()
    False
    """
    token = _SCOPE.set(dict(_user_table()))
    try:
        for name, factory in (schedulers or {}).items():
            register_scheduler(name, factory)
        yield
    finally:
        _SCOPE.reset(token)


def _visible() -> dict[str, SchedulerFactory]:
    return {**BUILTIN, **_user_table()}


def scheduler_names() -> tuple[str, ...]:
    """Names of all visible schedulers (built-in policies included), sorted."""
    return tuple(sorted(_visible()))


def scheduler_factory(name: str) -> SchedulerFactory:
    """The factory registered as ``name``.

    Raises
    ------
    KeyError
        Unknown name (the message lists the known ones).
    """
    visible = _visible()
    try:
        return visible[name]
    except KeyError:
        raise KeyError(f"unknown scheduler {name!r}; known: {', '.join(sorted(visible))}") from None


def make_scheduler(name: str, **kwargs: Any) -> Scheduler:
    """Instantiate the scheduler registered as ``name`` (``kwargs``: ``config``, ``costs``).

    Raises
    ------
    KeyError
        Unknown name.
    TypeError
        What the factory built is not a :class:`~hybridsim.scheduling.base.Scheduler`.
    """
    factory = scheduler_factory(name)
    scheduler = factory(**kwargs)
    if not isinstance(scheduler, Scheduler):
        if not callable(getattr(scheduler, "decide", None)):
            raise TypeError(f"scheduler {name!r}: {scheduler!r} has no decide(job, view) method")
        defaults = {"name": name, "needs": factory.needs, "uses_estimate": factory.uses_estimate}
        what = f"the object its factory built, {scheduler!r},"
        _declare_defaults(scheduler, defaults, name, what, stacklevel=2)
    return scheduler


def policy_needs(name: str) -> frozenset[str]:
    """Device kinds (``"gpu"``, ``"qpu"``) the policy ``name`` routes to (empty if unknown)."""
    factory = _visible().get(name)
    return frozenset() if factory is None else frozenset(factory.needs)


def registry_snapshot() -> Mapping[str, SchedulerFactory]:
    """A read-only copy of the visible registry (for docs and tests)."""
    return MappingProxyType(_visible())
