"""The bitset mechanics the three provider catalogs share (nhictl.creep.bitcatalog)."""

from __future__ import annotations

import gzip
import json
import random

from nhictl.creep.bitcatalog import BitCatalog, glob_regex, letters_mask, mask_of
from nhictl.creep.catalog import AccessLevel, iter_bits
from nhictl.providers.catalog_file import CODE_LEVELS, LEVEL_CODES, pack, unpack


class _Catalog(BitCatalog):
    """A minimal provider: actions are ``svc.name``, patterns exact names or globs."""

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        for name in names:
            self.add_action(name, name.split(".", 1)[0], "Read")
        self.matched: list[str] = []

    def expand_uncached(self, key: str) -> int:
        self.matched.append(key)
        rx = glob_regex(key)
        return mask_of([i for i, n in enumerate(self.action_names) if rx.fullmatch(n.lower())])

    def services_of_uncached(self, pattern: str) -> frozenset[str]:
        return frozenset((pattern.split(".", 1)[0],))

    def index(self, action: str) -> int | None:
        names = [n.lower() for n in self.action_names]
        return names.index(action.lower()) if action.lower() in names else None

    def level(self, action: str) -> AccessLevel:
        return "Read"


def test_add_action_gives_the_next_bit_and_a_new_all_mask() -> None:
    cat = _Catalog(["a.x", "a.y", "b.z"])
    before = cat.all_mask
    assert (len(cat), before) == (3, 0b111)
    assert cat.service_mask("a") == 0b011 and cat.service_mask("B") == 0b100  # "b" as well
    assert list(cat.services()) == ["a", "b"]
    assert cat.add_action("a.w", "a", "Unknown") == 3
    assert cat.all_mask == 0b1111 and cat.all_mask is not before
    assert cat.level_mask("Unknown") == 0b1000 and cat.level_mask("Read") == 0b0111
    assert cat.level_mask("Write") == 0 and cat.scopable_mask() == 0


def test_expand_matches_each_pattern_once_and_forgets_wildcards() -> None:
    cat = _Catalog(["a.x", "a.y"])
    assert cat.expand(" A.* ") == cat.expand("a.*") == 0b11
    assert cat.expand("a.x") == 0b01
    assert cat.matched == ["a.*", "a.x"]
    cat.expand_cache["role:r"] = 0b01
    cat.add_action("a.z", "a", "Read")
    cat.forget_wildcards()
    assert sorted(cat.expand_cache) == ["a.x", "role:r"]
    cat.forget_wildcards("role:")
    assert sorted(cat.expand_cache) == ["a.x"]
    assert cat.expand("a.*") == 0b111
    assert cat.services_of("a.x") is cat.services_of("a.x")


def test_names_is_every_path_the_same_as_walking_the_bits() -> None:
    # Windowed peeling (a limit, or few bits), a step per bit (large sparse sets) and the
    # byte-per-position selection (large dense sets) must agree on every mask.
    width = 3000
    cat = _Catalog([f"s{i // 100}.a{i}" for i in range(width)])
    rng = random.Random(11)
    masks = [0, 1, 1 << (width - 1), cat.all_mask]
    masks += [(0b111 << b) | 1 << (b + 64) | 1 << (b + 129) for b in range(0, 200, 7)]
    masks += [rng.getrandbits(width) & rng.getrandbits(width) for _ in range(10)]
    masks += [sum(1 << rng.randrange(width) for _ in range(rng.randint(1, 400))) for _ in range(40)]
    masks += [rng.getrandbits(n) for n in (70, 200, 1100, 2000)]  # dense, short
    for mask in masks:
        want = [cat.action_names[i] for i in iter_bits(mask)]
        assert cat.names(mask) == want
        for limit in (1, 3, 10, 64, 500):
            assert cat.names(mask, limit) == want[:limit]


def test_helpers() -> None:
    assert letters_mask("", "R") == 0
    assert letters_mask("RLRW", "R") == 0b0101
    assert mask_of([]) == 0 and mask_of((0, 9, 3)) == 0b1000001001
    rx = glob_regex("a?c*")
    assert rx is glob_regex("a?c*")
    assert rx.fullmatch("abc/de") and not rx.fullmatch("ac")
    assert not glob_regex("a.c").fullmatch("abc")  # only * and ? are special


def test_catalog_file_round_trip() -> None:
    # The shipped files are what pack() writes: rebuilding from their content gives their bytes.
    for package, name, sort_keys in (
        ("nhictl.providers.aws", "data/actions.v1.json.gz", False),
        ("nhictl.providers.azure", "data/roles.v1.json.gz", False),
        ("nhictl.providers.gcp", "data/roles.v1.json.gz", True),
    ):
        data = unpack(package, name)
        assert pack(data, sort_keys=sort_keys) == _shipped(package, name)
    assert gzip.decompress(pack({"b": 1, "a": [1]}, sort_keys=True)) == b'{"a":[1],"b":1}'
    assert json.loads(gzip.decompress(pack({"b": 1, "a": 2}))) == {"b": 1, "a": 2}
    assert len(CODE_LEVELS) == 5 and all(CODE_LEVELS[c] == lv for lv, c in LEVEL_CODES.items())


def _shipped(package: str, name: str) -> bytes:
    from importlib import resources

    return resources.files(package).joinpath(name).read_bytes()
