#!/bin/sh
# build-deb.sh VERSION BINDIR OUTDIR — packages scaplockd and scaplock from
# BINDIR into OUTDIR/scaplock_<version>_<arch>.deb with dpkg-deb; prints
# the file's path. Run by `make deb`, which builds BINDIR stripped
# (-ldflags '-s -w'); a binary with a symbol table or DWARF is refused.
set -eu
version=$1 bindir=$2 outdir=$3
here=$(cd "$(dirname "$0")" && pwd)
contrib=$(dirname "$here")
# Debian versions start with a digit: a tag's describe v1.2.3-4-gabc ->
# 1.2.3+4.gabc; a bare commit (no tag yet) abc-dirty -> 0~git.abc.dirty,
# which sorts before any tagged release.
if printf '%s' "$version" | grep -Eq '^v?[0-9]+\.'; then
	debver=$(printf '%s' "$version" | sed -e 's/^v//' -e 's/-\([0-9]*\)-g/+\1.g/' -e 's/-/./g')
else
	debver=$(printf '0~git.%s' "$version" | sed -e 's/[^A-Za-z0-9.+~]/./g')
fi
arch=$(dpkg --print-architecture)

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
chmod 0755 "$root"
install -d "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/default" \
	"$root/usr/share/doc/scaplock" "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions"
for b in scaplockd scaplock; do
	if command -v readelf >/dev/null && LC_ALL=C readelf -S "$bindir/$b" | grep -Eq ' \.(symtab|debug_info|zdebug_info) '; then
		echo "build-deb.sh: $bindir/$b is not stripped: build it with -ldflags '-s -w' (make deb does)" >&2
		exit 1
	fi
done
install -m 0755 "$bindir/scaplockd" "$bindir/scaplock" "$root/usr/bin/"
install -m 0644 "$contrib/systemd/scaplockd.service" "$root/lib/systemd/system/"
install -m 0644 "$contrib/systemd/scaplockd.env.example" "$root/etc/default/scaplockd"
install -m 0644 "$contrib/systemd/scaplockd.env.example" "$root/usr/share/doc/scaplock/"
# The scap bridge (deploy hosts): its unit and environment file, from
# contrib/scap/ (docs/scap.md; the unit names the user to create).
conffiles=/etc/default/scaplockd
if [ -e "$contrib/scap/scaplock-scap-bridge.service" ]; then
	install -m 0644 "$contrib/scap/scaplock-scap-bridge.service" "$root/lib/systemd/system/"
	install -m 0644 "$contrib/scap/scaplock-scap-bridge.env" "$root/etc/default/scaplock-scap-bridge"
	# The unit's Documentation=.
	install -m 0644 "$contrib/../docs/scap.md" "$root/usr/share/doc/scaplock/"
	conffiles="$conffiles /etc/default/scaplock-scap-bridge"
fi
install -m 0644 "$contrib/prometheus/scaplock.rules.yaml" "$contrib/grafana/scaplock.json" "$root/usr/share/doc/scaplock/"
# Shell completion, when the CLI can write it.
if "$bindir/scaplock" completion bash >"$root/usr/share/bash-completion/completions/scaplock" 2>/dev/null &&
	"$bindir/scaplock" completion zsh >"$root/usr/share/zsh/vendor-completions/_scaplock" 2>/dev/null; then :; else
	rm -rf "$root/usr/share/bash-completion" "$root/usr/share/zsh"
fi
sed -e "s/@VERSION@/$debver/" -e "s/@ARCH@/$arch/" "$here/control.in" >"$root/DEBIAN/control"
printf '%s\n' $conffiles >"$root/DEBIAN/conffiles"
install -m 0755 "$here/postinst" "$here/prerm" "$here/postrm" "$root/DEBIAN/"
mkdir -p "$outdir"
out="$outdir/scaplock_${debver}_${arch}.deb"
# gzip: several times faster than the default xz for ~50 MB of Go binaries.
dpkg-deb --root-owner-group -Zgzip --build "$root" "$out" >/dev/null
echo "$out"
