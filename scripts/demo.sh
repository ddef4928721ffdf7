#!/usr/bin/env bash
# The nhictl demo on the embedded default: a throwaway NHICTL_HOME (SQLite store, keys)
# and the bundled sample-configs/. Each capability adds its step here as it lands.
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

printf '\ndemo finished: NHICTL_HOME was %s\n' "$NHICTL_HOME"
