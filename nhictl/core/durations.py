"""Durations in manifests and flags: ``90s``, ``10m``, ``1h30m``, ``2d`` or ISO 8601 ``PT15M``."""

from __future__ import annotations

import re

from nhictl.core.errors import InputError

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_COMPACT = re.compile(r"(?:[0-9]+[smhd])+")
_COMPACT_PART = re.compile(r"([0-9]+)([smhd])")
_ISO = re.compile(r"P(?:([0-9]+)D)?(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+)S)?)?")
# Ten years: anything longer is a typo, and bounding it keeps arithmetic on datetimes safe.
MAX_SECONDS = 10 * 365 * 86400


def parse_duration(text: str) -> int:
    """Return the number of seconds in ``text``; raise ``InputError`` if it is not a duration."""
    value = text.strip()
    seconds: int | None = None
    if _COMPACT.fullmatch(value):
        seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _COMPACT_PART.findall(value))
    else:
        iso = _ISO.fullmatch(value)
        if iso and value not in ("P", "PT") and not value.endswith("T"):
            days, hours, minutes, secs = (int(g) if g else 0 for g in iso.groups())
            seconds = days * 86400 + hours * 3600 + minutes * 60 + secs
    if seconds is None:
        raise InputError(
            f"{text!r} is not a duration (use e.g. 90s, 10m, 1h30m, 2d or ISO 8601 PT15M)"
        )
    if seconds > MAX_SECONDS:
        raise InputError(f"{text!r} is longer than ten years")
    return seconds


def format_duration(seconds: int) -> str:
    """Render seconds compactly (``5400`` -> ``1h30m``), the inverse of ``parse_duration``."""
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
