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

AWS=sample-configs/aws
step "Privilege-creep audit of the sample AWS account (declared vs granted vs used vs grown)" \
  nhictl audit-creep --snapshot "$AWS/authorization-details.json" \
    --last-accessed "$AWS/last-accessed.json" --access-keys "$AWS/access-keys.json" \
    --manifests "$AWS/manifests" --exclusions "$AWS/exclusions.yaml" --as-of 2026-11-28 \
    --remediate-out "$NHICTL_HOME/least-privilege"
expect_fail 1 "The same audit as a pipeline gate: high findings fail the build" \
  nhictl audit-creep --snapshot "$AWS/authorization-details.json" \
    --last-accessed "$AWS/last-accessed.json" --manifests "$AWS/manifests" \
    --as-of 2026-11-28 --format markdown --fail-on high -o "$NHICTL_HOME/creep.md"

printf '\ndemo finished: NHICTL_HOME was %s\n' "$NHICTL_HOME"
