"""Writing files safely: atomic replacement, the --force rules, temporary names that fit, and a writer's lock.

Every file vae-explorer writes goes through :func:`atomic_write`, so a reader sees the old content or all of the new.
:func:`check_output` is what a command asks before it starts work on a file it will write, and :func:`writer_lock`
keeps a second process from writing the same run at the same time. No torch here: the command line checks its
paths before it pays for importing torch.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vae_core.errors import VaeError

MAX_NAME_BYTES = 255
"""The longest file name (in bytes) the usual Linux and macOS file systems accept."""

FileVersion = tuple[int, int, int]


def file_version(path: Path) -> FileVersion | None:
    """(inode, mtime, size) of the file at ``path``, None where there is none: what a reader polls to see that a
    writer replaced it (an atomic rename always gives a new inode). Other failures to stat raise OSError."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_ino, status.st_mtime_ns, status.st_size


def check_output(path: Path, force: bool) -> Path:
    """Where writing ``path`` would land (a symlink's target), or a VaeError where a command must not write there.

    An existing file is replaced only with ``force``; a directory, a device, a pipe or a dangling symlink never is.
    """
    path = Path(path)
    check_name_length(path)
    target = resolve_target(path)
    if not target.parent.is_dir():
        raise VaeError(f"cannot write {path}: directory {target.parent} does not exist")
    if target.exists():
        if target.is_dir():
            raise VaeError(f"{path} is a directory: name a file to write")
        if not target.is_file():
            raise VaeError(f"{path} is not a regular file (a device or a pipe): name a file to write")
        if not force:
            raise VaeError(f"{path} already exists: add --force to replace it")
    return target


def check_name_length(path: Path) -> None:
    """Refuse a name the file system would refuse, before any work is spent on what goes into it."""
    size = len(os.fsencode(Path(path).name))
    if size > MAX_NAME_BYTES:
        raise VaeError(f"the file name {Path(path).name[:40]}… is {size} bytes long; file names hold {MAX_NAME_BYTES}")


def resolve_target(path: Path) -> Path:
    """``path``, or the file a symlink at ``path`` points to (followed, so the link stays a link)."""
    path = Path(path)
    if not path.is_symlink():
        return path
    target = Path(os.path.realpath(path))
    if not target.exists():
        raise VaeError(f"{path} is a symlink to {target}, which does not exist: remove the link or name the target")
    return target


def atomic_write(path: Path, data: bytes) -> None:
    """Write bytes so that ``path`` holds either its old content or all of the new, never a mix.

    A symlink is followed (its target is replaced); a directory or device at ``path`` is refused. Temporary files
    left by a process that was killed while writing the same path are removed first.
    """
    path = Path(path)
    target = resolve_target(path)
    directory = target.parent
    if not directory.is_dir():
        raise VaeError(f"cannot write {path}: directory {directory} does not exist")
    if target.exists() and not target.is_file():
        raise VaeError(f"cannot write {path}: it is a directory or a device, not a regular file")
    remove_stale_temporaries(target)
    temp = directory / f"{sidecar_stem(target.name)}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the mode a plain open() gives, less umask
        try:
            with os.fdopen(fd, "wb", closefd=False) as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
        finally:
            os.close(fd)
        os.replace(temp, target)
        _fsync_directory(directory)
    except OSError as error:
        raise VaeError(f"cannot write {path}: {error.strerror or error}") from None
    finally:
        temp.unlink(missing_ok=True)


def sidecar_stem(name: str, tag: str = "", room: int = 24) -> str:
    """``.name`` (plus ``tag``) for a hidden file beside ``name``, shortened with a hash so that ``room`` more bytes
    still fit in a file name: the stem of temporary and lock files."""
    stem = f".{name}{tag}"
    if len(os.fsencode(stem)) + room <= MAX_NAME_BYTES:
        return stem
    digest = hashlib.sha1(os.fsencode(stem)).hexdigest()[:12]
    keep = os.fsencode(stem)[: MAX_NAME_BYTES - room - len(digest) - 1].decode(errors="ignore")
    return f"{keep}~{digest}"


def remove_stale_temporaries(target: Path) -> None:
    """Delete temporary files of ``target`` whose writing process is gone (killed during a save)."""
    stem = sidecar_stem(target.name)
    for candidate in target.parent.glob(f"{glob_escape(stem)}.*.tmp"):
        pid_text = candidate.name.removeprefix(f"{stem}.").split(".", 1)[0]
        if pid_text.isdigit() and not process_alive(int(pid_text)):
            candidate.unlink(missing_ok=True)


def glob_escape(text: str) -> str:
    """``text`` with glob's special characters taken literally."""
    return "".join(f"[{char}]" if char in "*?[" else char for char in text)


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (on this machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return pid < 2**31
    return True


@contextmanager
def writer_lock(path: Path, what: str = "run") -> Iterator[None]:
    """Hold an exclusive lock beside ``path`` while writing it; a second writer fails at once naming the first.

    The lock is ``fcntl.flock`` on a hidden file beside ``path``: the kernel drops it when its holder dies, so a
    killed run never leaves a lock behind. The file is removed on release.
    """
    target = resolve_target(Path(path))
    lock_path = target.parent / f"{sidecar_stem(target.name, room=5)}.lock"
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            if error.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise VaeError(f"cannot lock {lock_path}: {error.strerror}") from None
            raise VaeError(
                f"another process (PID {holder}) is writing {path}: wait for its {what} to end or choose another file"
            ) from None
        # The holder before us may have removed the file between our open and our lock: lock the file on disk.
        if _same_file(fd, lock_path):
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        lock_path.unlink(missing_ok=True)
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (opened.st_dev, opened.st_ino) == (on_disk.st_dev, on_disk.st_ino) and stat.S_ISREG(opened.st_mode)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
