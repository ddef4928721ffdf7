"""Properties of durations (parse/format) and SPIFFE IDs (the SPIFFE-ID standard's rules)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from nhictl.core.durations import format_duration, parse_duration
from nhictl.core.errors import InputError
from nhictl.core.identity.spiffe import (
    MAX_ID_BYTES,
    MAX_TRUST_DOMAIN,
    parse_spiffe_id,
    spiffe_id_problem,
)
from tests.fuzz.targets import check_duration, check_spiffe

MAX_SECONDS = 100 * 366 * 86400

# --------------------------------------------------------------------------- durations


@given(st.integers(1, MAX_SECONDS))
def test_format_then_parse_is_identity(seconds: int) -> None:
    text = format_duration(seconds)
    assert re.fullmatch(r"(\d+d)?(\d+h)?(\d+m)?(\d+s)?", text)
    assert parse_duration(text) == seconds


@given(st.integers(0, 10_000), st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))
def test_compact_and_iso_forms_agree(days: int, hours: int, minutes: int, seconds: int) -> None:
    assume(days or hours or minutes or seconds)
    compact = "".join(
        f"{n}{u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")) if n
    )
    time = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    iso = f"P{f'{days}D' if days else ''}{f'T{time}' if time else ''}"
    expected = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    assert parse_duration(compact) == parse_duration(iso) == expected
    assert parse_duration(f"  {compact}\t") == expected  # surrounding blanks are ignored


@given(st.integers(MAX_SECONDS + 1, 10**12))
def test_longer_than_the_bound_is_refused(seconds: int) -> None:
    with pytest.raises(InputError, match="longer than 100 years"):
        parse_duration(f"{seconds}s")


@given(st.integers(0, 9), st.sampled_from(["30m1h", "1h1h", "1x", "h", "-5m", "1.5h", "1 h"]))
def test_out_of_order_repeated_or_foreign_units_are_refused(digit: int, text: str) -> None:
    with pytest.raises(InputError, match="invalid"):
        parse_duration(text.replace("1", str(digit + 1), 1))


@given(st.text(st.characters(categories=["Nd"]).filter(lambda c: not c.isascii()), min_size=1))
def test_non_ascii_digits_are_refused(digits: str) -> None:
    with pytest.raises(InputError):
        parse_duration(digits[:10] + "m")


@given(st.text(max_size=64))
def test_garbage_text(tmp_path: Path, text: str) -> None:
    check_duration(text.encode(), tmp_path)


# --------------------------------------------------------------------------- SPIFFE IDs

TD_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789.-_"
SEGMENT_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ" + TD_CHARS
TRUST_DOMAINS = st.text(TD_CHARS, min_size=1, max_size=MAX_TRUST_DOMAIN)
SEGMENTS = st.text(SEGMENT_CHARS, min_size=1, max_size=20).filter(lambda s: s not in (".", ".."))
PATHS = st.lists(SEGMENTS, max_size=6).map(lambda segs: "".join("/" + s for s in segs))


@st.composite
def valid_ids(draw: st.DrawFn) -> str:
    value = f"spiffe://{draw(TRUST_DOMAINS)}{draw(PATHS)}"
    assume(len(value) <= MAX_ID_BYTES)
    return value


@given(valid_ids())
def test_generated_valid_ids_are_accepted(value: str) -> None:
    assert spiffe_id_problem(value) is None
    parsed = parse_spiffe_id(value)
    assert str(parsed) == value
    assert value == f"spiffe://{parsed.trust_domain}{parsed.path}"


def _break(value: str, rule: str, data: st.DataObject) -> tuple[str, str]:
    """``value`` (valid) broken by one rule of the standard, and the reason expected."""
    td, _, path = value.removeprefix("spiffe://").partition("/")
    path = "/" + path if path else ""
    if rule == "scheme":
        scheme = data.draw(st.sampled_from(["http", "spiffe:", "spife", "", "urn:spiffe"]))
        return f"{scheme}://{td}{path}", "must start with spiffe://"
    if rule == "uppercase scheme":
        return f"SPIFFE://{td}{path}", "lowercase 'spiffe'"
    if rule == "uppercase trust domain":
        return f"spiffe://{td}X{path}", "lowercase letters"
    if rule == "trust domain char":
        bad = data.draw(st.sampled_from("!$%&'()*+,;=~ \\é"))
        return f"spiffe://{td}{bad}x{path}", "trust domain"
    if rule == "empty trust domain":
        return f"spiffe://{path or '/a'}", "empty trust domain"
    if rule == "port":
        return f"spiffe://{td}:{data.draw(st.integers(0, 65535))}{path}", "port"
    if rule == "userinfo":
        return f"spiffe://user@{td}{path}", "user, password or port"
    if rule == "query or fragment":
        mark = data.draw(st.sampled_from("?#"))
        return f"spiffe://{td}{path}{mark}x", "query or fragment"
    if rule == "dot segment":
        dots = data.draw(st.sampled_from([".", ".."]))
        return f"spiffe://{td}{path}/{dots}", "'.' or '..'"
    if rule == "empty segment":
        return f"spiffe://{td}{path}//a", "empty segments"
    if rule == "trailing slash":
        return f"spiffe://{td}{path}/", "end with '/'"
    if rule == "segment char":
        bad = data.draw(st.sampled_from("!$%&'()*+,;=~ :@é"))
        return f"spiffe://{td}{path}/a{bad}b", "path segments may only"
    if rule == "too long":
        return f"spiffe://{td}{path}/" + "a" * MAX_ID_BYTES, f"longer than {MAX_ID_BYTES}"
    assert rule == "trust domain too long"
    return f"spiffe://{'a' * (MAX_TRUST_DOMAIN + 1)}{path}", "trust domain is longer"


RULES = [
    "scheme",
    "uppercase scheme",
    "uppercase trust domain",
    "trust domain char",
    "empty trust domain",
    "port",
    "userinfo",
    "query or fragment",
    "dot segment",
    "empty segment",
    "trailing slash",
    "segment char",
    "too long",
    "trust domain too long",
]


@pytest.mark.parametrize("rule", RULES)
@given(value=valid_ids(), data=st.data())
def test_each_violation_is_refused_with_its_reason(
    rule: str, value: str, data: st.DataObject
) -> None:
    broken, reason = _break(value, rule, data)
    if rule not in ("too long",):
        assume(len(broken.encode()) <= MAX_ID_BYTES)  # else the length rule speaks first
    problem = spiffe_id_problem(broken)
    assert problem is not None and reason in problem, (broken, problem)
    with pytest.raises(ValueError, match="not a valid SPIFFE ID"):
        parse_spiffe_id(broken)


@given(st.text(max_size=300))
def test_arbitrary_text(tmp_path: Path, text: str) -> None:
    check_spiffe(text.encode(), tmp_path)


@given(valid_ids(), st.integers(0, 3000), st.characters())
def test_one_character_inserted(tmp_path: Path, value: str, pos: int, char: str) -> None:
    pos %= len(value) + 1
    check_spiffe((value[:pos] + char + value[pos:]).encode(), tmp_path)
