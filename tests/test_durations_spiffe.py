from __future__ import annotations

import pytest

from nhictl.core.durations import format_duration, parse_duration
from nhictl.core.errors import InputError
from nhictl.core.identity.spiffe import parse_spiffe_id, spiffe_id_problem


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("10m", 600), ("1h30m", 5400), ("2d", 172800), ("PT15M", 900), ("P1DT1H", 90000)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "m10", "1.5h", "P", "PT", "10 minutes", "-5m", "P1DT"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(InputError, match="invalid"):
        parse_duration(text)


def test_parse_duration_rejects_absurd_lengths() -> None:
    with pytest.raises(InputError, match="100 years"):
        parse_duration("99999d")


def test_format_duration_round_trips() -> None:
    for seconds in (60, 90, 3600, 5400, 86400 + 61):
        assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize(
    "value",
    [
        "spiffe://prod.example.com/ns/finance/sa/invoice-reconciler",
        "spiffe://example.org",
        "spiffe://td_1.example-2/a.b/c_d-e",
    ],
)
def test_valid_spiffe_ids(value: str) -> None:
    assert spiffe_id_problem(value) is None
    assert str(parse_spiffe_id(value)) == value


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("https://example.org/a", "must start with spiffe://"),
        ("SPIFFE://example.org/a", "lowercase"),
        ("spiffe:///a", "empty trust domain"),
        ("spiffe://Example.org/a", "lowercase letters"),
        ("spiffe://user@example.org/a", "user, password or port"),
        ("spiffe://example.org:8443/a", "user, password or port"),
        ("spiffe://example.org/a//b", "empty segments"),
        ("spiffe://example.org/a/", "empty segments"),
        ("spiffe://example.org/", "must not end with '/'"),
        ("spiffe://example.org/a/../b", "'.' or '..'"),
        ("spiffe://example.org/a/./b", "'.' or '..'"),
        ("spiffe://example.org/a%20b", "path segments may only"),
        ("spiffe://example.org/a?x=1", "query or fragment"),
        ("spiffe://example.org/a#f", "query or fragment"),
        ("spiffe://example.org/" + "a" * 2100, "longer than 2048"),
    ],
)
def test_invalid_spiffe_ids(value: str, reason: str) -> None:
    problem = spiffe_id_problem(value)
    assert problem is not None and reason in problem
    with pytest.raises(ValueError, match="not a valid SPIFFE ID"):
        parse_spiffe_id(value)
