"""The network: a networkx graph of nodes and full-duplex links, and transfers over it.

Transfer model (documented in docs/background/simulation.md): a message of B bytes follows the
lowest-latency path. At each hop it waits until that link direction is free (first come, first
served), occupies it for the serialization time B / bandwidth, then travels the link's latency
before reaching the next node (store and forward). Latency does not occupy the link, so
concurrent transfers *queue* for bandwidth rather than share it; messages of zero bytes never
queue and take the sum of the latencies. Each direction of a link is its own queue.

Because links are FIFO and every service time is known when a message reaches a link, the queue
is exact with a single ``free_at`` instant per link direction, at one event per hop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from hybridsim.records import IntervalRecord, Recorder
from hybridsim.scenario import Scenario, device_names
from hybridsim.sim.clock import Clock
from hybridsim.timebase import TICKS_PER_SECOND

__all__ = ["LinkState", "build_graph", "Network"]


@dataclass(slots=True)
class LinkState:
    """One direction of a link: its constants and when it is next free (mutable sim state)."""

    src: str
    dst: str
    latency: int  # ticks
    bandwidth: float  # bytes/s
    free_at: int = 0
    up: bool = True
    name: str = field(init=False)
    blocked: list = field(default_factory=list)  # hops waiting for the link to come back
    faults: Any = None  # the link's OutageProcess, when links can fail
    touched_at: int = -1  # last instant a transfer reached this direction

    def __post_init__(self) -> None:
        self.name = f"link:{self.src}->{self.dst}"

    def serialization_ticks(self, nbytes: float) -> int:
        """Ticks to put ``nbytes`` on the wire (rounded up: a partial tick still occupies it)."""
        if nbytes <= 0:
            return 0
        # Exact integer ceiling of nbytes / bandwidth in ticks, computed in float seconds first
        # (bandwidth is a float) and rounded up so a transfer is never shorter than its bytes.
        ticks = nbytes * TICKS_PER_SECOND / self.bandwidth
        whole = int(ticks)
        return whole if whole == ticks else whole + 1


def build_graph(scenario: Scenario) -> nx.Graph:
    """The network graph of a scenario: nodes are the host, switches and devices.

    Edges carry ``latency`` (ticks) and ``bandwidth`` (bytes/s). In a custom topology a link to a
    group name stands for one link to each device of that group.
    """
    cluster, net = scenario.cluster, scenario.network
    g: nx.Graph = nx.Graph()
    g.add_node(cluster.host, kind="host")
    for grp in cluster.groups:
        for dev in device_names(grp):
            g.add_node(dev, kind=grp.kind, group=grp.name)
    if net.topology == "star":
        g.add_node(net.switch, kind="switch")
        g.add_edge(cluster.host, net.switch, latency=net.host_latency, bandwidth=net.host_bandwidth)
        for grp in cluster.groups:
            for dev in device_names(grp):
                g.add_edge(dev, net.switch, latency=grp.link_latency, bandwidth=grp.link_bandwidth)
        return g
    for node in net.nodes:
        g.add_node(node, kind="switch")
    groups = {grp.name: device_names(grp) for grp in cluster.groups}
    for link in net.links:
        for a in groups.get(link.a, [link.a]):
            for b in groups.get(link.b, [link.b]):
                g.add_edge(a, b, latency=link.latency, bandwidth=link.bandwidth)
    return g


class Network:
    """Live network state of one simulation run.

    Parameters
    ----------
    clock : Clock
        The run's clock (each hop that takes time is one :meth:`Clock.after` call).
    graph : networkx.Graph
        From :func:`build_graph`.
    recorder : Recorder
        Receives one :class:`IntervalRecord` per link occupancy (only transfers with bytes occupy
        a link).
    """

    __slots__ = ("env", "clock", "graph", "recorder", "_links", "_routes", "_latency", "fast_path")

    def __init__(self, clock: Clock, graph: nx.Graph, recorder: Recorder):
        self.env = clock.env
        self.clock = clock
        self.graph = graph
        self.recorder = recorder
        self._links: dict[tuple[str, str], LinkState] = {}
        self._routes: dict[tuple[str, str], tuple[LinkState, ...]] = {}
        self._latency: dict[tuple[str, str], int] = {}  # summed latency per cached route
        self.fast_path = True  # one event for zero-byte messages (off when links can fail)
        for a, b, data in graph.edges(data=True):
            for s, t in ((a, b), (b, a)):
                self._links[(s, t)] = LinkState(s, t, data["latency"], data["bandwidth"])

    def route(self, src: str, dst: str) -> tuple[LinkState, ...]:
        """Link directions on the lowest-latency path from ``src`` to ``dst`` (cached).

        Ties between equal-latency paths are broken by networkx's deterministic search order
        over the scenario's node order.

        Raises
        ------
        networkx.NetworkXNoPath
            If the nodes are not connected (the engine checks connectivity up front).
        """
        key = (src, dst)
        hops = self._routes.get(key)
        if hops is None:
            if src == dst:
                hops = ()
            else:
                path = nx.shortest_path(self.graph, src, dst, weight="latency")
                hops = tuple(self._links[(a, b)] for a, b in zip(path, path[1:], strict=False))
            self._routes[key] = hops
            self._latency[key] = sum(h.latency for h in hops)
        return hops

    def undirected_links(self) -> list[tuple[LinkState, LinkState]]:
        """Both directions of every link, in graph edge order."""
        return [(self._links[(a, b)], self._links[(b, a)]) for a, b in self.graph.edges()]

    def link_repaired(self, link: tuple[LinkState, ...]) -> None:
        """Resume the transfers that reached ``link`` while it was down, in arrival order.

        A transfer already on the wire when the link failed completes (only new hops wait):
        a simplification documented in docs/background/faults.md.
        """
        for direction in link:
            waiting, direction.blocked = direction.blocked, []
            for resume in waiting:
                resume()

    def uncontended_ticks(self, src: str, dst: str, nbytes: float) -> int:
        """Transfer time with every link free: sum of latencies and serialization times."""
        return sum(h.latency + h.serialization_ticks(nbytes) for h in self.route(src, dst))

    def transfer(
        self,
        src: str,
        dst: str,
        nbytes: float,
        done: Callable[[Any], None],
        job_id: int = -1,
        arg: Any = None,
    ) -> None:
        """Move ``nbytes`` from ``src`` to ``dst`` and call ``done(arg)`` on arrival.

        ``done(arg)`` is called synchronously when the message takes no time (same node, or
        zero bytes over zero latency): no event is spent on it. ``job_id`` labels the link
        intervals the transfer occupies.
        """
        key = (src, dst)
        hops = self._routes.get(key)
        if hops is None:
            hops = self.route(src, dst)
        if not hops:
            done(arg)
            return
        if nbytes <= 0 and self.fast_path:
            # Nothing occupies a link: one event for the whole path.
            delay = self._latency[key]
            if delay == 0:
                done(arg)
                return
            self.clock.after(delay, done, arg)
            return
        self._hop(hops, 0, nbytes, done, arg, job_id)

    def _hop(
        self,
        hops: tuple[LinkState, ...],
        i: int,
        nbytes: float,
        done: Callable[[Any], None],
        arg: Any,
        job_id: int,
    ) -> None:
        link = hops[i]
        if link.faults is not None:
            link.touched_at = self.env.now
            link.faults.observe()  # wake a dormant outage process: its state matters now
        if not link.up:
            # Down: wait, in arrival order, for the repair (see link_repaired).
            link.blocked.append(lambda: self._hop(hops, i, nbytes, done, arg, job_id))
            return
        now = self.env.now
        start = link.free_at if link.free_at > now else now
        end = start + link.serialization_ticks(nbytes)
        link.free_at = end
        if end > start:
            self.recorder.intervals.append(
                IntervalRecord(link.name, "transfer", start, end, job_id, f"{int(nbytes)} B")
            )
        arrive = end + link.latency
        last = i + 1 == len(hops)

        if last:
            if arrive == now:
                done(arg)
            else:
                self.clock.after(arrive - now, done, arg)
            return

        def on_arrival(_arg=None) -> None:
            self._hop(hops, i + 1, nbytes, done, arg, job_id)

        if arrive == now:
            on_arrival()
        else:
            self.clock.after(arrive - now, on_arrival)
