"""Output directories: where ``run``, ``report`` and ``sweep`` may write, and writing them whole.

The contract (docs/reference/cli.md, "Output directories"):

* A path is checked before any work: ``''``, an existing file, a path under a file, the current
  directory (for a replacement), a sweep's directory (for a run) give one
  :class:`~hybridsim.errors.HybridSimError` line, and nothing is written.
* A run directory is written whole or not at all: :func:`replacing` stages the new files in a
  fresh sibling directory (``.NAME.<random>.tmp``, created with ``mkdir`` so an existing entry of
  that name, a planted symlink included, is never reused) and swaps it with the target in one
  ``renameat2(RENAME_EXCHANGE)`` where the kernel has it (Linux), else in two renames. A kill at
  any moment leaves the old complete directory or the new complete one, never a mix; the next
  write into the same place removes what a killed one left.
* One writer per directory: :class:`DirLock` is an exclusive ``lockf`` lock on
  ``DIR/.hybridsim.lock``, shared by runs, reports and sweeps. The kernel drops it when its
  process dies (even by SIGKILL); the file is removed when the writer finishes.

Nothing here imports the rest of the package except :mod:`hybridsim.errors`, so the sweep store
can use it.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import os
import re
import secrets
import shutil
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from hybridsim.errors import HybridSimError

__all__ = [
    "LOCK_NAME",
    "RUN_FILES",
    "SWEEP_DB",
    "DirLock",
    "Target",
    "inspect",
    "check_replace",
    "replacing",
    "writing_into",
    "safe_name",
    "remove_leftovers",
]

#: The lock file every writer of a directory holds while it writes.
LOCK_NAME = ".hybridsim.lock"
#: A sweep's results database; equal to ``hybridsim.sweep.store.DB_NAME`` (not imported from
#: there: the store imports this module).
SWEEP_DB = "results.sqlite"
#: Files a run directory may hold (written by ``RunResult.write`` and by the report).
RUN_FILES = frozenset(
    {
        "summary.json",
        "jobs.csv",
        "intervals.csv",
        "queues.csv",
        "steps.csv",
        # output.compress = true (and traces past a size): gzip-compressed forms
        "jobs.csv.gz",
        "intervals.csv.gz",
        "queues.csv.gz",
        "steps.csv.gz",
        "scenario.toml",
        "report.html",
        "timeline.png",
        "trace.json",
        "trace.json.gz",
        "comparison.html",
    }
)
# Hidden entries a directory may hold that are ours and carry no result: the lock, the lock of
# sweeps of earlier versions, and the temporary files of interrupted atomic writes.
_LEGACY_SWEEP_LOCK = ".sweep.lock"
_TMP_FILE = re.compile(r"\..+\.(?:[0-9a-f]{16}|\d+)\.tmp\Z")
# Staging directories: ".<prefix>.<16 hex>.tmp"; before this module, RunResult.write used
# tempfile.mkdtemp(prefix=".<name>.") (8 characters of [a-z0-9_]).
_STAGE_TAIL = re.compile(r"[0-9a-f]{16}\.tmp\Z")
_LEGACY_TAIL = re.compile(r"[a-z0-9_]{8}\Z")


def _busy(shown: object, fd: int | None) -> HybridSimError:
    holder = ""
    if fd is not None:
        # the holder wrote "<what> <pid>" into the file (see DirLock.acquire)
        with contextlib.suppress(OSError):
            holder = os.pread(fd, 64, 0).decode("ascii", "replace")
    what, _, pid = holder.strip().partition(" ")
    if what in _WRITERS and pid.isdigit():
        who, pid = f"another {what}", f" (pid {pid})"
    else:
        who, pid = "another hybridsim process", ""
    return HybridSimError(
        f"{shown}: {who} is writing to this directory{pid}; wait for it or choose another --out"
    )


_WRITERS = ("run", "report", "sweep")


class DirLock:
    """An exclusive POSIX record lock on ``DIRECTORY/.hybridsim.lock`` while a process writes there.

    Record locks (``lockf``) belong to the process: forked pool workers do not inherit them, and
    the kernel drops them when the process dies, even by SIGKILL, so a killed writer never leaves
    a stale lock (at most the empty file, which the next writer takes over and removes).

    The file is opened with ``O_NOFOLLOW``: a symlink planted under its name is refused, and its
    target is never created or opened. Removing the file on release is safe because every
    acquirer checks, once it holds the lock, that the name still refers to the file it locked
    (else it tries again on the new file).

    Parameters
    ----------
    directory : Path
        The directory to lock (must exist).
    shown : str, optional
        The directory as the user wrote it, for messages.
    what : {"run", "report", "sweep"}
        Who writes: recorded in the file with the process id, so a refused writer can say who
        holds the directory.
    """

    def __init__(self, directory: str | Path, shown: object = None, what: str = "run"):
        self.path = Path(directory) / LOCK_NAME
        self.shown = shown if shown is not None else Path(directory)
        self.what = what
        self._fd: int | None = None
        self._id: tuple[int, int] | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`HybridSimError` (held elsewhere, or not a plain file)."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no lock
            return
        flags = os.O_RDWR | os.O_CREAT | os.O_NONBLOCK
        flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        for _ in range(10):
            try:
                fd = os.open(self.path, flags, 0o644)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise HybridSimError(
                        f"{self.path}: is a symbolic link; a lock file is never followed: remove it"
                    ) from None
                raise HybridSimError(
                    f"{self.path}: cannot create the lock file: {exc.strerror}"
                ) from None
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    raise HybridSimError(f"{self.path}: not a regular file; remove it")
                try:
                    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    raise _busy(self.shown, fd) from None
                try:
                    now = os.stat(self.path, follow_symlinks=False)
                except FileNotFoundError:
                    now = None
            except BaseException:
                os.close(fd)
                raise
            if now is not None and (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino):
                self._fd, self._id = fd, (st.st_dev, st.st_ino)
                try:
                    os.ftruncate(fd, 0)
                    os.pwrite(fd, f"{self.what} {os.getpid()}\n".encode(), 0)
                except OSError:  # pragma: no cover - only the message would lose its detail
                    pass
                return
            # The previous holder removed (or replaced) the file between our open and our lock:
            # the lock we hold is on a dead inode. Open the name again.
            os.close(fd)
        raise _busy(self.shown, None)  # pragma: no cover - ten lost races in a row

    def release(self, *, unlink: bool = True) -> None:
        """Drop the lock; with ``unlink``, first remove the lock file if it is still ours."""
        if self._fd is None:
            return
        try:
            if unlink:
                try:
                    now = os.stat(self.path, follow_symlinks=False)
                    if (now.st_dev, now.st_ino) == self._id:
                        os.unlink(self.path)
                except OSError:
                    pass  # gone already (its directory was replaced or removed)
        finally:
            os.close(self._fd)  # closing drops the lock
            self._fd = None

    def __enter__(self) -> DirLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


# -- checking a path --------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """An output path, checked.

    Attributes
    ----------
    shown : str
        The path as the user wrote it (for messages).
    path : Path
        Absolute, symlinks resolved: where the files go.
    kind : str
        ``missing``, ``empty`` (our own hidden leftovers do not count), ``run`` (holds only
        files a run or a report writes), ``sweep`` (holds a sweep's ``results.sqlite``) or
        ``other`` (anything else: replacing it would delete what we did not write).
    first_other : str
        For ``other``: one entry that is not a run's file (for the message).
    """

    shown: str
    path: Path
    kind: str
    first_other: str = ""


def _ignorable(name: str) -> bool:
    return name in (LOCK_NAME, _LEGACY_SWEEP_LOCK) or bool(_TMP_FILE.match(name))


def _classify(path: Path, shown: str) -> tuple[str, str]:
    try:
        names = sorted(os.listdir(path))
    except FileNotFoundError:
        return "missing", ""
    except OSError as exc:
        raise HybridSimError(f"{shown}: cannot read the directory: {exc.strerror}") from None
    if SWEEP_DB in names:
        return "sweep", ""
    visible = [n for n in names if not _ignorable(n)]
    if not visible:
        return "empty", ""
    if all(n in RUN_FILES for n in visible):
        return "run", ""
    return "other", next(n for n in visible if n not in RUN_FILES)


def inspect(path: str | os.PathLike, *, option: str = "--out", replace: bool = True) -> Target:
    """Check an output path without writing anything.

    Parameters
    ----------
    path : str or path
        As given by the user (a ``str`` keeps ``''`` distinguishable from ``'.'``).
    option : str
        The option's name, for messages.
    replace : bool
        The directory will be replaced whole: refuse the current directory and its ancestors.

    Raises
    ------
    HybridSimError
        For an empty path, an existing file, a path under a file, a broken symlink, a place
        that cannot be written, or (``replace``) the current directory.
    """
    shown = os.fspath(path)
    if isinstance(shown, bytes):  # pragma: no cover - the CLI passes str
        shown = os.fsdecode(shown)
    if not shown:
        raise HybridSimError(f"{option}: empty path (expected a directory)")
    if "\0" in shown:
        raise HybridSimError(f"{option}: {shown!r}: a path cannot contain a NUL character")
    absolute = Path(os.path.abspath(shown))
    if os.path.lexists(absolute) and not os.path.exists(absolute):
        raise HybridSimError(f"{shown}: is a broken symbolic link (expected a directory)")
    if os.path.exists(absolute) and not os.path.isdir(absolute):
        raise HybridSimError(f"{shown}: is a file, not a directory (expected a directory)")
    lexical = Path(shown)  # walked as written, so the message names the user's own path
    while not os.path.exists(lexical) and lexical != lexical.parent:
        lexical = lexical.parent
    if not os.path.isdir(lexical):
        raise HybridSimError(f"{shown}: {lexical} is a file, not a directory")
    real = Path(os.path.realpath(absolute))
    ancestor = real
    while not os.path.exists(ancestor):
        ancestor = ancestor.parent
    kind, first = _classify(real, shown)
    if replace and kind != "missing":
        cwd = Path(os.path.realpath(os.getcwd()))
        if cwd == real or real in cwd.parents:
            raise HybridSimError(
                f"{shown}: is the current directory (or contains it), which a run replaces "
                "whole; choose another --out"
            )
    # Where we will create entries: the nearest existing ancestor (for a new directory), else
    # the directory itself (lock, files) and, to swap it, its parent.
    needs = [ancestor] if kind == "missing" else ([real.parent, real] if replace else [real])
    for need in needs:
        if not os.access(need, os.W_OK | os.X_OK):
            raise HybridSimError(f"{shown}: cannot write in {need}: permission denied")
    return Target(shown, real, kind, first)


def check_replace(target: Target, *, force: bool, option: str = "--out") -> None:
    """Refuse to replace a sweep's directory, a directory that is not a run's (even with
    ``force``: replacing deletes everything in it), or an existing run without ``force``."""
    shown = target.shown
    if target.kind == "sweep":
        raise HybridSimError(
            f"{shown}: is a sweep's results directory ({SWEEP_DB}); a run never replaces it: "
            f"choose another {option}"
        )
    if target.kind == "other":
        raise HybridSimError(
            f"{shown}: exists and is not a hybridsim run directory (it holds "
            f"{target.first_other!r}); a run replaces its directory whole, so it never takes "
            f"one with other files: choose a new or empty {option}"
        )
    if target.kind == "run" and not force:
        raise HybridSimError(
            f"{shown}: already holds a run's outputs; pass --force to replace them, or choose "
            f"another {option}"
        )


def safe_name(name: str, fallback: str = "run") -> str:
    """A directory name made of ``name``: one path component, never hidden, absolute or ``..``.

    Separators become ``_`` after dropping empty, ``.`` and ``..`` components; characters other
    than letters, digits and ``._+-`` become ``_``; leading dots are removed; at most 100
    characters.

    >>> safe_name("/tmp/elsewhere"), safe_name("../../up"), safe_name("BERT tiny"), safe_name("..")
    ('tmp_elsewhere', 'up', 'BERT_tiny', 'run')
    """
    parts = [p for p in re.split(r"[/\\]+", name) if p not in ("", ".", "..")]
    text = "_".join(parts)
    text = "".join(c if (c.isalnum() and c.isprintable()) or c in "._+-" else "_" for c in text)
    text = text.lstrip(".")[:100].rstrip(".")
    return text or fallback


# -- writing a directory whole ----------------------------------------------------------------


def _stage_prefix(name: str) -> str:
    # Bounded, so the staging name stays within NAME_MAX for long directory names.
    if len(name.encode()) <= 100:
        return f".{name}."
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    return f".{name[:40]}-{digest}."


def _make_stage(target: Path) -> Path:
    prefix = _stage_prefix(target.name)
    while True:
        stage = target.parent / f"{prefix}{secrets.token_hex(8)}.tmp"
        try:
            os.mkdir(stage, 0o700)  # fails on any existing entry, symlinks included
        except FileExistsError:  # pragma: no cover - 64 random bits collided
            continue
        return stage


def _remove(path: str | Path) -> None:
    """Remove a file, a symlink (never its target) or a directory tree; ignore what is gone."""
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)  # rmtree never follows symlinks inside
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass


def _only_run_files(path: str) -> bool:
    try:
        names = os.listdir(path)
    except OSError:
        return False
    return all(n in RUN_FILES or _ignorable(n) for n in names)


def remove_leftovers(target: Path) -> list[Path]:
    """Remove what killed writes of ``target`` left next to it: staging directories, and the
    ``tempfile.mkdtemp`` directories of earlier versions when they hold only run files.

    Call it holding ``target``'s lock: no live writer of ``target`` then has a staging
    directory (a finished one may be removing its old copy; removing it twice is harmless).
    Returns what was removed.
    """
    prefix = _stage_prefix(target.name)
    legacy = f".{target.name}."
    removed: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        ours = name.startswith(prefix) and _STAGE_TAIL.fullmatch(name[len(prefix) :])
        old = (
            name.startswith(legacy)
            and _LEGACY_TAIL.fullmatch(name[len(legacy) :])
            and entry.is_dir(follow_symlinks=False)
            and _only_run_files(entry.path)
        )
        if ours or old:
            _remove(entry.path)
            removed.append(Path(entry.path))
    return removed


@functools.cache
def _renameat2():
    """libc's ``renameat2`` (Linux, glibc >= 2.28), or None."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing directories; False if the system cannot."""
    fn = _renameat2()
    if fn is None:
        return False
    import ctypes

    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap_in(stage: Path, target: Path) -> Path:
    """Put ``stage`` at ``target`` (which exists); return where the old directory now is."""
    if _exchange(stage, target):
        return stage
    # No atomic exchange: two renames. Between them ``target`` is briefly missing (the old
    # copy is complete under the aside name, the new one under the staging name): still never
    # a mix of the two, and the next write removes both leftovers.
    aside = _make_stage(target)
    os.rmdir(aside)
    os.rename(target, aside)
    os.rename(stage, target)
    return aside


def _makedirs(path: Path, created: list[Path]) -> None:
    missing = []
    p = path
    while not os.path.exists(p):
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            os.mkdir(d)
        except FileExistsError:
            continue  # another writer made it first
        created.append(d)


def _oserror(shown: str, exc: OSError) -> HybridSimError:
    return HybridSimError(f"{shown}: cannot write: {exc.strerror or exc}")


@contextmanager
def replacing(
    path: str | os.PathLike, *, force: bool = True, option: str = "--out"
) -> Iterator[Path]:
    """Write a directory whole: yield an empty staging directory, and on success swap it in.

    Checks ``path`` (:func:`inspect`, :func:`check_replace`), creates it (and its parents) if
    needed, locks it, removes leftovers of killed writes, and yields a fresh staging directory
    next to it. When the block ends normally the staging directory replaces ``path`` whole
    (with ``path``'s permissions); if it raises, or the process is killed, ``path`` keeps its
    old content and what this call created is removed (a kill leaves at most an empty
    directory, the lock file and the staging directory, all removed by the next write).

    Raises
    ------
    HybridSimError
        For a bad or refused path, another writer, or a failure to write (one line).
    """
    target = inspect(path, option=option, replace=True)
    check_replace(target, force=force, option=option)
    created: list[Path] = []
    lock: DirLock | None = None
    stage: Path | None = None
    committed = False
    try:
        try:
            _makedirs(target.path, created)
            lock = DirLock(target.path, target.shown)
            lock.acquire()
            # Again under the lock: another writer may have changed it since the check.
            kind, first = _classify(target.path, target.shown)
            check_replace(Target(target.shown, target.path, kind, first), force=force)
            if target.kind != "missing":
                remove_leftovers(target.path)
            stage = _make_stage(target.path)
        except OSError as exc:
            raise _oserror(target.shown, exc) from None
        try:
            yield stage
            os.chmod(stage, stat.S_IMODE(os.stat(target.path).st_mode))
            stage = _swap_in(stage, target.path)  # now the old directory, to remove
            committed = True
        except OSError as exc:
            raise _oserror(target.shown, exc) from None
    finally:
        if stage is not None:
            _remove(stage)  # the old copy (lock file included), or the unfinished new one
        if lock is not None:
            lock.release(unlink=not committed)
        if not committed:
            for d in reversed(created):
                with contextlib.suppress(OSError):
                    os.rmdir(d)


@contextmanager
def writing_into(path: str | os.PathLike, *, option: str = "--out") -> Iterator[Path]:
    """Lock a directory for writing files into it one by one (creating it if needed).

    For the ``report`` command, whose files are each written atomically (by the report's own
    ``files`` module) next to files it does not own. If the block raises, the
    directories this call created are removed again.
    """
    target = inspect(path, option=option, replace=False)
    created: list[Path] = []
    lock: DirLock | None = None
    ok = False
    try:
        try:
            _makedirs(target.path, created)
            lock = DirLock(target.path, target.shown, what="report")
            lock.acquire()
        except OSError as exc:
            raise _oserror(target.shown, exc) from None
        try:
            yield target.path
        except OSError as exc:
            raise _oserror(target.shown, exc) from None
        ok = True
    finally:
        if lock is not None:
            lock.release()
        if not ok:
            for d in reversed(created):
                with contextlib.suppress(OSError):
                    os.rmdir(d)
