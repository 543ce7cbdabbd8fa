"""Crash-safe result folders: atomic files, one writer at a time, and an atomic start.

A *store* is a folder that a long computation (a sweep, a calibration) fills file by file and
that must survive being killed at any moment (SIGKILL of its process group, a lost node, a
full disk): re-running the same command completes it, and the completed folder holds the
same bytes as if nothing had happened. The computations use it in four steps::

    with FolderLock(out, what="sweep", error=SweepError) as lock:       # 1. one writer
        new = open_store(out, "manifest.json", header_bytes, {"design.csv": design_bytes},
                         check=same_experiment, resume=resume,
                         interrupted=lock.found_stale, error=SweepError)  # 2. atomic start
        clean_temporaries(out / "runs")                                  # 3. dead writers
        for each missing result:                                         # 4. one file each
            atomic_write_bytes(parquet_bytes(df), out / "runs" / f"{run_id}.parquet",
                               kill_phase="run-write")

Guarantees:

* **Atomic files.** :func:`atomic_write_bytes` writes a hidden temporary in the same folder
  (``.<name>.<random>``), flushes it to disk and renames it over ``<name>``: a file that
  exists is complete. Its temporaries are recognised (:func:`is_temporary`) and removed under
  the lock (:func:`clean_temporaries`).
* **An atomic start.** The *header* (a sweep's ``manifest.json``) is the commit point of the
  start: it is written first, atomically, and every other start file (``design.csv``) is a
  pure function of the same inputs, written after it. So a folder holds one of: nothing,
  only start leftovers (the lock file, temporaries) -- a start that never committed, begun
  again from scratch; or a header -- a committed start, whose missing start files are
  (re)written by the next run. Any other content without a header is not this store's and
  is refused.
* **One writer.** :class:`FolderLock` takes an exclusive ``flock`` on ``<folder>/.lock``
  (the kernel releases it when its process dies, so a lock file left by a killed process,
  whose pid is dead, never blocks the next run) and removes the file when the computation
  ends, so a finished folder holds no lock file.

Test hook (for the kill tests, never for users): with the environment variable
``TERRINUM_TEST_KILL_AT=PHASE`` (or ``PHASE:N``), the process sends SIGKILL to its process
group (to itself only, if it does not lead its group) the N-th time (default the first) it
reaches the point named PHASE. Phases (:data:`KILL_PHASES`): ``before-<stem>``,
``<stem>-write`` (half of the file written to its temporary) and ``after-<stem>`` for the
header and each start file (``before-manifest``, ``manifest-write``, ``after-manifest``,
``design-write``, ``after-design``), ``run-write`` (half of a run file written),
``between-runs`` (just after a run file is in place) and ``after-runs`` (every run written,
the lock still held).
"""

from __future__ import annotations

import fcntl
import io
import os
import platform
import re
import signal
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pandas as pd

from simulation.errors import UserError

LOCK = ".lock"
KILL_ENV = "TERRINUM_TEST_KILL_AT"
KILL_PHASES = ("before-manifest", "manifest-write", "after-manifest", "before-design",
               "design-write", "after-design", "run-write", "between-runs", "after-runs")
# the random part of tempfile.mkstemp names (letters, digits, underscore)
_TEMP_TAIL = r"\.[A-Za-z0-9_]+"
_HOLDER = re.compile(r"pid (\d+) on (\S+)")


class StoreError(UserError, ValueError):
    """A store folder that cannot be locked, started or continued."""


# ============================================================================ test hook
_hits: dict[str, int] = {}


def kill_point(phase: str) -> None:
    """Test hook: SIGKILL this process group here if ``TERRINUM_TEST_KILL_AT`` names ``phase``.

    Does nothing unless the variable is set (module docstring). The kill is sent to the
    whole process group when this process leads it (as a sweep started in its own session
    does: its pool workers die with it), otherwise to this process only.

    Args:
        phase: the point reached (a sweep's are :data:`KILL_PHASES`).

    Raises:
        StoreError: the variable is set to something that is not ``PHASE`` or ``PHASE:N``.
    """
    spec = os.environ.get(KILL_ENV, "").strip()
    if not spec:
        return
    name, _, nth = spec.partition(":")
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,40}", name) or not (
            nth == "" or (nth.isdigit() and 1 <= int(nth) <= 10**6)):
        raise StoreError(f"environment variable {KILL_ENV}: {spec[:60]!r} is not a test kill "
                         f"point; allowed: PHASE or PHASE:N (N >= 1), PHASE e.g. one of "
                         f"{', '.join(KILL_PHASES)}")
    if name != phase:
        return
    _hits[phase] = _hits.get(phase, 0) + 1
    if _hits[phase] < int(nth or 1):
        return
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpgrp(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


# ============================================================================ atomic files
def atomic_write_bytes(data: bytes, path: str | Path, *, kill_phase: str | None = None
                       ) -> None:
    """Write ``data`` to ``path`` atomically: a file that exists is complete.

    The bytes go to a temporary ``.<name>.<random>`` beside ``path``, are flushed to disk
    (``fsync``) and the temporary is renamed over ``path`` (``os.replace``); the folder entry
    is then flushed too. An interrupted write leaves at most the temporary, which
    :func:`clean_temporaries` removes.

    Args:
        data: the file's content.
        path: the destination (its folder must exist).
        kill_phase: test hook: the :func:`kill_point` reached when half of ``data`` is in the
            temporary.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            half = len(data) // 2
            fh.write(data[:half])
            if kill_phase is not None:
                fh.flush()
                kill_point(kill_phase)
            fh.write(data[half:])
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - a platform without directory descriptors
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def parquet_bytes(df: pd.DataFrame) -> bytes:
    """The Parquet file of a DataFrame (no index), as :meth:`DataFrame.to_parquet` writes it."""
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def csv_bytes(df: pd.DataFrame) -> bytes:
    """The UTF-8 CSV file of a DataFrame (no index, newline line ends)."""
    return df.to_csv(index=False, lineterminator="\n").encode("utf-8")


def is_temporary(name: str, names: Iterable[str] | None = None) -> bool:
    """Whether a file name is the temporary of an interrupted :func:`atomic_write_bytes`.

    Args:
        name: a file name (no folder).
        names: the files whose temporaries count (``manifest.json`` -> ``.manifest.json.<random>``);
            None: any hidden file (for a folder that the store owns entirely).
    """
    if names is None:
        return name.startswith(".") and name not in (".", "..", LOCK)
    return any(re.fullmatch(r"\." + re.escape(n) + _TEMP_TAIL, name) for n in names)


def clean_temporaries(folder: str | Path, names: Iterable[str] | None = None) -> list[str]:
    """Remove the temporaries that interrupted writers left in ``folder``.

    Call it only while holding the folder's :class:`FolderLock` (a live writer's temporary
    would otherwise be removed under it).

    Args:
        folder: the folder (missing: nothing to do).
        names: as for :func:`is_temporary`.

    Returns:
        The names removed, sorted.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    names = None if names is None else tuple(names)
    gone = []
    for p in folder.iterdir():
        if is_temporary(p.name, names) and p.is_file() and not p.is_symlink():
            p.unlink(missing_ok=True)
            gone.append(p.name)
    return sorted(gone)


# ============================================================================ the lock
class FolderLock:
    """An exclusive lock on a store folder, held while one process writes into it.

    ``with FolderLock(folder):`` creates the folder if needed, takes an exclusive, non-
    blocking ``flock`` on ``<folder>/.lock`` and writes ``pid N on HOST`` into it; on exit it
    removes the file (then releases the lock) and, if it created the folder and nothing else
    was written into it, the folder too. The kernel releases a dead process's lock, so a
    lock file left by a killed process is taken over; if the lock is still held although its
    recorded process is dead (an orphaned child inherited it), it is waited for up to
    ``wait_dead`` seconds.

    Attributes:
        folder: the folder.
        path: the lock file.
        found_stale: a lock file was already there and was taken over (its writer was
            killed, or it came from a version that did not remove it).
    """

    def __init__(self, folder: str | Path, *, what: str = "computation",
                 error: type[Exception] = StoreError, wait_dead: float = 5.0) -> None:
        """Prepare the lock (nothing happens before ``with``).

        Args:
            folder: the store folder.
            what: what writes into it, for messages ("sweep", "calibration").
            error: the exception class raised when the lock is taken.
            wait_dead: seconds to wait for a lock whose recorded holder is dead (s).
        """
        self.folder = Path(folder)
        self.path = self.folder / LOCK
        self.what = what
        self.error = error
        self.wait_dead = wait_dead
        self.found_stale = False
        self._fh = None
        self._made_folder = False

    def __enter__(self) -> FolderLock:
        self._made_folder = not self.folder.exists()
        self.folder.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.wait_dead
        while True:
            existed = self.path.exists()
            try:
                fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - kept locked
            except OSError as exc:
                self._forget_folder()
                raise self.error(f"{self.path}: cannot open the lock file ({exc.strerror})"
                                 ) from None
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read(200).strip() or "another process"
                fh.close()
                if _holder_dead(holder) and time.monotonic() < deadline:
                    time.sleep(0.1)
                    continue
                self._forget_folder()
                dead = " (that process has ended, but a process it started still holds " \
                       "the lock)" if _holder_dead(holder) else ""
                raise self.error(f"{self.folder}: another {self.what} is writing into this "
                                 f"folder ({holder}{dead}); wait for it to finish or use "
                                 "another --out") from None
            except OSError as exc:
                fh.close()
                self._forget_folder()
                raise self.error(f"{self.path}: cannot lock the folder ({exc.strerror}); use "
                                 "a folder on a file system with locks (a local disk)"
                                 ) from None
            # a holder that just finished removed the file we opened: lock the new one
            try:
                st = os.stat(self.path)
                same = (st.st_ino, st.st_dev) == (os.fstat(fh.fileno()).st_ino,
                                                 os.fstat(fh.fileno()).st_dev)
            except FileNotFoundError:
                same = False
            if not same:
                fcntl.flock(fh, fcntl.LOCK_UN)
                fh.close()
                continue
            break
        self.found_stale = existed
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {platform.node()}\n")
        fh.flush()
        self._fh = fh
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fh is None:
            return
        self.path.unlink(missing_ok=True)       # before unlocking: no one locks a dead file
        fcntl.flock(self._fh, fcntl.LOCK_UN)
        self._fh.close()
        self._fh = None
        self._forget_folder()

    def _forget_folder(self) -> None:
        """Remove the folder if this lock created it and it is still empty."""
        if self._made_folder:
            try:
                self.folder.rmdir()
            except OSError:
                pass


def _holder_dead(holder: str) -> bool:
    """Whether a lock file's ``pid N on HOST`` names a process of this host that has ended."""
    m = _HOLDER.fullmatch(holder)
    if not m or m.group(2) != platform.node():
        return False
    try:
        os.kill(int(m.group(1)), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    return False


# ============================================================================ the start
def open_store(folder: str | Path, header: str, make_header: Callable[[], bytes],
               start_files: Mapping[str, Callable[[], bytes]], check: Callable[[Path], None],
               *, resume: bool = False, interrupted: bool = False, what: str = "computation",
               error: type[Exception] = StoreError) -> bool:
    """Start a store, or continue the one in ``folder``, atomically (call under the lock).

    * ``folder/header`` exists: ``check(path)`` decides whether this computation may continue
      it (it raises otherwise, and nothing is touched); the temporaries of the header and
      start files are removed and missing start files written (a start killed after its
      header). Returns False.
    * no header, and the folder holds nothing but the lock file and temporaries of the header
      and start files (a start killed before its header was in place, or nothing at all):
      the temporaries are removed and the start begins from scratch: the header is written,
      then the start files, each atomically. Returns True.
    * no header and anything else in the folder: ``error`` (nothing is touched).

    Start files must be pure functions of the inputs that the header records: a start
    file rewritten on resume then has the bytes an uninterrupted start gave it.

    Args:
        folder: the store folder (it exists: the lock made it).
        header: the header's file name (its presence commits the start).
        make_header: the header's bytes.
        start_files: file name -> bytes maker, written after the header in this order.
        check: called with the existing header's path; raises to refuse the folder.
        resume: the caller requires something to continue: no header is then an error,
            unless ``interrupted`` or temporaries show a start that was killed.
        interrupted: the caller knows of an interrupted start (e.g. the lock's
            ``found_stale``).
        what: the computation's name, for messages.
        error: the exception class raised.

    Returns:
        True for a new start, False when an existing one is continued.
    """
    folder = Path(folder)
    names = (header, *start_files)
    stems = {n: Path(n).stem for n in names}
    hpath = folder / header
    if hpath.exists():
        check(hpath)
        clean_temporaries(folder, names)
        for name, make in start_files.items():
            if not (folder / name).exists():
                atomic_write_bytes(make(), folder / name, kill_phase=f"{stems[name]}-write")
                kill_point(f"after-{stems[name]}")
        return False
    if not folder.is_dir():
        raise error(f"{folder}: exists and is not a folder")
    entries = [p.name for p in folder.iterdir() if p.name != LOCK]
    extra = sorted(n for n in entries if not is_temporary(n, names))
    if extra:
        raise error(f"{folder}: folder is not empty and holds no {what} ({header} missing; "
                    f"found {', '.join(extra[:3])}); choose an empty or new folder")
    if resume and not (entries or interrupted):
        raise error(f"{folder}: nothing to resume (no {header}); leave out --resume to start "
                    f"a new {what}")
    clean_temporaries(folder, names)
    kill_point(f"before-{stems[header]}")
    atomic_write_bytes(make_header(), hpath, kill_phase=f"{stems[header]}-write")
    kill_point(f"after-{stems[header]}")
    for name, make in start_files.items():
        kill_point(f"before-{stems[name]}")
        atomic_write_bytes(make(), folder / name, kill_phase=f"{stems[name]}-write")
        kill_point(f"after-{stems[name]}")
    return True
