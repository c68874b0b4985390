"""Writing report files whole or not at all.

Each file is written under a temporary name in its own directory and renamed into place, so a
reader (a browser reloading report.html, a viewer opening trace.json) never sees half a file and a
failed report leaves the previous one intact. The temporary file is created with ``open`` so it
gets the user's normal permissions (``mkstemp`` would make it private).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["atomic_open", "write_bytes", "write_text"]


@contextmanager
def atomic_open(path: Path, mode: str = "w") -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; rename it to ``path`` on success."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    kwargs = {} if "b" in mode else {"encoding": "utf-8", "newline": "\n"}
    try:
        with open(tmp, mode, **kwargs) as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def write_text(path: Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (``\\n`` line ends) and return the path."""
    with atomic_open(path, "w") as fh:
        fh.write(text)
    return Path(path)
