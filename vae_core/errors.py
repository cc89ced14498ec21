"""The one exception type for mistakes a user can make (bad paths, files, devices, numbers)."""


class VaeError(Exception):
    """An error whose message is written for the person at the keyboard.

    Front ends print ``str(error)`` as a single line and exit non-zero; they never show a traceback for it.
    """
