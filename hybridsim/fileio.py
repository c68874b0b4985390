"""Writing files whole or not at all (report pages, sweep tables: any single output file).

Each file is written under a temporary name in its own directory and renamed into place, so a
reader (a browser reloading report.html, a viewer opening trace.json, a script reading
results.csv) never sees half a file and a failed write leaves the previous one intact. The
temporary name is unpredictable (``.NAME.<16 hex>.tmp``) and created with
``O_CREAT | O_EXCL | O_NOFOLLOW``: an existing entry of that name, a planted symlink included, is
never opened or followed, and the final rename replaces a symlink at ``NAME`` itself rather than
writing through it. The file gets the user's normal permissions (``0o666`` less the umask;
``mkstemp`` would make it private).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["atomic_open", "write_bytes", "write_text", "remove_temp_files"]

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
_FLAGS |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _create_temp(path: Path) -> tuple[Path, int]:
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        try:
            return tmp, os.open(tmp, _FLAGS, 0o666)
        except FileExistsError:  # pragma: no cover - 64 random bits collided
            continue


@contextmanager
def atomic_open(path: Path, mode: str = "w") -> Iterator[IO]:
    """Open a fresh temporary sibling of ``path`` for writing; rename it to ``path`` on success."""
    path = Path(path)
    tmp, fd = _create_temp(path)
    text = "b" not in mode
    try:
        encoding, newline = ("utf-8", "\n") if text else (None, None)
        with open(fd, mode, encoding=encoding, newline=newline) as fh:
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


def remove_temp_files(directory: Path, names: Iterable[str]) -> list[Path]:
    """Remove the temporary files that killed writes of ``names`` left in ``directory``: this
    module's ``.NAME.<16 hex>.tmp`` and the ``.NAME.<pid>.tmp`` of earlier versions. Only
    regular files and symlinks are removed (a symlink itself, never its target)."""
    removed: list[Path] = []
    patterns = [re.compile(rf"\.{re.escape(n)}\.(?:[0-9a-f]{{16}}|\d+)\.tmp\Z") for n in names]
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        if any(p.match(entry.name) for p in patterns) and not entry.is_dir(follow_symlinks=False):
            try:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            except FileNotFoundError:
                pass
    return removed
