"""Mint/verify throughput of nhictl.core.tokens next to raw PyJWT with the same key.

    python benchmarks/bench_tokens.py [--n 3000] [--alg EdDSA|ES256|all]

The raw floor is ``jwt.encode`` / ``jwt.decode`` with the same key and claims; the ratio shows
what our RFC 8725 screening (strict JSON re-parse, header screen, key binding, claim checks)
costs on top. Not a test: no assertions on timing.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt

from nhictl.core.keys import KeyAlg, KeyStore
from nhictl.core.tokens import load_jwks, mint_access_token, verify_access_token

ISS = "https://nhictl.example/registry"
AUD = "https://api.example/reports"


def _once(fn: Callable[[int], object], n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - start)


def compare(
    ours: Callable[[int], object], raw: Callable[[int], object], n: int, rounds: int = 5
) -> tuple[float, float]:
    """Best-of-``rounds`` rates, alternating the two so load from others hits both alike."""
    ours(0)
    raw(0)
    best_ours = best_raw = 0.0
    for _ in range(rounds):
        best_ours = max(best_ours, _once(ours, n))
        best_raw = max(best_raw, _once(raw, n))
    return best_ours, best_raw


def bench(alg: KeyAlg, n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = KeyStore(Path(tmp))
        store.create(alg)
        key = store.current()
        keyset = load_jwks(store.public_jwks())
        now = datetime.now(UTC)

        def ours_mint(i: int) -> str:
            return mint_access_token(
                key,
                issuer=ISS,
                subject="spiffe://demo.test/agents/a",
                audience=AUD,
                client_id="a",
                scopes=["reports:read"],
                ttl=timedelta(minutes=10),
                task_id=f"task-{i}",
                intent="summarise",
                data_sensitivity="internal",
                environment="staging",
                tools=["s3"],
                status_index=i,
                status_uri=ISS + "/status",
                now=now,
            ).token

        token = ours_mint(1)
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})

        def raw_mint(i: int) -> str:
            return jwt.encode(
                claims, key.private_key, algorithm=alg, headers={"typ": "at+jwt", "kid": key.kid}
            )

        def ours_verify(i: int) -> dict[str, Any]:
            return verify_access_token(token, keyset, issuer=ISS, audience=AUD, now=now)

        public = key.private_key.public_key()

        def raw_verify(i: int) -> dict[str, Any]:
            out: dict[str, Any] = jwt.decode(
                token, public, algorithms=[alg], audience=AUD, issuer=ISS
            )
            return out

        mint_ours, mint_raw = compare(ours_mint, raw_mint, n)
        ver_ours, ver_raw = compare(ours_verify, raw_verify, n)
        print(
            f"{alg:6} mint   nhictl {mint_ours:8.0f}/s   raw PyJWT {mint_raw:8.0f}/s   "
            f"ratio {mint_ours / mint_raw:.2f}"
        )
        print(
            f"{alg:6} verify nhictl {ver_ours:8.0f}/s   raw PyJWT {ver_raw:8.0f}/s   "
            f"ratio {ver_ours / ver_raw:.2f}"
        )
        print(f"{alg:6} token size {len(token)} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--alg", choices=["EdDSA", "ES256", "all"], default="all")
    args = parser.parse_args()
    algs: list[KeyAlg] = ["EdDSA", "ES256"] if args.alg == "all" else [args.alg]
    for alg in algs:
        bench(alg, args.n)


if __name__ == "__main__":
    main()
