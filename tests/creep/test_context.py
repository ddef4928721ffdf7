"""Context helpers shared by the rules: per-service counts and samples."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from nhictl.creep.context import AuditOptions, Context, _run_of
from nhictl.creep.effective import Expander
from nhictl.creep.model import Snapshot
from nhictl.providers.aws.knowledge import aws_knowledge


def _naive(mask: int, per_service: dict[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s, smask in per_service.items():
        if mask & smask:
            out[s] = (mask & smask).bit_count()
            if len(out) >= 25:
                break
    return out


def test_run_of() -> None:
    assert _run_of(0) is None
    assert _run_of(0b1110000) == (4, 3)
    assert _run_of(1 << 500) == (500, 1)
    assert _run_of(0b1011) is None


def test_by_service_counts_match_the_plain_popcounts() -> None:
    # Counts cut from the mask's bytes per service run must equal popcounts of the slices,
    # also for a service that an unknown action made two runs.
    kn = aws_knowledge()
    cat = kn.catalog
    snap = Snapshot(provider="aws", accounts=(), principals={}, policies={})
    ctx = Context(snap, kn, AuditOptions(now=datetime(2026, 1, 1, tzinfo=UTC)), Expander(cat), {})
    rng = random.Random(7)
    services = sorted(cat.services())

    def check() -> None:
        width = cat.all_mask.bit_length()
        for _ in range(40):
            mask = rng.getrandbits(width) & rng.getrandbits(width) & cat.all_mask
            picked = sorted(rng.sample(services, 30))
            per_service = {s: cat.service_mask(s) & rng.getrandbits(width) for s in picked}
            assert ctx.by_service(mask, per_service) == _naive(mask, per_service)
        mask = rng.getrandbits(width) & cat.all_mask
        everything = {s: cat.service_mask(s) for s in sorted(cat.services())}
        assert ctx.by_service(mask) == _naive(mask, everything)

    check()
    cat.expand("s3:SomethingNew")  # s3 is no longer one run of bits
    cat.expand("zzznew:DoIt")  # a service of its own at the end
    services = sorted(cat.services())
    check()
