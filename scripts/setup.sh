#!/usr/bin/env bash
# Prepares a Debian machine to build, demo and test Frontdesk. Idempotent:
# it installs only what is missing.
#   - Debian packages of the test PBX and browser (testbed/install.sh)
#   - a Go toolchain new enough for go.mod (Go >= 1.21 fetches the exact
#     version from the Go module proxy by itself)
#   - the Go modules
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

./testbed/install.sh

want=$(awk '/^go /{print $2; exit}' go.mod)
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH=/usr/local/go/bin:$PATH
fi
if ! command -v go >/dev/null 2>&1; then
  echo "setup: installing Go from Debian (the toolchain in go.mod, $want, is fetched on first use)"
  sudo_if_needed apt-get install -y -q golang-go
fi
# Go 1.21+ switches to the go.mod toolchain on its own (GOTOOLCHAIN=auto).
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}
go version
go mod download
echo "setup: done"
