#!/bin/sh
# Builds the Debian package of the gateway with dpkg-deb (no debhelper):
#   deploy/build-deb.sh [OUTDIR]        (make deb: OUTDIR bin)
# prints the path of the .deb. The binary is static (CGO_ENABLED=0) for the
# machine's architecture; the version comes from git.
set -eu
cd "$(dirname "$0")/.."
out=${1:-bin}
mkdir -p "$out"
out=$(cd "$out" && pwd)
GO=${GO:-go}

arch=$(dpkg --print-architecture)
case "$arch" in
amd64) goarch=amd64 ;;
arm64) goarch=arm64 ;;
armhf) goarch=arm ;;
i386) goarch=386 ;;
*) echo "build-deb: no Go architecture for $arch" >&2; exit 1 ;;
esac

# The binary says what git says; the package version must sort: a tag
# v1.2.3 gives 1.2.3, anything else 0~<commit time>.<commit>.
described=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
if tag=$(git describe --tags --exact-match 2>/dev/null) && [ -z "$(git status --porcelain 2>/dev/null)" ]; then
	version=${tag#v}
else
	version="0~$(git log -1 --format=%cd --date=format:%Y%m%d%H%M%S 2>/dev/null || echo 0).$(git rev-parse --short HEAD 2>/dev/null || echo dev)"
	if [ -n "$(git status --porcelain 2>/dev/null)" ]; then
		version="$version+dirty"
	fi
fi

stage=$(mktemp -d)
chmod 0755 "$stage"
trap 'rm -rf "$stage"' EXIT
CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=7 $GO build -trimpath \
	-ldflags "-s -w -X main.version=$described" -o "$stage/usr/bin/frontdesk" ./cmd/frontdesk

install -D -m 0644 deploy/frontdesk.service "$stage/lib/systemd/system/frontdesk.service"
install -D -m 0640 deploy/frontdesk.yaml "$stage/etc/frontdesk/frontdesk.yaml"
install -D -m 0640 deploy/sip-password "$stage/etc/frontdesk/sip-password"
install -D -m 0600 deploy/frontdesk.default "$stage/etc/default/frontdesk"
doc="$stage/usr/share/doc/frontdesk"
install -D -m 0644 config/example.yaml "$doc/example.yaml"
install -D -m 0644 README.md "$doc/README.md"
install -D -m 0644 deploy/prometheus/frontdesk.rules.yml "$doc/prometheus/frontdesk.rules.yml"
install -D -m 0644 deploy/grafana/frontdesk.json "$doc/grafana/frontdesk.json"

install -d "$stage/DEBIAN"
size=$(du -sk "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" deploy/debian/control.in >"$stage/DEBIAN/control"
install -m 0644 deploy/debian/conffiles "$stage/DEBIAN/conffiles"
for script in postinst prerm postrm; do
	install -m 0755 "deploy/debian/$script" "$stage/DEBIAN/$script"
done

deb="$out/frontdesk_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$stage" "$deb" >/dev/null
echo "$deb"
