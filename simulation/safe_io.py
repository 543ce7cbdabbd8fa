"""Reading user files safely: regular files of sane size only, checked before reading.

Every reader of a user file (scenario and experiment TOML, map CSV) goes through
:func:`read_text_file`, which refuses directories, devices (``/dev/zero``, ``/dev/urandom``),
FIFOs, sockets, symbolic links to any of those, ``.``, ``/``, names longer than the file system
allows and files larger than a stated bound, *before* reading a byte of content; it decodes
UTF-8 and drops a leading byte-order mark. Its errors are
:class:`~simulation.errors.InputFileError`.

:func:`path_state` answers "is it a regular file?" without ever raising (``Path.exists`` and
``Path.is_file`` raise ``OSError`` on a name that is too long).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from simulation.errors import InputFileError, clip

MAX_TOML_BYTES = 1_000_000
"""Largest scenario or experiment file read (bytes)."""

MAX_CSV_BYTES = 50_000_000
"""Largest map CSV file read (bytes)."""

MAX_PATH_CHARS = 4_096
"""Longest path accepted (characters), the usual Linux PATH_MAX."""

MAX_NAME_CHARS = 255
"""Longest single path component accepted (characters), the usual NAME_MAX."""

BOM = "\ufeff"


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _name_problem(text: str) -> str | None:
    if not text or not text.strip():
        return "the path is empty"
    if "\x00" in text:
        return "the path contains a NUL character"
    if len(text) > MAX_PATH_CHARS:
        return f"the path is {len(text):,} characters long (at most {MAX_PATH_CHARS:,})"
    longest = max((len(p) for p in text.replace("\\", "/").split("/")), default=0)
    if longest > MAX_NAME_CHARS:
        return (f"one name in the path is {longest:,} characters long (at most "
                f"{MAX_NAME_CHARS} per name)")
    return None


def path_state(path: str | Path) -> str:
    """What a path is, without raising: ``"file"``, ``"missing"`` or a description.

    Args:
        path: any path.

    Returns:
        ``"file"`` for a regular file (symbolic links followed), ``"missing"`` when nothing is
        there, else a phrase such as ``"a directory"``, ``"a character device"`` or the reason
        the name cannot be used (too long, empty, a broken or looping link).
    """
    text = os.fspath(path)
    bad = _name_problem(text)
    if bad:
        return bad
    try:
        st = os.stat(text)
    except FileNotFoundError:
        if os.path.islink(text):
            return "a broken symbolic link"
        return "missing"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a loop of symbolic links"
        if exc.errno == errno.ENAMETOOLONG:
            return "the name is longer than the file system allows"
        if exc.errno == errno.ENOTDIR:
            return "missing"
        return f"cannot be examined ({exc.strerror})"
    return "file" if stat.S_ISREG(st.st_mode) else _kind(st.st_mode)


def is_regular_file(path: str | Path) -> bool:
    """True if ``path`` is a regular file (links followed); never raises."""
    return path_state(path) == "file"


def read_bytes_file(path: str | Path, what: str, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` bytes.

    The path is opened without blocking (a FIFO cannot hang the call) and examined with
    ``fstat`` before any content is read; at most ``max_bytes + 1`` bytes are ever read.

    Args:
        path: the file.
        what: what the file should be, for messages (e.g. ``"a scenario file (TOML)"``).
        max_bytes: largest size accepted (bytes).

    Raises:
        InputFileError: not a regular file, too large, or unreadable; the message names the
            path (cut to 200 characters), the problem and what is allowed.
    """
    text = os.fspath(path)
    allowed = f"{what}: a regular file of at most {max_bytes:,} bytes"
    bad = _name_problem(text)
    if bad:
        raise InputFileError(text, bad, allowed)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(text, flags)
    except OSError as exc:
        state = path_state(text)
        if state == "missing":
            raise InputFileError(text, "no such file", allowed) from None
        if state not in ("file",):
            raise InputFileError(text, f"is {state}" if state.startswith("a ") else state,
                                 allowed) from None
        raise InputFileError(text, f"cannot open the file ({exc.strerror})", allowed) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputFileError(text, f"is {_kind(st.st_mode)}, not a regular file", allowed)
        if st.st_size > max_bytes:
            raise InputFileError(text, f"the file is {st.st_size:,} bytes, too large", allowed)
        chunks, total = [], 0
        while True:
            block = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not block:
                break
            chunks.append(block)
            total += len(block)
            if total > max_bytes:
                raise InputFileError(text, f"the file grew past {max_bytes:,} bytes while "
                                     "being read", allowed)
    except OSError as exc:
        raise InputFileError(text, f"cannot read the file ({exc.strerror})", allowed) from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def read_text_file(path: str | Path, what: str, max_bytes: int) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes`` bytes (a leading BOM dropped).

    Args:
        path: the file.
        what: what the file should be, for messages (e.g. ``"a scenario file (TOML)"``).
        max_bytes: largest size accepted (bytes).

    Raises:
        InputFileError: as :func:`read_bytes_file`, or the content is not UTF-8 text (the
            message gives the byte offset) or holds NUL characters.
    """
    raw = read_bytes_file(path, what, max_bytes)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        hint = " (it looks like UTF-16; save it as UTF-8)" if raw[:2] in (b"\xff\xfe",
                                                                          b"\xfe\xff") else ""
        raise InputFileError(path, f"not UTF-8 text (byte {exc.start}){hint}",
                             f"{what}, saved as UTF-8 text") from None
    if text.startswith(BOM):
        text = text[1:]
    if "\x00" in text:
        raise InputFileError(path, f"holds a NUL character (offset {text.index(chr(0))}); "
                             "it looks like a binary file", f"{what}, as plain UTF-8 text")
    return text


def check_output_dir(path: str | Path, what: str = "an output folder") -> Path:
    """Check that ``path`` can be an output folder, before any work is done.

    It must be an existing directory or not exist yet; every existing ancestor must be a
    directory; the name must be usable. Nothing is created.

    Args:
        path: the folder.
        what: what the folder is for, for messages.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        InputFileError: the path is a file, a device, a link to one, under a file, or its name
            is too long.
    """
    text = os.fspath(path)
    allowed = f"{what}: a directory, or a path where one can be created"
    bad = _name_problem(text)
    if bad:
        raise InputFileError(text, bad, allowed)
    state = path_state(text)
    if state not in ("missing", "a directory"):
        problem = "is a regular file" if state == "file" else \
            (f"is {state}" if state.startswith("a ") else state)
        raise InputFileError(text, f"cannot be used as a folder: it {problem}", allowed)
    parent = Path(os.path.abspath(text)).parent
    while True:
        pstate = path_state(parent)
        if pstate == "a directory":
            break
        if pstate != "missing":
            raise InputFileError(text, f"cannot be created: {parent} is "
                                 f"{'a regular file' if pstate == 'file' else pstate}", allowed)
        if parent.parent == parent:
            break
        parent = parent.parent
    return Path(text)


def describe_path(path: str | Path) -> str:
    """A path cut to a readable length for messages."""
    return clip(os.fspath(path), 200)




# ============================================================================ TOML
MAX_TOML_DEPTH = 16
"""Deepest nesting of tables and arrays accepted in a TOML file."""


class TomlSyntaxError(InputFileError):
    """TOML text that cannot be parsed, or nests deeper than :data:`MAX_TOML_DEPTH`.

    Attributes:
        location: ``"line L, column C"``, ``"end of file"`` or ``""``.
    """

    def __init__(self, file: object, location: str, problem: str, allowed: str) -> None:
        self.location = location
        super().__init__(file, (f"{location}: " if location else "") + problem, allowed)
        self.problem = problem

    def __reduce__(self):  # noqa: D105
        return (TomlSyntaxError, (self.file, self.location, self.problem, self.allowed))


TOML_ALLOWED = 'TOML syntax (https://toml.io), e.g. key = "value"'


def _depth(value: object) -> int:
    """Nesting depth of tables and arrays (1 for a flat table), without recursion."""
    best = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            best = max(best, d)
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            best = max(best, d)
            stack.extend((x, d + 1) for x in v)
        if best > MAX_TOML_DEPTH:
            break
    return best


def parse_toml(text: str, file: str | Path = "<text>") -> dict:
    """Parse TOML text with bounded nesting; errors are :class:`TomlSyntaxError`.

    Args:
        text: the TOML text (a leading byte-order mark is dropped).
        file: where the text comes from, for messages.

    Returns:
        The parsed table.

    Raises:
        TomlSyntaxError: invalid TOML (with line and column), integers too long to convert,
            or tables and arrays nested deeper than :data:`MAX_TOML_DEPTH` levels.
    """
    import re
    import tomllib

    if text.startswith(BOM):
        text = text[1:]
    deep = (f"at most {MAX_TOML_DEPTH} levels of nested tables and arrays")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        if m:
            where = f"line {m.group(1)}, column {m.group(2)}"
            msg = msg[:m.start()].strip()
        else:
            where = "end of file" if "end of document" in msg else ""
        raise TomlSyntaxError(file, where, f"not a valid TOML file: {msg}",
                              TOML_ALLOWED) from None
    except RecursionError:
        raise TomlSyntaxError(file, "", "tables or arrays are nested too deeply to read",
                              deep) from None
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit
        raise TomlSyntaxError(file, "", f"not a valid TOML file: {clip(exc, 120)}",
                              "whole numbers of at most 4,300 digits") from None
    if _depth(data) > MAX_TOML_DEPTH:
        raise TomlSyntaxError(file, "", f"tables or arrays are nested more than "
                              f"{MAX_TOML_DEPTH} levels deep", deep)
    return data

__all__ = ["read_text_file", "read_bytes_file", "path_state", "is_regular_file", "parse_toml",
           "TomlSyntaxError", "MAX_TOML_DEPTH",
           "describe_path", "check_output_dir", "MAX_TOML_BYTES", "MAX_CSV_BYTES", "MAX_PATH_CHARS",
           "MAX_NAME_CHARS"]
