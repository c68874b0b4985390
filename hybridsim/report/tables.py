"""Tables of report pages as data: a header, rows of text cells, and which columns are numbers.

A :class:`Table` holds text only (values are formatted with :mod:`hybridsim.report.formats`
first); the page templates draw it (``macros.html.j2``, escaped there), numeric columns aligned
right. Run, comparison and sweep pages all build their tables here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

__all__ = ["Table", "table", "paired", "markdown"]


@dataclass(frozen=True, slots=True)
class Table:
    """A table of text cells.

    Attributes
    ----------
    header : tuple of str
    rows : tuple of tuple of str
    numeric : frozenset of int
        Indices of the columns aligned right (numbers).
    """

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: frozenset[int]

    def cells(self) -> Iterator[list[tuple[str, bool]]]:
        """Each row as (text, is numeric) pairs, for the template."""
        for row in self.rows:
            yield [(cell, i in self.numeric) for i, cell in enumerate(row)]

    def __len__(self) -> int:
        return len(self.rows)


def table(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    numeric: Iterable[int] | None = None,
) -> Table:
    """A :class:`Table`; cells become ``str``.

    Parameters
    ----------
    header : sequence of str
    rows : iterable of sequences
    numeric : iterable of int, optional
        The numeric columns. Default: every column but the first (a key column, then values).

    Examples
    --------
    >>> t = table(["key", "value"], [["a", 1]])
    >>> t.rows, sorted(t.numeric), list(t.cells())
    ((('a', '1'),), [1], [[('a', False), ('1', True)]])
    """
    head = tuple(header)
    cols = frozenset(numeric) if numeric is not None else frozenset(range(1, len(head)))
    return Table(head, tuple(tuple(str(c) for c in row) for row in rows), cols)


def paired(header: tuple[str, str], items: Sequence[tuple[str, str]], per_row: int) -> Table:
    """Key/value pairs laid out ``per_row`` pairs to a row: a dense table, not a long scroll.

    The values' columns are numeric; a last row that is short is padded with empty cells.

    Examples
    --------
    >>> t = paired(("key", "value"), [("a", "1"), ("b", "2"), ("c", "3")], 2)
    >>> t.header, t.rows, sorted(t.numeric)
    (('key', 'value', 'key', 'value'), (('a', '1', 'b', '2'), ('c', '3', '', '')), [1, 3])
    """
    rows = []
    for i in range(0, len(items), per_row):
        chunk = list(items[i : i + per_row])
        chunk += [("", "")] * (per_row - len(chunk))
        rows.append([c for kv in chunk for c in kv])
    return table(header * per_row, rows, numeric=range(1, 2 * per_row, 2))


def markdown(t: Table) -> str:
    """A :class:`Table` as a Markdown (GitHub) pipe table, numeric columns aligned right.

    A ``|`` inside a cell is escaped, and a line break becomes a space, so a cell cannot end its
    row early.

    Examples
    --------
    >>> print(markdown(table(["run", "time"], [["a|b", "1 s"]])))
    | run | time |
    |---|---:|
    | a\\|b | 1 s |
    """

    def cell(text: str) -> str:
        return " ".join(text.replace("|", "\\|").split())

    head = "| " + " | ".join(cell(h) for h in t.header) + " |"
    rule = "|" + "|".join("---:" if i in t.numeric else "---" for i in range(len(t.header))) + "|"
    rows = ["| " + " | ".join(cell(c) for c in row) + " |" for row in t.rows]
    return "\n".join([head, rule, *rows])
