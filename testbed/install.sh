#!/bin/sh
# Installs what the SIP test bed (internal/testbed, cmd/frontdesk-testbed) and
# the browser tests need on Debian/Ubuntu. Idempotent: does nothing when every
# package is already installed. Run as root or with sudo available.
set -eu

PACKAGES="kamailio kamailio-presence-modules kamailio-sqlite-modules baresip-core sip-tester sox sqlite3 chromium haproxy nginx libnginx-mod-stream janus gcc"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "testbed: all packages present:$(printf ' %s' $PACKAGES)"
	exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi

echo "testbed: installing:$missing"
$SUDO apt-get update
# shellcheck disable=SC2086 # word splitting of the package list is intended
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $missing

# Debian starts a packaged Kamailio on 5060; the test bed runs its own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled kamailio >/dev/null 2>&1; then
	echo "testbed: note: the system kamailio service is enabled; the test bed does not need it"
fi
# Debian starts a packaged nginx on port 80; the proxy tests run their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled nginx >/dev/null 2>&1; then
	echo "testbed: note: the system nginx service is enabled; the tests do not need it"
fi
# Debian starts a packaged Janus on 8188; the load tool runs its own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled janus >/dev/null 2>&1; then
	echo "testbed: note: the system janus service is enabled; the load tool does not need it"
fi
echo "testbed: done"
