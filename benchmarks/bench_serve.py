"""``nhictl serve`` under load: token exchanges and introspections against a real server
process (TLS, loopback), next to the core API's issue rate measured in the same run.

    python benchmarks/bench_serve.py [--n 2000] [--clients 32] [--workers 2]
                                     [--introspections 3000] [--budget 60] [--profile 8]
                                     [--generator auto|wrk|python]

* One registry (SQLite, shipped configuration) with 16 bench agents, trusted through a demo
  SPIFFE bundle; a throwaway CA for the server's TLS certificate.
* Core: ``Runtime().credentials.issue`` in this process, ``--n`` times, while the server is not
  running (the same store, the same policies), timed per call.
* Load generator: ``wrk`` (compiled; one thread, ``--clients`` keep-alive TLS connections, the
  script ``bench_serve.lua``), installed from Debian's packages when missing and this runs as
  root or with password-less sudo (it says so); else, or with ``--generator python``, asyncio +
  httpx in this process (which then takes ~1.9 ms of CPU per request from the same cores).
  Every request body is built beforehand and sent once; wrk stops at the count and reports
  per-request percentiles (it does not verify the server's certificate: loopback, our own).
* Exchange: the clients share ``--n`` RFC 8693 exchanges (each agent's SVID minted once, as
  agents cache them), each timed from request to reply. Rate limits are lifted for the run.
* Introspect: the clients share ``--introspections`` RFC 7662 calls on the issued tokens,
  each with a fresh ``private_key_jwt`` assertion signed before the clock starts; then
  the same count with the resource server's bearer token for ``/introspect`` (RFC 7662
  section 2.1, one ``client_credentials`` grant beforehand), the way a resource server that
  introspects often would call it. Both phases go over the exchanged tokens again and again
  (each is introspected ~1.5 times per phase, as a resource server sees an agent's token on
  each of its calls), so a worker often has a token's signature in its memo already. The
  last phase, ``new tokens``, sends the bearer calls on the core's tokens, which no worker has
  seen: every signature is checked (the worst case).
* Floor (wrk only): the same clients send ``--introspections`` GETs of the metadata (a
  constant reply, no core call, no store): what HTTP, TLS, Starlette and the service's limits,
  metrics and access log cost on their own, in the same run.
* ``--profile S``: py-spy samples the server's worker processes for S seconds during a second
  exchange load (not the timed one), and the top functions by own time and the nhictl frames by
  total time are printed: where the time goes.
* ``--budget`` bounds each phase (seconds); the counts actually done are what the rates use.

The load generator shares the machine's cores with the server (wrk takes ~0.03 ms of CPU per
request). Not a test: nothing here asserts on timing; the targets are printed next to the
figures.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import resource
import secrets
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from benchmarks.bench_credentials import TRUST_DOMAIN, setup_home
from benchmarks.proccpu import process_cpu
from tests.providers.tlsca import make_ca

INTENT_DEFAULT = "read-tickets"
RS_ID = "bench-rs"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
KEY_JWT = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TARGETS = "targets: exchange >= 60 % of core issue/s, p99 <= 50 ms, 0 errors; introspect >= 3000/s"


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    seconds: float = 0.0
    client_cpu: float = 0.0  # CPU seconds of the load generator (this process, or wrk)
    server_cpu: float = 0.0  # CPU seconds of the server and its workers
    # wrk reports a count and per-request percentiles (ms), not every latency.
    done: int | None = None
    percentiles: dict[int, float] | None = None

    @property
    def ok(self) -> int:
        return self.done if self.done is not None else len(self.latencies)

    def cpu_line(self) -> str:
        n = self.ok + sum(self.errors.values())
        if not n or not self.server_cpu:
            return ""
        return (
            f"{'':12} CPU per request: server {1000 * self.server_cpu / n:.2f} ms, "
            f"load generator {1000 * self.client_cpu / n:.2f} ms"
        )

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def percentile(self, q: int) -> float:
        if self.percentiles is not None:
            return self.percentiles[q]
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000 if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[q - 1] * 1000

    def line(self) -> str:
        errors = sum(self.errors.values())
        detail = f" {dict(self.errors.most_common(3))}" if errors else ""
        return (
            f"{self.name:<12} {self.ok:>6} ok {errors:>4} errors  {self.rate:>8.0f}/s  "
            f"p50 {self.percentile(50):6.2f} ms  p95 {self.percentile(95):6.2f} ms  "
            f"p99 {self.percentile(99):6.2f} ms{detail}"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_rs_jwks(path: Path) -> tuple[ec.EllipticCurvePrivateKey, str]:
    from nhictl.core.keys import jwk_thumbprint, public_jwk

    key = ec.generate_private_key(ec.SECP256R1())
    jwk = public_jwk(key)
    kid = jwk_thumbprint(jwk)
    path.write_text(json.dumps({"keys": [{**jwk, "kid": kid, "alg": "ES256"}]}))
    return key, kid


# --------------------------------------------------------------------------- core


def core_issue(names: list[str], n: int, budget: float) -> tuple[Phase, list[str]]:
    """The core API's issue rate, and the tokens (introspected later, never seen before)."""
    from nhictl.core.runtime import Runtime

    runtime = Runtime()
    service = runtime.credentials
    service.issue(names[0], task="warm-up", intent=INTENT_DEFAULT)
    phase = Phase("core issue")
    tokens: list[str] = []
    started = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        issued = service.issue(names[i % len(names)], task=f"core-{i}", intent=INTENT_DEFAULT)
        phase.latencies.append(time.perf_counter() - t0)
        tokens.append(issued.token)
        if t0 - started > budget:
            break
    phase.seconds = time.perf_counter() - started
    runtime.store.close()
    return phase, tokens


# --------------------------------------------------------------------------- server


def start_server(
    home: Path, env: dict[str, str], workers: int, extra: list[str]
) -> tuple[subprocess.Popen[bytes], str, Path]:
    ca = make_ca(home / "tls")
    ca.key_pem.chmod(0o600)
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    argv = [
        str(Path(sys.executable).parent / "nhictl"),
        "serve",
        "--port", str(port),
        "--tls-cert", str(ca.cert_pem),
        "--tls-key", str(ca.key_pem),
        "--workers", str(workers),
        "--rate-per-address", "100000000",
        "--rate-per-identity", "100000000",
        *extra,
    ]  # fmt: skip
    log = (home / "serve.log").open("wb")
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    context = ssl.create_default_context(cafile=str(ca.ca_pem))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"nhictl serve exited: {(home / 'serve.log').read_text()[-2000:]}")
        try:
            httpx.get(f"{url}/healthz", verify=context, timeout=1)
            return proc, url, ca.ca_pem
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("nhictl serve did not come up")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def run_load(
    name: str,
    url: str,
    ca: Path,
    clients: int,
    forms: list[dict[str, str]],
    path: str,
    budget: float,
    keep: Callable[[dict[str, Any]], None] | None = None,
    headers: dict[str, str] | None = None,
) -> Phase:
    """``clients`` workers share ``forms``; each is one POST to ``path``, timed."""
    phase = Phase(name)
    queue = collections.deque(forms)
    context = ssl.create_default_context(cafile=str(ca))
    started = time.perf_counter()

    async def worker() -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(
            base_url=url, verify=context, limits=limits, timeout=30
        ) as http:
            while queue and time.perf_counter() - started < budget:
                form = queue.popleft()
                t0 = time.perf_counter()
                try:
                    reply = await http.post(path, data=form, headers=headers)
                    body = reply.json()
                except (httpx.HTTPError, ValueError) as exc:
                    phase.errors[type(exc).__name__] += 1
                    continue
                took = time.perf_counter() - t0
                if reply.status_code != 200 or (path == "/introspect" and not body.get("active")):
                    phase.errors[str(body.get("error") or reply.status_code)] += 1
                    continue
                phase.latencies.append(took)
                if keep is not None:
                    keep(body)

    await asyncio.gather(*(worker() for _ in range(clients)))
    phase.seconds = time.perf_counter() - started
    return phase


LUA = Path(__file__).resolve().parent / "bench_serve.lua"


def find_wrk(install: bool) -> str | None:
    """wrk (a compiled load generator) if present; installed from Debian's packages when
    missing and allowed (root, or sudo without a password)."""
    found = shutil.which("wrk")
    if found or not install:
        return found
    if os.geteuid() == 0:
        argv = ["apt-get", "install", "-y", "-q", "wrk"]
    elif shutil.which("sudo"):
        argv = ["sudo", "-n", "apt-get", "install", "-y", "-q", "wrk"]
    else:
        return None
    print("bench: wrk is missing; installing it: " + " ".join(argv), flush=True)
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return shutil.which("wrk")


def run_wrk(
    wrk: str,
    name: str,
    url: str,
    clients: int,
    forms: list[dict[str, str]],
    count: int,
    path: str,
    budget: float,
    work: Path,
    tokens_out: Path | None = None,
    authorization: str | None = None,
    method: str = "POST",
) -> Phase:
    """``clients`` keep-alive connections from one wrk thread share ``forms`` (one POST each,
    never a body twice); wrk stops after ``count`` replies. ``forms`` needs ``clients`` more
    than ``count``: requests still in flight at the count are sent too (and not counted).
    Percentiles are wrk's, per request. wrk does not verify the server's certificate
    (loopback, our own server)."""
    bodies = work / f"{name}-bodies.txt"
    bodies.write_text("\n".join(urlencode(f) for f in forms) + "\n")
    env = {
        **os.environ,
        "BENCH_BODIES": str(bodies),
        "BENCH_COUNT": str(count),
        "BENCH_PATH": path,
        "BENCH_TOKENS": str(tokens_out or ""),
        "BENCH_AUTHORIZATION": authorization or "",
        "BENCH_METHOD": method,
    }
    argv = [wrk, "-t1", f"-c{clients}", f"-d{max(1, int(budget))}s", "--timeout", "30s",
            "-s", str(LUA), url + path]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"wrk failed: {out.stdout[-1000:]} {out.stderr[-1000:]}")
    got = json.loads(line[len("BENCH ") :])
    phase = Phase(name, done=int(got["ok"]), seconds=got["duration_us"] / 1e6)
    phase.percentiles = {q: got[f"p{q}"] / 1000 for q in (50, 75, 90, 95, 99)}
    if got["bad"]:
        phase.errors[str(got["first_error"])[:80]] += int(got["bad"])
    if got["socket_errors"]:
        phase.errors["socket errors"] += int(got["socket_errors"])
    if got["ok"] + got["bad"] < count:
        phase.errors["not done within the budget"] += count - got["ok"] - got["bad"]
    phase.client_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return phase


def exchange_forms(svids: list[str], n: int, tag: str) -> list[dict[str, str]]:
    forms = []
    for i in range(n):
        detail = [{"type": "urn:nhictl:task", "task": f"{tag}-{i}", "intent": INTENT_DEFAULT}]
        forms.append(
            {
                "grant_type": EXCHANGE,
                "subject_token": svids[i % len(svids)],
                "subject_token_type": JWT_TYPE,
                "authorization_details": json.dumps(detail),
            }
        )
    return forms


def bearer_forms(tokens: list[str], n: int) -> list[dict[str, str]]:
    return [{"token": tokens[i % len(tokens)]} for i in range(n)]


def introspection_bearer(url: str, ca: Path, key: ec.EllipticCurvePrivateKey, kid: str) -> str:
    """The resource server's bearer token for /introspect (RFC 7662 section 2.1)."""
    form = introspect_forms(url, ["-"], 1, key, kid, aud=f"{url}/token")[0]
    del form["token"]
    form.update(grant_type="client_credentials", resource=f"{url}/introspect")
    with httpx.Client(base_url=url, verify=ssl.create_default_context(cafile=str(ca))) as http:
        reply = http.post("/token", data=form)
    if reply.status_code != 200:
        raise SystemExit(f"bench: no introspection token: {reply.text[:300]}")
    return str(reply.json()["access_token"])


def introspect_forms(
    url: str,
    tokens: list[str],
    n: int,
    key: ec.EllipticCurvePrivateKey,
    kid: str,
    aud: str | None = None,
) -> list[dict[str, str]]:
    now = int(time.time())
    forms = []
    for i in range(n):
        claims = {
            "iss": RS_ID,
            "sub": RS_ID,
            "aud": aud or f"{url}/introspect",
            "iat": now,
            "exp": now + 600,
            "jti": secrets.token_urlsafe(12),
        }
        assertion = jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})
        forms.append(
            {
                "token": tokens[i % len(tokens)],
                "client_assertion_type": KEY_JWT,
                "client_assertion": assertion,
            }
        )
    return forms


# --------------------------------------------------------------------------- profile


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and its children, from /proc."""
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    )
    return sum(process_cpu(p) or 0.0 for p in [pid, *(int(c) for c in out.stdout.split())])


def measured(server: subprocess.Popen[bytes], run: Callable[[], Phase]) -> Phase:
    """``run`` with the CPU both sides spent on it."""
    server_before, client_before = tree_cpu(server.pid), time.process_time()
    phase = run()
    phase.server_cpu = tree_cpu(server.pid) - server_before
    phase.client_cpu = time.process_time() - client_before
    return phase


def profile(
    server: subprocess.Popen[bytes], seconds: int, load: Callable[[], Phase], home: Path
) -> None:
    """py-spy on the worker processes while ``load`` runs: own time and nhictl totals.
    Stacks with no Python frame are Granian's Rust threads (HTTP, TLS) or code that released
    the GIL; idle threads are not sampled."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        print("profile: py-spy is not installed (pip install py-spy)")
        return
    raw = home / "profile.txt"
    recorder = subprocess.Popen(
        [spy, "record", "--pid", str(server.pid), "--subprocesses", "--duration", str(seconds),
         "--format", "raw", "--output", str(raw), "--nonblocking", "--rate", "200"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    time.sleep(1.0)
    phase = load()
    _, err = recorder.communicate(timeout=seconds + 60)
    if not raw.exists():
        print(f"profile: py-spy failed: {err.decode(errors='replace').strip()[-300:]}")
        return
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        if ";process " not in stack:
            continue  # Granian's supervisor itself (a worker's stack nests under it)
        frames = [
            f.split(" (")[0] + " " + _where(f)
            for f in stack.split(";")
            if not f.startswith(("process ", "thread "))
        ]
        if not frames:  # no Python frame: Granian's Rust threads (HTTP, TLS) or released GIL
            frames = ["(native: Granian HTTP/TLS, no Python frame)"]
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            if "nhictl/" in frame:
                total[frame] += count
    if not samples:
        head = raw.read_text()[:300]
        print(f"profile: no worker samples; py-spy said: {err.decode(errors='replace')[-300:]}")
        print(f"profile: raw output starts: {head!r}")
        return
    print(f"\nprofile: {samples} samples of the server workers during: {phase.line()}")
    print("  own time (top 15):")
    for frame, count in own.most_common(15):
        print(f"    {100 * count / samples:5.1f} %  {frame}")
    print("  nhictl frames by total time (top 15):")
    for frame, count in total.most_common(15):
        print(f"    {100 * count / samples:5.1f} %  {frame}")


def _where(frame: str) -> str:
    """``module/file.py`` of a py-spy frame ``func (path/to/file.py:12)``, shortened."""
    if " (" not in frame:
        return ""
    path = frame.split(" (", 1)[1].rstrip(")").rsplit(":", 1)[0]
    parts = Path(path).parts
    for anchor in ("site-packages", "nhictl", "python3.11", "lib"):
        if anchor in parts:
            idx = parts.index(anchor)
            return "/".join(parts[idx + (1 if anchor != "nhictl" else 0) :])
    return path


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="token exchanges (and core issues)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=2, help="nhictl serve --workers")
    parser.add_argument("--introspections", type=int, default=3000)
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per phase, at most")
    parser.add_argument("--profile", type=int, default=0, help="py-spy seconds (0: no profile)")
    parser.add_argument(
        "--profile-phase",
        choices=["exchange", "introspect-bearer"],
        default="exchange",
        help="the load py-spy samples the workers under",
    )
    parser.add_argument(
        "--generator",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="load generator: wrk (installed when missing and possible), else Python/httpx",
    )
    parser.add_argument("--serve-arg", action="append", default=[], help="extra serve argument")
    args = parser.parse_args(argv)
    wrk = None if args.generator == "python" else find_wrk(install=True)
    if args.generator == "wrk" and wrk is None:
        raise SystemExit("bench: wrk is not installed and could not be installed")

    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        home = Path(tmp)
        for key in [k for k in os.environ if k.startswith("NHICTL_")]:
            del os.environ[key]
        names = setup_home(home)
        from nhictl.core.identity.demo_idp import DemoSpiffeIdp

        idp = DemoSpiffeIdp(home / "demo-idp", TRUST_DOMAIN)
        rs_key, rs_kid = write_rs_jwks(home / "rs-jwks.json")
        os.environ["NHICTL_TRUST_BUNDLE"] = str(idp.bundle_path)
        os.environ["NHICTL_INTROSPECTION_CLIENTS"] = f"{RS_ID}={home / 'rs-jwks.json'}"
        env = dict(os.environ)

        core, core_tokens = core_issue(names, args.n, args.budget)
        svids = [idp.mint(f"spiffe://{TRUST_DOMAIN}/agents/{n}", "nhictl") for n in names]
        server, url, ca = start_server(home, env, args.workers, args.serve_arg)

        def load(
            name: str,
            forms: list[dict[str, str]],
            count: int,
            path: str,
            budget: float,
            tokens: list[str] | None = None,
            bearer: str | None = None,
        ) -> Phase:
            authorization = f"Bearer {bearer}" if bearer else None
            if wrk is not None:
                out = home / f"{name}-tokens.txt" if tokens is not None else None
                phase = run_wrk(
                    wrk, name, url, args.clients, forms, count, path, budget, home, out,
                    authorization,
                )  # fmt: skip
                if tokens is not None and out is not None:
                    tokens.extend(out.read_text().split())
                return phase
            keep = None
            if tokens is not None:
                keep = lambda body: tokens.append(body["access_token"])  # noqa: E731
            headers = {"Authorization": authorization} if authorization else None
            return asyncio.run(
                run_load(name, url, ca, args.clients, forms[:count], path, budget, keep, headers)
            )

        spare = args.clients  # bodies for requests in flight when wrk reaches its count
        try:
            # Warm-up: every worker loads its policies and keys before the clock starts.
            load("warm-up", exchange_forms(svids, 64 + spare, "warm"), 64, "/token", args.budget)
            tokens: list[str] = []
            ex_forms = exchange_forms(svids, args.n + spare, "ex")
            exchange = measured(
                server, lambda: load("exchange", ex_forms, args.n, "/token", args.budget, tokens)
            )
            forms = introspect_forms(url, tokens, args.introspections + spare, rs_key, rs_kid)
            introspect = measured(
                server,
                lambda: load("introspect", forms, args.introspections, "/introspect", args.budget),
            )
            bearer = introspection_bearer(url, ca, rs_key, rs_kid)
            b_forms = bearer_forms(tokens, args.introspections + spare)
            introspect_bearer = measured(
                server,
                lambda: load(
                    "introspect-bearer",
                    b_forms,
                    args.introspections,
                    "/introspect",
                    args.budget,
                    bearer=bearer,
                ),
            )
            # The same, on tokens no worker has verified yet (the core's): each signature is
            # checked, none is in a worker's memo of verified signatures (nhictl/core/jose.py).
            first = min(args.introspections, len(core_tokens))
            f_forms = bearer_forms(core_tokens, first + spare)
            introspect_first = measured(
                server,
                lambda: load(
                    "introspect-bearer, new tokens",
                    f_forms,
                    first,
                    "/introspect",
                    args.budget,
                    bearer=bearer,
                ),
            )
            # The floor: the same clients on an endpoint that does no work (the metadata, a
            # constant): what HTTP, TLS, Starlette and the service's own limits cost alone.
            floor = None
            if wrk is not None:
                floor = measured(
                    server,
                    lambda: run_wrk(
                        wrk, "floor (GET metadata)", url, args.clients, [{}],
                        args.introspections, "/.well-known/oauth-authorization-server",
                        args.budget, home, method="GET",
                    ),
                )  # fmt: skip
            generator = (
                "wrk (1 thread, one keep-alive TLS connection per client)"
                if wrk
                else "Python asyncio + httpx"
            )
            print(
                f"nhictl serve: {args.workers} worker(s), TLS on loopback, SQLite; "
                f"{args.clients} concurrent clients from {generator}; "
                f"{os.cpu_count()} CPUs shared with the clients"
            )
            phases = [core, exchange, introspect, introspect_bearer, introspect_first]
            for phase in [*phases, *([floor] if floor else [])]:
                print("  " + phase.line())
                if phase.cpu_line():
                    print("  " + phase.cpu_line())
            share = 100 * exchange.rate / core.rate if core.rate else 0.0
            print(f"  exchange/core issue: {share:.0f} %   ({TARGETS})")
            if args.profile and args.profile_phase == "exchange":
                forms2 = exchange_forms(svids, args.n + spare, "prof")
                profile(
                    server,
                    args.profile,
                    lambda: load("exchange", forms2, args.n, "/token", float(args.profile)),
                    home,
                )
            elif args.profile:
                many = 20 * args.introspections  # more than the profile's seconds can use
                forms3 = bearer_forms(tokens, many + spare)
                profile(
                    server,
                    args.profile,
                    lambda: load(
                        "introspect-bearer",
                        forms3,
                        many,
                        "/introspect",
                        float(args.profile),
                        bearer=bearer,
                    ),
                    home,
                )
        finally:
            stop_server(server)


if __name__ == "__main__":
    main()
