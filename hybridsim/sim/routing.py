"""Where a job goes: the scheduler's read-only view of the live pools, and the fixed routes of jobs
that name a pool.

A job that names a pool (``SolveJob.pool``: a kind, ``"gpu"``/``"qpu"``, or a group name) bypasses
the scheduler and joins the least loaded group it names (waiting plus running jobs per slot, ties
to file order). Every other job gets the scheduler's decision over a :class:`ClusterView`
snapshot of the pools at that instant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from hybridsim.scheduling.base import Decision, DeviceView, GroupHead, GroupView, SolveJob
from hybridsim.timebase import TICKS_PER_SECOND

if TYPE_CHECKING:  # pragma: no cover
    from hybridsim.sim.devices import Device, Pool

__all__ = ["ClusterView", "FixedRoutes", "group_view", "device_view"]


def device_view(dev: Device, now: int, exclude: frozenset[str] | set[str]) -> DeviceView:
    """The scheduler's snapshot of ``dev`` at ``now`` (devices in ``exclude`` shown as
    unavailable)."""
    pool = dev.pool
    return _new_tuple(
        DeviceView,
        (
            dev.name,
            pool.name,
            pool.kind,
            dev.capacity,
            dev.running,
            dev.available and dev.name not in exclude,
            len(dev.own._items),
            dev.backlog_ticks(now) / TICKS_PER_SECOND,
        ),
    )


def group_view(pool: Pool, now: int, exclude: frozenset[str] | set[str]) -> GroupView:
    """The scheduler's snapshot of ``pool`` at ``now``."""
    # Built at every decision for every device: the NamedTuples are made from plain tuples
    # (tuple.__new__, what their own constructor ends in, without its argument parsing) and
    # the device fields are read inline; the values are those of device_view.
    name, kind = pool.name, pool.kind
    new = _new_tuple
    devices = tuple(
        [
            new(
                DeviceView,
                (
                    dev.name,
                    name,
                    kind,
                    dev.capacity,
                    dev.running,
                    dev.up and not (dev.calibrating or dev.draining) and dev.name not in exclude,
                    len(dev.own._items),
                    dev.backlog_ticks(now) / TICKS_PER_SECOND,
                ),
            )
            for dev in pool.devices
        ]
    )
    queue = pool.queue
    return new(
        GroupView,
        (
            name,
            kind,
            pool.config,
            len(queue._items),
            queue.predicted_ticks / TICKS_PER_SECOND,
            devices,
        ),
    )


_new_tuple = tuple.__new__


class ClusterView:
    """The read-only :class:`~hybridsim.scheduling.base.ClusterView` over live pools.

    Parameters
    ----------
    now : callable
        The current instant in ticks.
    pools : mapping of str to Pool
        The live pools by group name, in file order.
    transfer_ticks : callable
        ``transfer_ticks(src, dst, nbytes)``: uncontended transfer time in ticks.
    exclude : set of str
        Devices shown as unavailable (the devices a job already failed on).
    """

    __slots__ = ("_now", "_pools", "_transfer_ticks", "_exclude", "_sole")

    def __init__(
        self,
        now: Callable[[], int],
        pools: Mapping[str, Pool],
        transfer_ticks: Callable[[str, str, float], int],
        exclude: frozenset[str] | set[str] = frozenset(),
    ):
        self._now = now
        self._pools = pools
        self._transfer_ticks = transfer_ticks
        self._exclude = exclude
        # kind -> (its only pool, that pool's GroupHead) for kinds with one group; made at the
        # first decision (the engine fills ``pools`` after making its view)
        self._sole: dict[str, tuple[Pool, GroupHead]] | None = None

    def excluding(self, devices: Iterable[str]) -> ClusterView:
        """The same view with ``devices`` shown as unavailable."""
        return ClusterView(self._now, self._pools, self._transfer_ticks, frozenset(devices))

    @property
    def now_s(self) -> float:
        return self._now() / TICKS_PER_SECOND

    def groups(self, kind: str | None = None) -> list[GroupView]:
        now = self._now()
        out = []
        for pool in self._pools.values():
            if kind is not None and pool.kind != kind:
                continue
            pool.observe()  # the scheduler reads availability: wake dormant fault processes
            out.append(group_view(pool, now, self._exclude))
        return out

    def sole_group(self, kind: str) -> GroupHead | None:
        """The only group of ``kind`` as a :class:`~hybridsim.scheduling.base.GroupHead` (its
        name, kind and configuration: no device snapshot built), observed as :meth:`groups`
        observes it; None when there are several groups of ``kind`` or none (nothing observed).

        The built-in policies' shortcut: with one group of a kind they route to it without
        reading its state, so building its snapshot at every decision would be wasted work.
        """
        if self._sole is None:
            by_kind: dict[str, list[Pool]] = {}
            for pool in self._pools.values():
                by_kind.setdefault(pool.kind, []).append(pool)
            self._sole = {
                k: (ps[0], GroupHead(ps[0].name, k, ps[0].config))
                for k, ps in by_kind.items()
                if len(ps) == 1
            }
        sole = self._sole.get(kind)
        if sole is None:
            return None
        sole[0].observe()
        return sole[1]

    def transfer_time_s(self, src: str, dst: str, nbytes: float) -> float:
        return self._transfer_ticks(src, dst, nbytes) / TICKS_PER_SECOND


class FixedRoutes:
    """Decisions for jobs that name a pool, and for jobs sent to one group (fallbacks).

    Decisions are frozen, so one shared instance per group serves every such job.

    Parameters
    ----------
    pools : mapping of str to Pool
        The live pools by group name, in file order.
    """

    __slots__ = ("_pools", "_decisions", "_candidates", "_only")

    def __init__(self, pools: Mapping[str, Pool]):
        self._pools = pools
        self._decisions: dict[str, Decision] = {}
        self._candidates: dict[str, list[Pool]] = {}
        self._only: dict[str, Decision] = {}  # names that match one group: its decision

    def to_group(self, group: str) -> Decision:
        """The fixed decision that sends a job to ``group``."""
        decision = self._decisions.get(group)
        if decision is None:
            kind = self._pools[group].kind
            decision = self._decisions[group] = Decision(
                route="quantum" if kind == "qpu" else "classical", group=group, policy="fixed"
            )
        return decision

    def decide(self, job: SolveJob) -> Decision:
        """The least loaded group of those ``job.pool`` names (ties go to file order)."""
        name: str = job.pool  # type: ignore[assignment]
        only = self._only.get(name)
        if only is not None:
            return only
        candidates = self._candidates.get(name)
        if candidates is None:
            candidates = self._candidates[name] = [
                p for p in self._pools.values() if name in (p.kind, p.name)
            ]
            if len(candidates) == 1:
                only = self._only[name] = self.to_group(candidates[0].name)
                return only
        return self.to_group(min(candidates, key=_load).name)

    def least_loaded(self, kind: str) -> Decision | None:
        """The fixed decision for the least loaded group of ``kind`` (None if there is none)."""
        pools = [p for p in self._pools.values() if p.kind == kind]
        if not pools:
            return None
        return self.to_group(min(pools, key=_load).name)


def _load(pool: Pool) -> float:
    return pool.load()
