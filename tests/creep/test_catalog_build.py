"""The AWS catalog's bulk build: names, levels, scopability and service ranges per action."""

from __future__ import annotations

from nhictl.providers.aws.catalog import AwsActionCatalog


def test_bulk_build_indexes_every_action() -> None:
    cat = AwsActionCatalog(
        {"s3": "GetObject:Rs;ListAllMyBuckets:L", "IAM": "PassRole:Ps;TagRole:Ts"}
    )
    assert len(cat) == 4
    assert cat.names(cat.all_mask) == ["s3:GetObject", "s3:ListAllMyBuckets", "IAM:PassRole",
                                       "IAM:TagRole"]  # fmt: skip
    assert [cat.index(a) for a in ("S3:getobject", "iam:passrole", "s3:nope")] == [0, 2, None]
    assert cat.level("s3:listallmybuckets") == "List"
    assert cat.level_mask("Read") == 0b0001
    assert cat.level_mask("List") == 0b0010
    assert cat.level_mask("Permissions management") == 0b0100
    assert cat.level_mask("Tagging") == 0b1000
    assert cat.level_mask("Write") == 0
    assert cat.level_mask("Unknown") == 0
    assert cat.scopable_mask() == 0b1101
    assert cat.service_mask("s3") == 0b0011
    assert cat.service_mask("IAM") == 0b1100
    assert cat.expand("s3:get*") == 0b0001


def test_empty_catalog() -> None:
    cat = AwsActionCatalog({})
    assert (len(cat), cat.all_mask, cat.scopable_mask()) == (0, 0, 0)


def test_wildcards_match_like_globs_over_the_shipped_catalog() -> None:
    import re

    from nhictl.providers.aws.catalog import load_catalog

    cat = load_catalog()
    names = cat.names(cat.all_mask)
    for pattern in ("*:Get*", "s3:Get*", "s3:get*acl", "ec2:*Instances", "*:*Tag*", "iam:?et*"):
        rx = re.compile(
            "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern),
            re.IGNORECASE,
        )
        expected = {n for n in names if rx.fullmatch(n)}
        assert set(cat.names(cat.expand(pattern))) == expected, pattern


def test_prefix_patterns_see_actions_added_later() -> None:
    # Prefix patterns search a sorted index of each service's names: an unknown action added
    # after the index was built must still be found by the next prefix pattern.
    cat = AwsActionCatalog({"svc": "PutB:Ws;GetZ:Rs;GetA:Rs;Get:Rs;Gets:Rs;Other:Rs"})
    assert set(cat.names(cat.expand("svc:Get*"))) == {"svc:GetZ", "svc:GetA", "svc:Get", "svc:Gets"}
    assert cat.names(cat.expand("svc:GETA*")) == ["svc:GetA"]
    assert cat.expand("svc:Nope*") == 0
    new = cat.expand("svc:GetNew")  # unknown: appended with its own bit
    assert cat.expand("svc:Get*") & new
    assert cat.expand("svc:Gets*") == cat.expand("svc:Gets")


def test_weight_by_nested_level_masks_matches_the_per_level_sum() -> None:
    # weight() adds increments over nested level masks; it must equal the plain sum of
    # level weights, also once the catalog has grown an unknown action (weight 2).
    from nhictl.creep.catalog import LEVEL_WEIGHT, weight

    cat = AwsActionCatalog(
        {"s3": "GetObject:Rs;ListAllMyBuckets:L;PutObject:Ws", "iam": "PassRole:Ps;TagRole:Ts"}
    )

    def plain(mask: int) -> int:
        total = 0
        for lv, w in LEVEL_WEIGHT.items():
            total += w * (mask & cat.level_mask(lv)).bit_count()  # type: ignore[arg-type]
        return total

    for mask in range(1 << len(cat)):
        assert weight(cat, mask) == plain(mask) == weight(cat, mask, mask.bit_count())
    assert weight(cat, cat.all_mask) == 2 + 1 + 3 + 10 + 1
    new = cat.expand("s3:BrandNew")
    assert weight(cat, cat.all_mask) == plain(cat.all_mask) == 17 + 2
    assert weight(cat, new) == 2


def test_names_with_a_limit_are_the_lowest_bits_in_order() -> None:
    # names() peels the lowest bits through a small window; across window edges, sparse
    # and dense masks it must give the first names in catalog order.
    import random

    from nhictl.creep.catalog import iter_bits
    from nhictl.providers.aws.catalog import load_catalog

    cat = load_catalog()
    every = cat.names(cat.all_mask)
    rng = random.Random(5)
    width = cat.all_mask.bit_length()
    masks = [0, 1, 1 << (width - 1), cat.all_mask]
    masks += [(0b111 << b) | 1 << (b + 64) | 1 << (b + 129) for b in range(0, 200, 7)]
    masks += [rng.getrandbits(width) & rng.getrandbits(width) for _ in range(20)]
    masks += [sum(1 << rng.randrange(width) for _ in range(rng.randint(1, 70))) for _ in range(50)]
    for mask in masks:
        bits = list(iter_bits(mask))
        for limit in (1, 3, 10, 64):
            assert cat.names(mask, limit) == [every[i] for i in bits[:limit]]
