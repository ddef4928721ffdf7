#!/usr/bin/env bash
# The nhictl demo on the embedded default: a throwaway NHICTL_HOME (SQLite store, keys)
# and the bundled sample-configs/. Each capability adds its step here as it lands; the token
# service part starts a real `nhictl serve` on loopback and stops it again.
set -euo pipefail
cd "$(dirname "$0")/.."

NHICTL_HOME="$(mktemp -d -t nhictl-demo.XXXXXX)"
export NHICTL_HOME
trap 'rm -rf "$NHICTL_HOME"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }
expect_fail() {  # a step that must exit with the given non-zero code
  local want=$1; shift
  printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"
  set +e; "${@:2}"; local got=$?; set -e
  if [ "$got" -ne "$want" ]; then echo "demo: expected exit $want, got $got" >&2; exit 1; fi
  echo "(exit $got, as expected)"
}

step "nhictl version" nhictl --version
step "Published schemas" nhictl schema list
step "Validate the sample agent manifests" nhictl validate sample-configs/agents
expect_fail 1 "A broken manifest: every problem with file:line:col" \
  nhictl validate sample-configs/examples-invalid/broken-agent.yaml

# --- Registry: identity-bound, policy-decided registration ---------------------------------
step "Initialise the registry (store, signing key, default policies)" nhictl init
BUNDLE="$(nhictl demo idp-bundle --trust-domain prod.example.com)"
echo "DEMO-ONLY SPIFFE trust domain prod.example.com, bundle at $BUNDLE"
svid() { nhictl demo svid "$1" > "$NHICTL_HOME/$2.jwt"; }  # a JWT-SVID, as SPIRE would hand it
svid spiffe://prod.example.com/ns/finance/sa/invoice-reconciler invoice
svid spiffe://prod.example.com/ns/support/sa/summarizer summarizer
step "Register a prod agent with write scopes: policy asks for a human" \
  nhictl register sample-configs/agents/invoice-reconciler.yaml \
  --identity-token "$NHICTL_HOME/invoice.jwt" --trust-bundle "$BUNDLE"
step "Register a read-only agent: active at once" \
  nhictl register sample-configs/agents/support-summarizer.yaml \
  --identity-token "$NHICTL_HOME/summarizer.jwt" --trust-bundle "$BUNDLE"
expect_fail 1 "A token that proves another workload is a denial" \
  nhictl register sample-configs/agents/payments-deployer.yaml \
  --identity-token "$NHICTL_HOME/summarizer.jwt" --trust-bundle "$BUNDLE"
step "One registration waits for approval" nhictl agents list
expect_fail 1 "The sponsor cannot approve their own agent" \
  nhictl agents approve invoice-reconciler --by alice@example.com
step "A second person approves" nhictl agents approve invoice-reconciler --by security-lead@example.com
step "Every decision is in the hash-chained audit log" nhictl log list
step "... and the chain is intact" nhictl log verify

# --- Just-in-time credentials: issue, verify, authorize, complete the task, revoked ---------
# (The registration steps above left invoice-reconciler registered and approved.)
TOKEN_FILE="$NHICTL_HOME/INV-42.jwt"
step "Issue a 5-minute credential for one task (token to a new 0600 file, never to the store)" \
  nhictl issue invoice-reconciler --task INV-42 --intent reconcile-invoices \
  --scope invoices:read --ttl 5m -o "$TOKEN_FILE"
step "Verify it (tokens are read from stdin, so they stay out of ps and shell history)" \
  nhictl verify - --format json < "$TOKEN_FILE"
step "Authorize an action inside its scope" \
  nhictl authorize - --action invoices:read --resource s3://invoices-prod/2026/11/INV-42.pdf \
  < "$TOKEN_FILE"
expect_fail 1 "Authorize a write the credential does not carry: denied, and audited" \
  nhictl authorize - --action reports:write < "$TOKEN_FILE"
expect_fail 1 "Ask for a scope the intent does not declare: denied by policy, with its id" \
  nhictl issue invoice-reconciler --task INV-43 --intent reconcile-invoices \
  --scope invoices:delete
nhictl keys jwks > "$NHICTL_HOME/jwks.json"
nhictl status-list publish -o "$NHICTL_HOME/status.jwt" 2>/dev/null
step "A resource server verifies offline: only the published JWKS and status list, no store" \
  env NHICTL_HOME="$NHICTL_HOME/resource-server" nhictl verify --offline \
  --jwks "$NHICTL_HOME/jwks.json" --status-list "$NHICTL_HOME/status.jwt" - < "$TOKEN_FILE"
step "Complete the task: its credentials die" nhictl task complete INV-42
expect_fail 1 "Verify again: the credential was revoked" nhictl verify - < "$TOKEN_FILE"
nhictl status-list publish -o "$NHICTL_HOME/status-2.jwt" 2>/dev/null
expect_fail 1 "... and offline, once the status list is re-published" \
  env NHICTL_HOME="$NHICTL_HOME/resource-server" nhictl verify --offline \
  --jwks "$NHICTL_HOME/jwks.json" --status-list "$NHICTL_HOME/status-2.jwt" - < "$TOKEN_FILE"
step "Credentials (facts and hashes only; never tokens)" nhictl credentials list

# --- The agent speaks for itself: nhictl serve (register, approve, exchange, verify, complete) --
# A real `nhictl serve` process on loopback. DEMO ONLY: plain HTTP on 127.0.0.1 with
# --insecure-http (it says so on start); production runs with --tls-cert/--tls-key.
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
SERVER="http://127.0.0.1:$PORT"
NHICTL_TRUST_BUNDLE="$BUNDLE" nhictl serve --insecure-http --port "$PORT" \
  > "$NHICTL_HOME/serve.log" 2>&1 &
SERVE_PID=$!
trap 'kill "$SERVE_PID" 2>/dev/null || true; rm -rf "$NHICTL_HOME"' EXIT
for _ in $(seq 100); do curl -fsS "$SERVER/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
echo; echo "nhictl serve is up at $SERVER (pid $SERVE_PID)"
svid spiffe://prod.example.com/ns/support/sa/ticket-triager triager
# The bearer header in a 0600 file (curl -H @FILE), so the SVID is never on a command line.
(umask 077; printf 'Authorization: Bearer %s\n' "$(cat "$NHICTL_HOME/triager.jwt")" \
  > "$NHICTL_HOME/triager.auth")
python3 -c 'import json, sys, yaml; print(json.dumps({"nhictl_manifest": yaml.safe_load(open(sys.argv[1]))}, default=str))' \
  sample-configs/serve/ticket-triager.yaml > "$NHICTL_HOME/register.json"  # RFC 7591 body
step "The agent registers itself: POST /register with its manifest and only its JWT-SVID" \
  curl -sS "$SERVER/register" -H @"$NHICTL_HOME/triager.auth" \
  -H 'Content-Type: application/json' -d @"$NHICTL_HOME/register.json" -w '\n'
step "Policy wants a human for prod writes: an engineer approves" \
  nhictl agents approve ticket-triager --by security-lead@example.com
step "The agent exchanges its SVID for a token for one task (RFC 8693)" \
  nhictl token exchange --server "$SERVER" --identity-token "$NHICTL_HOME/triager.jwt" \
  --task TCK-7 --intent triage-tickets --scope tickets:read -o "$NHICTL_HOME/TCK-7.jwt"
curl -fsS "$SERVER/jwks" > "$NHICTL_HOME/serve-jwks.json"
curl -fsS "$SERVER/statuslists/1" > "$NHICTL_HOME/serve-status.jwt"
step "A resource server verifies it offline: /jwks and the status list only" \
  env NHICTL_HOME="$NHICTL_HOME/resource-server" nhictl verify --offline \
  --jwks "$NHICTL_HOME/serve-jwks.json" --status-list "$NHICTL_HOME/serve-status.jwt" - \
  < "$NHICTL_HOME/TCK-7.jwt"
step "The agent completes its task: POST /tasks/TCK-7/complete revokes the token" \
  curl -sS -X POST "$SERVER/tasks/TCK-7/complete" -H @"$NHICTL_HOME/triager.auth" -w '\n'
curl -fsS "$SERVER/statuslists/1" > "$NHICTL_HOME/serve-status-2.jwt"
expect_fail 1 "... and the resource server, with the fresh status list, refuses it" \
  env NHICTL_HOME="$NHICTL_HOME/resource-server" nhictl verify --offline \
  --jwks "$NHICTL_HOME/serve-jwks.json" --status-list "$NHICTL_HOME/serve-status-2.jwt" - \
  < "$NHICTL_HOME/TCK-7.jwt"
kill "$SERVE_PID" 2>/dev/null || true
wait "$SERVE_PID" 2>/dev/null || true

# --- Privilege creep: declared vs granted vs used vs grown, per AWS principal -----------------
AWS=sample-configs/aws
# The folder holds the export, last-accessed, access keys and the resource listings (Lambda,
# CodeBuild, CloudFormation) that the principal graph follows.
step "Privilege-creep audit of the sample AWS account (declared vs granted vs used vs grown)" \
  nhictl audit-creep --snapshot "$AWS" \
    --manifests "$AWS/manifests" --exclusions "$AWS/exclusions.yaml" --as-of 2026-11-28 \
    --remediate-out "$NHICTL_HOME/least-privilege"
printf '\n\033[1m== %s\033[0m\n' "Escalation across principals: who reaches admin, and how"
nhictl audit-creep --snapshot "$AWS" --manifests "$AWS/manifests" \
  --exclusions "$AWS/exclusions.yaml" --as-of 2026-11-28 \
  --format json | python3 -c '
import json, sys
def short(ids):
    return ", ".join(ids[:3]) + (" (+%d more)" % (len(ids) - 3) if len(ids) > 3 else "") or "-"
for f in json.load(sys.stdin)["findings"]:
    who, ev = f["principal"].split(":", 5)[5], f["evidence"]
    if f["rule_id"] == "priv.reachable-admin":
        for p in ev["paths"]:
            print("  %d step(s): %s" % (p["steps"], p["text"]))
    elif f["rule_id"] == "priv.escalation":
        unknown = [m["id"] for m in ev["methods"] if m["status"] == "needs-target"]
        if ev.get("ruled_out") or unknown:
            print("  %s: ruled out %s; needs a target %s"
                  % (who, short(ev.get("ruled_out", [])), short(unknown)))
'
expect_fail 1 "The same audit as a pipeline gate: high findings fail the build" \
  nhictl audit-creep --snapshot "$AWS/authorization-details.json" \
    --last-accessed "$AWS/last-accessed.json" --manifests "$AWS/manifests" \
    --as-of 2026-11-28 --format markdown --fail-on high -o "$NHICTL_HOME/creep.md"

# --- The same engine on GCP and Azure, then all three clouds in one report -------------------
GCP=sample-configs/gcp AZ=sample-configs/azure
step "GCP: service accounts of two projects under one folder (gcloud outputs, with a baseline)" \
  nhictl audit-creep --provider gcp --snapshot "$GCP" --baseline "$GCP/baseline" \
    --manifests "$GCP/manifests" --exclusions "$GCP/exclusions.yaml" --as-of 2026-11-28 -q
step "Azure: service principals and managed identities of one tenant (az and Graph outputs)" \
  nhictl audit-creep --provider azure --snapshot "$AZ" --baseline "$AZ/baseline" \
    --manifests "$AZ/manifests" --exclusions "$AZ/exclusions.yaml" --as-of 2026-11-28 -q
step "All three clouds in one report: the clouds side by side, every principal ranked together" \
  nhictl audit-creep --provider all --snapshot-dir sample-configs \
    --manifests "$AWS/manifests" --manifests "$GCP/manifests" --manifests "$AZ/manifests" \
    --as-of 2026-11-28 --format sarif -o "$NHICTL_HOME/all-clouds.sarif"
nhictl audit-creep --provider all --snapshot-dir sample-configs --as-of 2026-11-28 \
  --manifests "$AWS/manifests" --manifests "$GCP/manifests" --manifests "$AZ/manifests" \
  | sed -n '1,8p'

printf '\ndemo finished: NHICTL_HOME was %s\n' "$NHICTL_HOME"
