# Frontdesk: website contact widgets in front of any SIP PBX.
#
#   make demo    set up this machine, start the demo PBX and the gateway
#   make test    set up this machine and run every test (what CI runs)
#   make deb     build the Debian package into bin/ (deploy/build-deb.sh)
#
# Both call scripts/setup.sh first, which installs what is missing (Debian
# packages for the test PBX, Go modules) and does nothing when all is there.

# Where scripts/setup.sh may have put Go; Go >= 1.21 then fetches the
# toolchain go.mod names.
export PATH := $(PATH):/usr/local/go/bin:/usr/lib/go-1.23/bin
export GOTOOLCHAIN ?= auto
GO      ?= go
BIN     := bin
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build setup demo test check unit integration fuzz bench lint clean deb

all: build

setup:
	./scripts/setup.sh

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/frontdesk ./cmd/frontdesk
	$(GO) build -o $(BIN)/frontdesk-testbed ./cmd/frontdesk-testbed

# The Debian package: binary, systemd unit, default config (deploy/).
deb:
	GO=$(GO) ./deploy/build-deb.sh $(BIN)

demo: setup build
	./scripts/demo.sh

test: setup lint check

# Every test: unit, fuzz seeds, and those against real peers (Kamailio,
# baresip, sipp, Chromium), once each, with the race detector.
check:
	$(GO) test -race -count=1 -tags integration -timeout 25m ./...

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration ./...
	$(GO) mod tidy -diff
	$(GO) test -count=1 -run 'TestServedScriptLints|TestWidgetPartsUnit' ./widget/
	$(GO) test -count=1 -run 'TestAdminScriptLints' ./admin/

# Quick: without the end-to-end tests.
unit:
	$(GO) test -race -count=1 ./...

# Only the end-to-end tests against real peers.
integration:
	$(GO) test -race -count=1 -tags integration -timeout 20m ./e2e/...

# A short run of every fuzz target (the seeds also run in 'unit').
fuzz:
	./scripts/fuzz.sh 20s

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf $(BIN)
