"""Coverage-guided fuzzing (atheris/libFuzzer) of one input loader, for a bounded time.

    python fuzz/run.py manifest --seconds 60     # fuzz one target
    python fuzz/run.py --list                    # the targets
    python fuzz/run.py manifest --replay FILE    # re-run one input (a crash, a corpus entry)

The checkers are the ones the property tests use (tests/fuzz/targets.py). The corpus starts from
the sample inputs in sample-configs/ and grows in fuzz/corpus/<target>/ (not committed); an input
that breaks the contract is saved as fuzz/crashes/<target>/crash-<sha1> and the run exits 1.
Needs the ``fuzz`` extra: ``pip install -e '.[fuzz]'``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAMPLES = ROOT / "sample-configs"
# Seeds per target: globs under sample-configs/ (the valid shapes mutation starts from).
SEEDS = {
    "manifest": ["agents/*.yaml", "aws/manifests/*.yaml", "examples-invalid/*.yaml"],
    "duration": [],
    "spiffe": [],
    "exclusions": ["*/exclusions.yaml"],
    "aws-snapshot": ["aws/authorization-details.json"],
    "aws-last-accessed": ["aws/last-accessed.json"],
    "aws-access-keys": ["aws/access-keys.json"],
    "aws-audit": ["aws/authorization-details.json"],
}
LITERAL_SEEDS = {
    "duration": [b"90s", b"1h30m", b"PT15M", b"P1W2DT3H", b"2d"],
    "spiffe": [b"spiffe://example.org/ns/prod/sa/agent", b"spiffe://td"],
}


def seed_corpus(target: str, corpus: Path) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    for pattern in SEEDS[target]:
        for path in sorted(SAMPLES.glob(pattern)):
            shutil.copyfile(path, corpus / f"seed-{path.parent.name}-{path.name}")
    for i, data in enumerate(LITERAL_SEEDS.get(target, [])):
        (corpus / f"seed-{i}").write_bytes(data)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", nargs="?", choices=sorted(SEEDS), help="the loader to fuzz")
    parser.add_argument("--seconds", type=int, default=60, help="stop after this long")
    parser.add_argument("--replay", type=Path, help="run this one input instead of fuzzing")
    parser.add_argument("--list", action="store_true", help="print the targets and exit")
    args, libfuzzer_args = parser.parse_known_args(argv[1:])
    if args.list:
        print("\n".join(sorted(SEEDS)))
        return 0
    if args.target is None:
        parser.error("name a target (--list shows them)")

    import atheris  # type: ignore[import-untyped]

    with atheris.instrument_imports(include=["nhictl"]):
        from tests.fuzz.targets import TARGETS
    check = TARGETS[args.target]
    workdir = Path(tempfile.mkdtemp(prefix=f"nhictl-fuzz-{args.target}-"))

    if args.replay is not None:
        check(args.replay.read_bytes(), workdir)
        print(f"{args.replay}: no contract violation")
        return 0

    corpus = ROOT / "fuzz" / "corpus" / args.target
    crashes = ROOT / "fuzz" / "crashes" / args.target
    crashes.mkdir(parents=True, exist_ok=True)
    seed_corpus(args.target, corpus)

    def one_input(data: bytes) -> None:
        check(data, workdir)

    atheris.Setup(
        [
            argv[0],
            f"-max_total_time={args.seconds}",
            f"-artifact_prefix={crashes}/",
            "-max_len=65536",
            "-rss_limit_mb=1024",
            "-print_final_stats=1",
            *libfuzzer_args,
            str(corpus),
        ],
        one_input,
    )
    atheris.Fuzz()  # exits the process: 0 when the time is up, non-zero on a crash
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
