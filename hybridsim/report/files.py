"""Report files: written whole or not at all (:mod:`hybridsim.fileio`), and linked safely.

The writers live in :mod:`hybridsim.fileio`, shared with every other single-file output (sweep
tables); this module re-exports them for the report code and adds the links between pages.
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

from hybridsim.fileio import atomic_open, remove_temp_files, write_bytes, write_text

__all__ = ["atomic_open", "write_bytes", "write_text", "local_href", "remove_temp_files"]


def local_href(target: Path, base: Path) -> str | None:
    """A link from a page in ``base`` to ``target``: a relative, percent-encoded path.

    Every character outside ``[A-Za-z0-9_.~/-]`` is encoded, so a directory named
    ``javascript:alert(1)`` becomes the relative ``javascript%3Aalert%281%29/...`` (no URL
    scheme can survive), and spaces, ``#`` and ``?`` stay part of the path. None when no
    relative path exists (another drive on Windows).
    """
    try:
        rel = os.path.relpath(target, base)
    except ValueError:
        return None
    return urllib.parse.quote(Path(rel).as_posix(), safe="/")
