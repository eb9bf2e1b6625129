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
# go_minor prints the minor version of the go on PATH (0 when there is none).
go_minor() { go env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9]*\).*/\1/p' | grep . || echo 0; }
if ! command -v go >/dev/null 2>&1 || [ "$(go_minor)" -lt 21 ]; then
  # Go >= 1.21 fetches the toolchain go.mod names ($want) from the Go module
  # proxy by itself. Debian 12 ships 1.19; its backports have newer ones.
  echo "setup: installing a Go that can fetch go$want"
  . /etc/os-release
  if [ "${VERSION_CODENAME:-}" = bookworm ] && ! apt-cache policy golang-1.23-go 2>/dev/null | grep -q Candidate:.*[0-9]; then
    echo "deb http://deb.debian.org/debian bookworm-backports main" | sudo_if_needed tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
    sudo_if_needed apt-get update -q
  fi
  if sudo_if_needed apt-get install -y -q golang-1.23-go; then
    export PATH=/usr/lib/go-1.23/bin:$PATH
  else
    sudo_if_needed apt-get install -y -q golang-go
  fi
fi
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}
go version
go mod download
# The accessibility checker the browser tests inject (axe-core), the
# WebDriver BiDi client that drives Firefox ESR (puppeteer-core), and the
# widget script's linter (eslint), pinned in e2e/package-lock.json; Node
# also runs the widget parts' unit tests.
if [ ! -d e2e/node_modules/axe-core ] || [ ! -d e2e/node_modules/puppeteer-core ] || [ ! -x e2e/node_modules/.bin/eslint ]; then
  if ! command -v npm >/dev/null 2>&1; then
    sudo_if_needed apt-get install -y -q npm
  fi
  npm ci --prefix e2e --no-audit --no-fund --loglevel=error
fi
# Some npm packages ship Go code; a go.mod of their own keeps them out of
# this module's ./... (go vet, go test, go mod tidy).
[ -f e2e/node_modules/go.mod ] || printf 'module npm-packages\n' > e2e/node_modules/go.mod
echo "setup: done"
