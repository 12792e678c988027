#!/bin/sh
# install-test.sh PACKAGE.deb — for a disposable CI container, as root:
# installs the package, checks what it put in place, starts scaplockd from
# it as the packaged user with the packaged environment file, waits for
# /readyz, stops it by its pid and purges the package. Run by
# `make deb-install-test`.
set -eu
deb=$1
port=${SCAPLOCK_INSTALL_TEST_PORT:-18080}
[ "$(id -u)" = 0 ] || { echo "install-test.sh: needs root (a disposable container)" >&2; exit 2; }
pid=
cleanup() {
	status=$?
	set +e
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	dpkg --purge scaplock >/dev/null 2>&1
	exit $status
}
trap cleanup EXIT

dpkg -i "$deb" >/dev/null
getent passwd scaplock >/dev/null || { echo "no scaplock user after install" >&2; exit 1; }
for f in /usr/bin/scaplockd /usr/bin/scaplock /lib/systemd/system/scaplockd.service /etc/default/scaplockd; do
	[ -e "$f" ] || { echo "missing $f after install" >&2; exit 1; }
done
scaplockd --version
scaplock --help >/dev/null 2>&1
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify /lib/systemd/system/scaplockd.service
fi

# What systemd would do: StateDirectory, the unit's Environment, then the
# environment file.
install -d -m 0700 -o scaplock -g scaplock /var/lib/scaplock
set -a
SCAPLOCK_DATA_DIR=/var/lib/scaplock
SCAPLOCK_LOG_FORMAT=json
. /etc/default/scaplockd
SCAPLOCK_LISTEN=127.0.0.1:$port
set +a
runuser -u scaplock -- scaplockd check-config
runuser -u scaplock -- scaplockd 2>/tmp/scaplockd-install-test.log &
pid=$!
i=0
until curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 120 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "scaplockd from the package not ready:" >&2
		cat /tmp/scaplockd-install-test.log >&2
		exit 1
	fi
	sleep 0.5
done
curl -fsS "http://127.0.0.1:$port/api/v1/status" | grep -Eq '"topology": *"embedded-single"'
owner=$(stat -c %U /var/lib/scaplock/etcd)
[ "$owner" = scaplock ] || { echo "etcd data owned by $owner, not scaplock" >&2; exit 1; }
echo "install-test: $deb installed, scaplockd started from it as user scaplock and answered /readyz"
