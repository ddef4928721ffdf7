"""Durations in manifests and flags: ``90s``, ``10m``, ``1h30m``, ``2d``, ``PT15M``."""

from __future__ import annotations

import re

from nhictl.core.errors import InputError

# re.ASCII: \d would otherwise accept any Unicode digit (e.g. fullwidth digits).
# Compact form: units in descending order, each at most once (``1h30m``, not ``30m1h``).
_COMPACT = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", re.ASCII)
# ISO-8601 durations without years/months: those have no fixed length in seconds.
_ISO = re.compile(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", re.ASCII)

_MAX_TEXT = 32
# A hundred years: far above any sane TTL or review period, and well inside Cedar's 64-bit Long.
_MAX_SECONDS = 100 * 366 * 86400


def parse_duration(text: str) -> int:
    """Return the number of seconds in ``text``; raise ``InputError`` if it is not a duration."""
    if not isinstance(text, str):
        raise InputError(f"duration must be a string such as '10m', got {type(text).__name__}")
    raw = text.strip()
    if not raw or len(raw) > _MAX_TEXT:
        raise InputError(
            f"invalid duration {text[:_MAX_TEXT]!r}: expected e.g. 90s, 10m, 1h30m, 2d or PT15M"
        )
    if raw[0] in "Pp":
        iso = _ISO.fullmatch(raw.upper())
        # "P" and "PT" alone match the pattern but name no duration.
        if iso is None or not any(iso.groups()) or raw.upper().endswith("T"):
            raise InputError(
                f"invalid ISO-8601 duration {raw!r}: expected e.g. PT15M, PT1H30M, P1D"
            )
        weeks, days, hours, minutes, seconds = (int(g or 0) for g in iso.groups())
        days += 7 * weeks
    else:
        compact = _COMPACT.fullmatch(raw)
        if compact is None or not any(compact.groups()):
            raise InputError(
                f"invalid duration {raw!r}: expected e.g. 90s, 10m, 1h30m, 2d or PT15M"
            )
        days, hours, minutes, seconds = (int(g or 0) for g in compact.groups())
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    if total > _MAX_SECONDS:
        raise InputError(f"duration {raw!r} is longer than 100 years")
    return total


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
