#!/bin/sh
# Installs what the SIP test bed (internal/testbed, cmd/frontdesk-testbed) and
# the browser tests need on Debian/Ubuntu. Idempotent: does nothing when every
# package is already installed. Run as root or with sudo available.
set -eu

PACKAGES="kamailio kamailio-presence-modules kamailio-sqlite-modules kamailio-tls-modules baresip-core sip-tester sox sqlite3 chromium firefox-esr haproxy nginx libnginx-mod-stream coturn iproute2 iptables prometheus nats-server postfix janus gcc"

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
# Postfix is the MTA the transcript test runs on loopback with a config of
# its own. Installed here it must not become a system MTA listening on the
# machine's interfaces: debconf is told "Local only" (inet_interfaces =
# loopback-only) and Debian's post-install start is refused (policy-rc.d),
# then the service is disabled.
if printf '%s\n' $missing | grep -qx postfix; then
	echo "postfix postfix/main_mailer_type select Local only" | $SUDO debconf-set-selections
	echo "postfix postfix/mailname string frontdesk-testbed.invalid" | $SUDO debconf-set-selections
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
		$SUDO chmod 755 /usr/sbin/policy-rc.d
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends postfix
		$SUDO rm -f /usr/sbin/policy-rc.d
	else
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends postfix
	fi
	if command -v systemctl >/dev/null 2>&1; then
		$SUDO systemctl disable --now postfix >/dev/null 2>&1 || true
	fi
	$SUDO postfix stop >/dev/null 2>&1 || true
	missing=$(printf '%s\n' $missing | grep -vx postfix | tr '\n' ' ')
fi
if [ -n "$(printf '%s' "$missing" | tr -d ' ')" ]; then
	# shellcheck disable=SC2086 # word splitting of the package list is intended
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $missing
fi

# Debian starts a packaged Kamailio on 5060; the test bed runs its own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled kamailio >/dev/null 2>&1; then
	echo "testbed: note: the system kamailio service is enabled; the test bed does not need it"
fi
# Debian starts a packaged nginx on port 80; the proxy tests run their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled nginx >/dev/null 2>&1; then
	echo "testbed: note: the system nginx service is enabled; the tests do not need it"
fi
# Debian's prometheus package brings promtool, which checks deploy/prometheus;
# it may also start a Prometheus server, which the tests do not need.
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled prometheus >/dev/null 2>&1; then
	echo "testbed: note: the system prometheus service is enabled; the tests need only promtool"
fi
# Debian's coturn package may start a system TURN server; the TURN test
# runs its own inside a network namespace.
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled coturn >/dev/null 2>&1; then
	echo "testbed: note: the system coturn service is enabled; the tests do not need it"
fi
# Debian starts a packaged nats-server on 4222; the cluster tests run their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled nats-server >/dev/null 2>&1; then
	echo "testbed: note: the system nats-server service is enabled; the tests do not need it"
fi
# Debian starts a packaged Janus on 8188; the load tool runs its own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled janus >/dev/null 2>&1; then
	echo "testbed: note: the system janus service is enabled; the load tool does not need it"
fi
echo "testbed: done"
