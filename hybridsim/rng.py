"""Named, independent random streams spawned from one root seed.

Every random source in a run (arrivals, service times, shots, data order, faults ...) draws from its
own :class:`numpy.random.Generator`, keyed by a stable name. Changing the scheduler, or adding a new
random source, therefore never shifts the numbers another source sees (common random numbers), and
the same root seed gives the same numbers in any process, on any machine, under any
``PYTHONHASHSEED``: the key is derived with SHA-256 of the name, not Python's ``hash``.

This module imports nothing of ours.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["stream", "Streams"]


def _name_key(name: str) -> tuple[int, ...]:
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    # Four 32-bit words: collisions between names are astronomically unlikely.
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


def stream(seed: int, name: str) -> np.random.Generator:
    """The Generator for stream ``name`` under root ``seed``.

    Parameters
    ----------
    seed : int
        Root seed of the run (any non-negative integer).
    name : str
        Stable name of the random source, e.g. ``"arrivals"`` or ``"shots/q0"``.

    Returns
    -------
    numpy.random.Generator
        A fresh PCG64 generator; calling again with the same arguments gives an identical one.

    Examples
    --------
    >>> a = stream(1, "arrivals").random()
    >>> a == stream(1, "arrivals").random() != stream(1, "service").random()
    True
    """
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    seq = np.random.SeedSequence(entropy=seed, spawn_key=_name_key(name))
    return np.random.Generator(np.random.PCG64(seq))


class Streams:
    """Lazily created named streams of one run.

    Each name is created once and then reused, so a source that draws repeatedly continues its
    own sequence. Holding this object is the only state; it belongs to one run.

    Parameters
    ----------
    seed : int
        Root seed of the run.
    """

    __slots__ = ("seed", "_cache")

    def __init__(self, seed: int):
        if seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed}")
        self.seed = seed
        self._cache: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        gen = self._cache.get(name)
        if gen is None:
            gen = self._cache[name] = stream(self.seed, name)
        return gen
