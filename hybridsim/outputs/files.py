"""Files of a run directory: names, deterministic gzip, CSV writers that stay open across chunks,
and readers that do not depend on where the file is now.

Compression. A CSV is written plain (``jobs.csv``) or gzip-compressed (``jobs.csv.gz``, with
``output.compress = true``). The gzip stream is deterministic: no file name and modification
time 0 in its header, compression level :data:`GZIP_LEVEL`, so the same rows give the same bytes
(for the same zlib), however the rows were split into writes.

Readers hold an open file descriptor, not a path, and read it with ``os.pread`` from their own
offset: a lazy sequence of records keeps working after its directory was swapped into place
(:func:`hybridsim.outdir.replacing` renames it) or its private spill directory was removed, and
two iterations over one file never disturb each other.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from hybridsim.errors import OutputError

__all__ = [
    "GZIP_LEVEL",
    "GZ",
    "csv_name",
    "find",
    "CsvSink",
    "Stored",
    "open_stored",
    "gzip_writer",
    "csv_rows",
]

#: zlib level of every gzip file hybridsim writes (zlib's and gzip(1)'s default: a third of
#: level 9's time for 1-2 % larger files).
GZIP_LEVEL = 6
#: Suffix of compressed files.
GZ = ".gz"


def csv_name(name: str, compress: bool) -> str:
    """``jobs.csv`` or ``jobs.csv.gz``."""
    return name + GZ if compress else name


def find(directory: Path, name: str) -> Path | None:
    """``directory/name`` or, if only that exists, ``directory/name.gz``; None if neither."""
    plain = directory / name
    if plain.is_file():
        return plain
    packed = directory / (name + GZ)
    return packed if packed.is_file() else None


def gzip_writer(raw: IO[bytes]) -> gzip.GzipFile:
    """A deterministic gzip stream over ``raw`` (no name, mtime 0, :data:`GZIP_LEVEL`); closing
    it writes the trailer but leaves ``raw`` open."""
    return gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=GZIP_LEVEL)


class CsvSink:
    """A CSV file written in chunks: the header when opened, rows as they come, the gzip trailer
    (if compressed) when closed.

    Parameters
    ----------
    path : Path
        Where to write (created; an existing file is replaced).
    header : sequence of str
    compress : bool
        Write a gzip stream.
    """

    def __init__(self, path: Path, header: Iterable[str], compress: bool):
        self.path = Path(path)
        self._raw = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        self._gz = gzip_writer(self._raw) if compress else None
        self._text = io.TextIOWrapper(
            self._gz if self._gz is not None else self._raw,
            encoding="utf-8",
            newline="",
            write_through=False,
        )
        self._writer = csv.writer(self._text, lineterminator="\n")
        self._writer.writerow(header)

    def write(self, rows: Iterable[Iterable[Any]]) -> None:
        """Append rows (each an iterable of cells)."""
        self._writer.writerows(rows)

    def close(self) -> None:
        """Flush everything and close the file (idempotent)."""
        if self._raw.closed:
            return
        try:
            self._text.flush()
            self._text.detach()
            if self._gz is not None:
                self._gz.close()
        finally:
            self._raw.close()

    def abandon(self) -> None:
        """Close without caring about the content (an aborted run)."""
        with contextlib.suppress(OSError):  # the file is being thrown away
            self.close()


class _PRead(io.RawIOBase):
    """Raw reader over a file descriptor at its own offset (``os.pread``)."""

    def __init__(self, fd: int):
        self._fd = fd
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = os.pread(self._fd, len(buffer), self._pos)
        n = len(data)
        buffer[:n] = data
        self._pos += n
        return n


class Stored:
    """One finished output file held open: read it any number of times, wherever it is now.

    Parameters
    ----------
    path : Path
        Where the file was when it was opened (for messages, and to tell whether a target is the
        same file).
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.compressed = self.path.name.endswith(GZ)
        flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
        try:
            self._fd: int | None = os.open(self.path, flags)
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot read: {exc.strerror}") from None
        self._pread = hasattr(os, "pread")
        st = os.fstat(self._fd)
        self.identity = (st.st_dev, st.st_ino)

    def __del__(self) -> None:
        self.close()

    def close(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            self._fd = None
            with contextlib.suppress(OSError):  # already closed
                os.close(fd)

    def binary(self) -> IO[bytes]:
        """A fresh binary stream over the file's bytes as stored (compressed or not)."""
        if self._pread:
            assert self._fd is not None, "binary() after close()"
            return io.BufferedReader(_PRead(self._fd), buffer_size=1 << 20)
        return open(self.path, "rb")  # pragma: no cover - systems without os.pread

    def text(self) -> IO[str]:
        """A fresh text stream over the file's content (decompressed)."""
        raw: IO[bytes] = self.binary()
        if self.compressed:
            raw = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
        return io.TextIOWrapper(raw, encoding="utf-8", newline="")

    def is_file(self, path: Path) -> bool:
        """Whether ``path`` names this very file."""
        try:
            st = os.stat(path)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == self.identity

    def copy_to(self, path: Path, compress: bool) -> None:
        """Write the file's content to ``path``, compressed or not (byte copy when the form is
        the same)."""
        with self.binary() as src, open(path, "wb") as dst:
            if compress == self.compressed:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
                return
            if compress:
                with gzip_writer(dst) as gz:
                    while chunk := src.read(1 << 20):
                        gz.write(chunk)
                return
            with gzip.GzipFile(fileobj=src, mode="rb") as gz:
                while chunk := gz.read(1 << 20):
                    dst.write(chunk)

    def __repr__(self) -> str:
        return f"Stored({str(self.path)!r})"


def open_stored(path: Path) -> Stored:
    """Open a finished file for reading (see :class:`Stored`)."""
    return Stored(path)


def csv_rows(stored: Stored, where: str) -> Iterator[list[str]]:
    """The rows of a stored CSV (header first), reading errors as :class:`OutputError`."""
    try:
        with stored.text() as fh:
            yield from csv.reader(fh)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error, gzip.BadGzipFile) as exc:
        raise OutputError(f"{where}: cannot read: {exc}") from exc
