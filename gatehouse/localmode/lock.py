"""One ``gatehouse local`` per state directory.

A second instance on the same ``--state-dir`` would regenerate the first one's PKI (CA, server
and client certificates, CRL) under its feet: the first one's walkthrough and mTLS calls would
then fail. Each instance therefore holds an exclusive ``flock`` on ``<state-dir>/local.lock``
while it runs; the lock file also records the holder's pid, for the error message. The kernel
drops the lock when the process ends, however it ends, so a crashed instance leaves no stale
lock behind (the file stays; only the lock matters).

Where ``fcntl`` does not exist (Windows), there is no lock: the pid is still written.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO, Final

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_NAME: Final = "local.lock"


class StateDirInUse(Exception):
    """Another running ``gatehouse local`` uses this state directory."""

    def __init__(self, state_dir: Path, pid: int | None) -> None:
        holder = f"pid {pid}" if pid is not None else "another process"
        super().__init__(
            f"another gatehouse local ({holder}) is running with --state-dir {state_dir}"
        )
        self.state_dir = state_dir
        self.pid = pid


class StateLock:
    """Held from :func:`acquire` until :meth:`release` (idempotent) or the process ends."""

    def __init__(self, path: Path, handle: IO[str]) -> None:
        self.path = path
        self._handle: IO[str] | None = handle

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        with contextlib.suppress(OSError):
            handle.seek(0)
            handle.truncate()
            handle.flush()
        if fcntl is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()


def acquire(state_dir: Path) -> StateLock:
    """Lock ``state_dir`` (which must exist) for this process, or raise :class:`StateDirInUse`."""
    path = state_dir / LOCK_NAME
    handle = path.open("a+", encoding="utf-8")
    try:
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StateDirInUse(state_dir, _pid(handle)) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
    except BaseException:
        handle.close()
        raise
    return StateLock(path, handle)


def _pid(handle: IO[str]) -> int | None:
    handle.seek(0)
    text = handle.read().strip()
    return int(text) if text.isdigit() else None
