"""The one exception type for mistakes a user can make (bad paths, files, devices, numbers), and the one line a front
end shows for any other exception: a bug, whose traceback goes to a log file for the report."""

from __future__ import annotations

import os
import tempfile
import time
import traceback
from pathlib import Path


class VaeError(Exception):
    """An error whose message is written for the person at the keyboard.

    Front ends print ``str(error)`` as a single line and exit non-zero; they never show a traceback for it. The
    message is folded onto one line here, since parts of it may come from a file (a key, a value) or a library.
    """

    def __init__(self, message: object = "") -> None:
        super().__init__(" ".join(str(message).split()))


def unexpected_error_line(error: BaseException) -> str:
    """The one line to show for an exception that is not a VaeError, naming the log file that holds its traceback."""
    text = " ".join(str(error).split())[:200]
    return f"unexpected {type(error).__name__}: {text}; this is a bug: please report it with {write_crash_log(error)}"


def write_crash_log(error: BaseException) -> Path | str:
    """Write the full traceback of an unexpected error to a log file (the per-user log folder, else the temporary
    folder); where it went."""
    from platformdirs import user_log_path

    name = f"vae-crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    for folder in (user_log_path("vae-explorer"), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text("".join(traceback.format_exception(error)))
        except OSError:
            continue
        return folder / name
    return "no log file (neither the log folder nor the temporary folder is writable)"
