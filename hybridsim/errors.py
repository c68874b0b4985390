"""Exception hierarchy of hybridsim.

Every error a user can cause with bad input is a :class:`HybridSimError`; the CLI turns one into a
single ``error: ...`` line and exit code 2, never a traceback. Messages are made safe for a
terminal where they are formatted (here, once for every error path): control characters, bidi
overrides and other unprintable characters in echoed user text are shown as escapes (``\\x1b``,
``\\u202e``), whitespace runs collapse to one space, and very long parts are shortened. This module
imports nothing of ours.
"""

from __future__ import annotations

__all__ = [
    "HybridSimError",
    "ScenarioError",
    "ScenarioWarning",
    "SolverError",
    "ModelDomainError",
    "OutputError",
    "safe_text",
]

#: Longest message part (file, key path, problem) shown in full; longer ones keep head and tail.
_PART_LIMIT = 300


def _escape(c: str) -> str:
    code = ord(c)
    named = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
    if c in named:
        return named[c]
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def safe_text(text: str, limit: int | None = _PART_LIMIT) -> str:
    r"""``text`` made safe to print on one terminal line.

    Unprintable characters (ASCII controls such as ESC and NUL, C1 controls, bidi overrides,
    zero-width and line/paragraph separators: everything :meth:`str.isprintable` rejects except the
    plain space) become backslash escapes, and text longer than ``limit`` keeps its head and tail
    around ``...``.

    Examples
    --------
    >>> print(safe_text("q\n\x1b[31m\u202e\x00"))
    q\n\x1b[31m\u202e\x00
    """
    if limit is not None and len(text) > limit:
        keep = max(limit - 5, 2)
        text = text[: keep * 2 // 3] + " ... " + text[-(keep - keep * 2 // 3) :]
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


class HybridSimError(Exception):
    """Base class of all errors raised deliberately by hybridsim.

    ``str()`` of any of them is one safe line (see :func:`safe_text`), whatever the arguments.
    """

    def __str__(self) -> str:
        return safe_text(super().__str__() or type(self).__name__, limit=1000)


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

    Notes
    -----
    ``args`` are the four parameters, so the error survives being rebuilt as ``type(e)(*e.args)``
    (SimPy does this when a process fails) and pickling (process pools, Dask) with its message.

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
        super().__init__(file, key, problem, expected)

    def __str__(self) -> str:
        return self._message()

    def _message(self) -> str:
        # Each part is escaped and shortened on its own, so a giant key or value cannot push the
        # file name or the "(expected ...)" hint out of the line. Nothing is collapsed: a newline
        # or ESC in a name shows as \n or \x1b, so "q\n" and "q" never look alike.
        def part(text: object) -> str:
            return safe_text(str(text))

        parts = [part(self.file)]
        if self.key:
            parts.append(part(self.key))
        text = ": ".join(parts) + ": " + part(self.problem)
        if self.expected:
            text += f" (expected {part(self.expected)})"
        return text


class ScenarioWarning(UserWarning):
    """A scenario value that is valid but probably not what was meant (e.g. a unit slip).

    Raised through :mod:`warnings` (library code never prints); the CLI shows each as one
    ``warning: FILE: key.path: ...`` line on stderr.
    """

    def __init__(self, file: str, key: str, problem: str):
        self.file = file
        self.key = key
        self.problem = problem
        super().__init__(file, key, problem)

    def __str__(self) -> str:
        return str(ScenarioError(self.file, self.key, self.problem))


class SolverError(HybridSimError):
    """A numeric or quantum solve could not be carried out (e.g. an indefinite matrix for HHL)."""


class ModelDomainError(HybridSimError, ValueError):
    """A cost or physics model was asked for a value outside the range where it is valid."""


class OutputError(HybridSimError):
    """A run's output files cannot be read back: a missing directory or file, or a malformed
    one (the message names the file, and the line and column of a bad cell)."""
