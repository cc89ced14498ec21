"""Checking JSON read from a file before anything trusts it: bounded size and nesting, then types field by field.

Every format vae-explorer reads (checkpoint, resume state, atlas, and any later one such as a training history)
parses its JSON with :func:`parse_json` and checks it against a schema built from the small checks below, so a
hostile value is one VaeError naming the field instead of a crash, a hang or a huge allocation deep inside a
command. No torch here.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from vae_core.errors import VaeError

MAX_JSON_CHARS = 1 << 24
"""The most characters of JSON read in one piece: a checkpoint's header is a few kilobytes, a resume file's grows
by about 250 per epoch trained."""
MAX_DEPTH = 12
"""The deepest nesting of lists and objects accepted: vae-explorer writes at most four levels."""
MAX_STRING_CHARS = 10_000
"""The longest string accepted anywhere in metadata (a command line, a path)."""
MAX_ITEMS = 100_000
"""The most entries in one list or object."""

Check = Callable[[Any, str], Any]
"""A check takes a value and its name (for messages), and returns the value or raises VaeError."""

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def parse_json(text: str | bytes, what: str, max_string: int = MAX_STRING_CHARS) -> Any:
    """JSON from a file, refused before parsing where it is too long or too deeply nested, then bounded (strings to
    ``max_string`` characters)."""
    if isinstance(text, bytes):
        try:
            text = text.decode()
        except UnicodeDecodeError:
            raise VaeError(f"{what} is not UTF-8 text") from None
    if len(text) > MAX_JSON_CHARS:
        raise VaeError(f"{what} is {len(text):,} characters long, more than the {MAX_JSON_CHARS:,} allowed")
    depth = 0
    for bracket in re.findall(r"[\[\]{}]", _STRINGS.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_DEPTH:
            raise VaeError(f"{what} is nested more than {MAX_DEPTH} levels deep")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise VaeError(f"{what} is not valid JSON ({' '.join(str(error).split())[:120]})") from None
    bounded(value, what, max_string)
    return value


def bounded(value: Any, what: str, max_string: int = MAX_STRING_CHARS) -> Any:
    """Any JSON value whose strings and containers stay within the limits above (NaN refused)."""
    if isinstance(value, str):
        if len(value) > max_string:
            raise VaeError(f"{what} holds a string of {len(value):,} characters, more than {max_string:,}")
    elif isinstance(value, float) and math.isnan(value):
        raise VaeError(f"{what} is NaN")
    elif isinstance(value, list | dict):
        if len(value) > MAX_ITEMS:
            raise VaeError(f"{what} holds {len(value):,} entries, more than {MAX_ITEMS:,}")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            bounded(key, what, max_string)
            bounded(item, f"{what}.{key}" if isinstance(value, dict) else f"{what}[{key}]", max_string)
    return value


# ---- checks, combined into schemas ----------------------------------------------------------------------------------


def whole(low: int = 0, high: int = 2**63 - 1) -> Check:
    """A whole number (not a bool) within [low, high]."""

    def check(value: Any, name: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise VaeError(f"{name} must be a whole number from {low:,} to {high:,}, got {short(value)}")
        return value

    return check


def number(low: float = -math.inf, allow_infinite: bool = False) -> Check:
    """A real number (int or float, not a bool) at least ``low``; finite unless ``allow_infinite``."""

    def check(value: Any, name: str) -> float:
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or math.isnan(value)
            or not (allow_infinite or math.isfinite(value))
            or value < low
        ):
            limit = "" if low == -math.inf else f" of at least {low:g}"
            raise VaeError(f"{name} must be a {'' if allow_infinite else 'finite '}number{limit}, got {short(value)}")
        return value

    return check


def text(value: Any, name: str) -> str:
    """A string (its length is bounded by :func:`parse_json`)."""
    if not isinstance(value, str):
        raise VaeError(f"{name} must be text, got {short(value)}")
    return value


def flag(value: Any, name: str) -> bool:
    """true or false."""
    if not isinstance(value, bool):
        raise VaeError(f"{name} must be true or false, got {short(value)}")
    return value


def anything(value: Any, name: str) -> Any:
    """Any JSON value (already bounded by :func:`parse_json`)."""
    return value


def optional(check: Check) -> Check:
    """``check``, or null."""
    return lambda value, name: None if value is None else check(value, name)


def list_of(check: Check) -> Check:
    """A list whose every item passes ``check``."""

    def check_list(value: Any, name: str) -> list[Any]:
        if not isinstance(value, list):
            raise VaeError(f"{name} must be a list, got {short(value)}")
        return [check(item, f"{name}[{index}]") for index, item in enumerate(value)]

    return check_list


def record(fields: dict[str, Check], optional_keys: frozenset[str] = frozenset(), open_ended: bool = False) -> Check:
    """An object with exactly these fields (those in ``optional_keys`` may be absent; with ``open_ended`` any other
    key is allowed too, unchecked)."""

    def check(value: Any, name: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise VaeError(f"{name} must be an object, got {short(value)}")
        missing = [key for key in fields if key not in value and key not in optional_keys]
        if missing:
            raise VaeError(f"{name} lacks {', '.join(missing)}")
        unknown = [key for key in value if key not in fields]
        if unknown and not open_ended:
            raise VaeError(f"{name} has unknown fields {', '.join(map(short, unknown))}")
        return {key: fields[key](item, f"{name}.{key}") if key in fields else item for key, item in value.items()}

    return check


def short(value: Any, limit: int = 40) -> str:
    """A value as it could appear in a message: its repr, cut to ``limit`` characters."""
    shown = repr(value) if not isinstance(value, dict | list) else type(value).__name__
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
