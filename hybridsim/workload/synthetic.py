"""Synthetic workloads with explicit inter-arrival and service times (engine validation).

No cost model is involved: each job carries its service time, so the queueing engine can be checked
against queueing theory (M/M/c against Erlang C) and against hand-computed event logs.

Inter-arrival times, service times and priorities come from three separate named streams, so e.g.
changing the service distribution leaves the arrival instants unchanged (common random numbers).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from hybridsim.costs.classical import solve_payload_bytes, solve_result_bytes
from hybridsim.rng import Streams
from hybridsim.scenario import (
    DeterministicDist,
    Distribution,
    ExponentialDist,
    LognormalDist,
    ModelDist,
    SyntheticWorkload,
    TraceDist,
)
from hybridsim.scheduling.base import SolveJob
from hybridsim.timebase import TICKS_PER_SECOND

__all__ = ["sample_ticks", "synthetic_jobs", "payload_bytes", "result_bytes"]

_CHUNK = 65536  # draw samples in blocks: vectorized, yet O(chunk) memory for 10**6 jobs


def payload_bytes(n: int, d: int) -> int:
    """Bytes a job moves to its device: an n×n matrix with row sparsity d, dense (N²·8) or
    sparse (N·d·(8+4)) whichever is smaller, plus the right-hand side (N·8).

    The one definition, :func:`hybridsim.costs.classical.solve_payload_bytes`, which the
    break-even helpers use too.
    """
    return int(solve_payload_bytes(n, d))


def result_bytes(n: int) -> int:
    """Bytes of a solution vector of length n (float64):
    :func:`hybridsim.costs.classical.solve_result_bytes`."""
    return int(solve_result_bytes(n))


def sample_ticks(dist: Distribution, count: int, rng: np.random.Generator) -> Iterator[int]:
    """``count`` durations in ticks drawn from ``dist``, as an iterator.

    Parameters
    ----------
    dist : Distribution
        A scenario distribution (durations inside it are already ticks).
    count : int
        Number of samples.
    rng : numpy.random.Generator
        The stream to draw from (unused for deterministic and trace distributions).

    Notes
    -----
    Random samples are drawn as float seconds and rounded to the nearest tick; the lognormal's
    log-mean is set so the distribution's mean is ``mean_s``: mu = ln(mean) - sigma²/2. They
    are drawn in blocks of ``_CHUNK`` as the iterator is read (the first block at the first
    sample), and handed out by C iterators (``map``, ``chain``): a generator step per sample was
    a measurable share of a synthetic run.
    """
    if isinstance(dist, DeterministicDist):
        value = dist.value_s if dist.value_s is not None else dist.interval_s
        assert value is not None  # the schema requires exactly one of them
        return itertools.repeat(value, count)
    if isinstance(dist, TraceDist):
        return iter(dist.values_s[:count])
    if isinstance(dist, ExponentialDist):
        if dist.mean_s is not None:
            mean_s = dist.mean_s / TICKS_PER_SECOND
        else:
            assert dist.rate_per_s is not None  # the schema requires exactly one of them
            mean_s = 1 / dist.rate_per_s

        def draw(k: int) -> np.ndarray:
            return rng.exponential(mean_s, size=k)

    elif isinstance(dist, LognormalDist):
        mean_s = dist.mean_s / TICKS_PER_SECOND
        mu = np.log(mean_s) - dist.sigma**2 / 2

        def draw(k: int) -> np.ndarray:
            return rng.lognormal(mu, dist.sigma, size=k)

    else:  # pragma: no cover - ModelDist is handled by the caller; the schema admits no other
        raise TypeError(f"unknown distribution {dist!r}")

    def blocks() -> Iterator[Iterator[int]]:
        left = count
        while left > 0:
            k = min(left, _CHUNK)
            # float seconds -> ticks: multiply in float, round to int (exact integers after)
            yield map(round, (draw(k) * float(TICKS_PER_SECOND)).tolist())
            left -= k

    return itertools.chain.from_iterable(blocks())


def synthetic_jobs(
    wl: SyntheticWorkload, streams: Streams, origin: str
) -> Iterator[tuple[int, SolveJob]]:
    """The ``(inter-arrival ticks, job)`` pairs of a synthetic workload, as an iterator.

    Parameters
    ----------
    wl : SyntheticWorkload
    streams : Streams
        The run's named random streams (``arrivals``, ``service``, ``priority`` are used).
    origin : str
        Network node the jobs come from (the cluster's host).
    """
    gaps = sample_ticks(wl.arrival, wl.jobs, streams["arrivals"])
    # repeat(), not a list: a constant column must not cost 8 bytes per job of a 10**7-job run
    if isinstance(wl.service, ModelDist):
        services: Iterator[int | None] = itertools.repeat(None, wl.jobs)  # the cost model's
    else:
        services = sample_ticks(wl.service, wl.jobs, streams["service"])
    if len(wl.priorities) == 1:
        priorities: Iterator[int] = itertools.repeat(wl.priorities[0], wl.jobs)
    else:
        idx = streams["priority"].integers(0, len(wl.priorities), size=wl.jobs)
        priorities = iter(np.asarray(wl.priorities)[idx].tolist())
    n = wl.n
    d = wl.d if wl.d is not None else n
    same = itertools.repeat
    jobs = map(
        SolveJob,  # positionally: the first 14 of scheduling.base.SOLVE_JOB_FIELDS, in order
        range(wl.jobs),  # job_id
        same(n),
        same(d),
        same(0),  # tenant
        same(-1),  # step
        same(""),  # block
        priorities,
        same(origin),
        same(payload_bytes(n, d)),
        same(result_bytes(n)),
        services,  # service_ticks
        same(wl.pool),
        same(wl.kappa),  # kappa_est
        same(wl.kappa),  # kappa_true
    )
    return zip(gaps, jobs, strict=True)
