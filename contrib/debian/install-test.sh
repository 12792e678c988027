#!/bin/sh
# install-test.sh PACKAGE.deb — for a disposable CI container, as root:
# installs the package, checks what it put in place (users, group, every
# file its units name), starts scaplockd from it as the packaged user with
# the packaged environment file, waits for /readyz, then starts the scap
# bridge as scaplock-bridge:deployment against it and waits for its /state;
# stops both by their pids and purges the package, checking the purge
# removed the users. Without systemd (a container) the services are started
# as their units would start them: user, group, environment file. Run by
# `make deb-install-test`.
set -eu
deb=$1
port=${SCAPLOCK_INSTALL_TEST_PORT:-18080}
bport=$((port + 1))
[ "$(id -u)" = 0 ] || { echo "install-test.sh: needs root (a disposable container)" >&2; exit 2; }
fail() {
	echo "install-test: $*" >&2
	exit 1
}
pid= bpid= tmp=
cleanup() {
	status=$?
	set +e
	for p in $bpid $pid; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	[ -n "$tmp" ] && rm -rf "$tmp"
	dpkg --purge scaplock >/dev/null 2>&1
	exit $status
}
trap cleanup EXIT

dpkg -i "$deb" >/dev/null
getent passwd scaplock >/dev/null || fail "no scaplock user after install"
getent passwd scaplock-bridge >/dev/null || fail "no scaplock-bridge user after install"
[ "$(id -gn scaplock-bridge)" = deployment ] || fail "scaplock-bridge's group is $(id -gn scaplock-bridge), not deployment"
for f in /usr/bin/scaplockd /usr/bin/scaplock /lib/systemd/system/scaplockd.service /etc/default/scaplockd \
	/lib/systemd/system/scaplock-scap-bridge.service /etc/default/scaplock-scap-bridge; do
	[ -e "$f" ] || fail "missing $f after install"
done
# Every file a unit names is installed.
for doc in $(sed -n 's|^Documentation=.*file://\(/[^ ]*\).*|\1|p' /lib/systemd/system/scaplockd.service /lib/systemd/system/scaplock-scap-bridge.service); do
	[ -e "$doc" ] || fail "a unit's Documentation= names $doc, which the package does not install"
done
# Installing again (dpkg -i over itself) is harmless: the users exist.
dpkg -i "$deb" >/dev/null
scaplockd --version
scaplock --help >/dev/null 2>&1
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify /lib/systemd/system/scaplockd.service
fi

# What the unit gives scaplockd: StateDirectory and the environment file,
# which alone sets the data dir; check-config reads that same file.
install -d -m 0700 -o scaplock -g scaplock /var/lib/scaplock
runuser -u scaplock -- scaplockd check-config --env-file /etc/default/scaplockd | grep -q 'embedded single-node etcd in /var/lib/scaplock ' ||
	fail "check-config --env-file /etc/default/scaplockd does not see the unit's data dir"
set -a
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

# The bridge, as its unit runs it: User=scaplock-bridge, Group=deployment,
# the packaged environment file, the token as a file only it reads (the
# unit's LoadCredential), HOME=/nonexistent. scap's lock and signal files
# go to a directory of the deployment group instead of /var/lock and /tmp.
tmp=$(mktemp -d)
chgrp deployment "$tmp"
chmod 2770 "$tmp"
scaplock token --secret-file /var/lib/scaplock/jwt.secret --sub install-test-bridge --roles deployer >"$tmp/bridge.token"
chown scaplock-bridge "$tmp/bridge.token"
chmod 0600 "$tmp/bridge.token"
(
	set -a
	. /etc/default/scaplock-scap-bridge
	SCAPLOCK_URL=http://127.0.0.1:$port
	SCAPLOCK_TOKEN_FILE=$tmp/bridge.token
	SCAPLOCK_BRIDGE_LISTEN=127.0.0.1:$bport
	SCAPLOCK_BRIDGE_LOCK_FILE=$tmp/scap-global-lock
	SCAPLOCK_BRIDGE_UNLOCK_SIGNAL_FILE=$tmp/scap-unlock-global
	SCAPLOCK_BRIDGE_UNLOCK_ACK_FILE=$tmp/scap-unlock-global-removed
	HOME=/nonexistent
	set +a
	umask 0002
	exec setpriv --reuid=scaplock-bridge --regid=deployment --clear-groups -- scaplock scap-bridge
) 2>/tmp/scaplock-bridge-install-test.log &
bpid=$!
i=0
until curl -fsS "http://127.0.0.1:$bport/state" 2>/dev/null | grep -Eq '"holding": *false'; do
	i=$((i + 1))
	if [ $i -gt 120 ] || ! kill -0 "$bpid" 2>/dev/null; then
		echo "the bridge from the package did not report holding=false (scaplock allows deploys):" >&2
		curl -sS "http://127.0.0.1:$bport/state" >&2
		cat /tmp/scaplock-bridge-install-test.log >&2
		exit 1
	fi
	sleep 0.5
done
who=$(ps -o user:32=,group:32= -p "$bpid" | tr -s ' ' | sed 's/^ //; s/ $//')
[ "$who" = "scaplock-bridge deployment" ] || fail "the bridge runs as \"$who\", not \"scaplock-bridge deployment\""

for p in $bpid $pid; do
	kill "$p"
	wait "$p" || true
done
bpid= pid=
dpkg --purge scaplock >/dev/null
for user in scaplock scaplock-bridge; do
	! getent passwd "$user" >/dev/null || fail "purge left the $user user"
done
[ ! -e /var/lib/scaplock ] || fail "purge left /var/lib/scaplock"
echo "install-test: $deb installed; scaplockd ran as scaplock and answered /readyz; the scap bridge ran as scaplock-bridge:deployment and reported holding=false; purge removed both users and the data"
