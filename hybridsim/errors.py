"""Exception hierarchy of hybridsim.

Every error a user can cause with bad input is a :class:`HybridSimError`; the CLI turns one into a
single ``error: ...`` line and exit code 2, never a traceback. This module imports nothing of ours.
"""

from __future__ import annotations

__all__ = ["HybridSimError", "ScenarioError", "SolverError", "ModelDomainError"]


class HybridSimError(Exception):
    """Base class of all errors raised deliberately by hybridsim."""


class ScenarioError(HybridSimError):
    """Invalid scenario or sweep input, located by file and key path.

    Parameters
    ----------
    file : str
        The file the bad value came from (``"<dict>"`` for in-memory scenarios, ``"--set"`` for
        command-line overrides).
    key : str
        Dotted key path inside the file, e.g. ``"cluster.qpu.q.gate_time_2q"``; empty for problems
        with the whole file.
    problem : str
        What is wrong.
    expected : str, optional
        What would have been accepted.

    Examples
    --------
    >>> str(ScenarioError("s.toml", "cluster.gpu.count", "must be >= 1, got 0", "an integer >= 1"))
    's.toml: cluster.gpu.count: must be >= 1, got 0 (expected an integer >= 1)'
    """

    def __init__(self, file: str, key: str, problem: str, expected: str | None = None):
        self.file = file
        self.key = key
        self.problem = problem
        self.expected = expected
        super().__init__(self._message())

    def _message(self) -> str:
        parts = [self.file]
        if self.key:
            parts.append(self.key)
        text = ": ".join(parts) + ": " + self.problem
        if self.expected:
            text += f" (expected {self.expected})"
        # One line, always: the CLI contract is a single error line.
        return " ".join(text.split())


class SolverError(HybridSimError):
    """A numeric or quantum solve could not be carried out (e.g. an indefinite matrix for HHL)."""


class ModelDomainError(HybridSimError, ValueError):
    """A cost or physics model was asked for a value outside the range where it is valid."""
