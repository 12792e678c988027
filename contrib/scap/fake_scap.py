#!/usr/bin/env python3
"""A stand-in for scap's global lock, for testing scaplock scap-bridge.

It acts from what scap does (scap/lock.py), nothing more:

  sync        a sync: shared POSIX record lock (fcntl.lockf, LOCK_SH) on the
              lock file opened read-only; when it is locked exclusively,
              print 'global lock is locked by <locker> (pid <pid>) on
              <timestamp_utc>; reason is "<reason>"' (again whenever that
              changes) and retry until --timeout, then abort (exit 1).
  lock        scap lock --all: exclusive lockf on the file opened read-write,
              write {"locker","pid","timestamp_utc","reason"}; hold it until
              SIGTERM/SIGINT or an unlock-all handshake, then reset to {}.
  unlock-all  scap lock --unlock-all: if the file is {} there is "no global
              lock"; else write the signal file {"releaser","reason"}, wait
              up to 5 s for the acknowledgement file, remove the signal file.
  probe       for the benchmark: read "refused LOCKER" or "free" lines on
              stdin and answer with the wall-clock time (ns) a new shared-lock
              attempt was first refused with LOCKER in the file / first
              succeeded.

Usage: fake_scap.py sync --lock-file F [--timeout 600] [--hold SECONDS]
       fake_scap.py lock --lock-file F --reason R [--user U] [--signal-file F --ack-file F]
       fake_scap.py unlock-all --lock-file F --reason R [--user U] [--signal-file F --ack-file F]
       fake_scap.py probe --lock-file F
"""

import argparse
import datetime
import fcntl
import getpass
import json
import os
import signal
import sys
import time

SIGNAL_FILE = "/tmp/scap-unlock-global"
ACK_FILE = "/tmp/scap-unlock-global-removed"


def say(msg):
    print(msg, flush=True)


def read_lock(path):
    """The lock file's JSON; {} while it is being rewritten or empty."""
    try:
        with open(path) as f:  # read-only: opening cannot cost a lock we hold here
            return json.load(f)
    except (OSError, ValueError):
        return {}


def try_lock(fd, kind):
    try:
        fcntl.lockf(fd, kind | fcntl.LOCK_NB)
        return True
    except (BlockingIOError, PermissionError):
        return False


def sync(args):
    fd = os.open(args.lock_file, os.O_RDONLY)
    deadline = time.monotonic() + args.timeout
    last = None
    while not try_lock(fd, fcntl.LOCK_SH):
        info = read_lock(args.lock_file)
        if info.get("locker"):
            msg = 'global lock is locked by %s (pid %s) on %s; reason is "%s"' % (
                info.get("locker"), info.get("pid"), info.get("timestamp_utc"), info.get("reason"))
            if msg != last:
                say(msg)
                last = msg
        if time.monotonic() > deadline:
            say("timed out waiting for the global lock after %ss" % args.timeout)
            return 1
        time.sleep(0.05)
    say("acquired the global lock (shared)")
    if args.hold:
        stop = []
        signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
        end = time.monotonic() + args.hold
        while not stop and time.monotonic() < end:
            time.sleep(0.05)
    fcntl.lockf(fd, fcntl.LOCK_UN)
    os.close(fd)
    return 0


def lock_all(args):
    fd = os.open(args.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + args.timeout
    while not try_lock(fd, fcntl.LOCK_EX):
        if time.monotonic() > deadline:
            say("could not lock within %ss" % args.timeout)
            return 1
        time.sleep(0.05)
    info = {"locker": args.user, "pid": os.getpid(),
            "timestamp_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "reason": args.reason}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(info).encode(), 0)
    say("locked")
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append("SIGTERM"))
    signal.signal(signal.SIGINT, lambda *_: stop.append("SIGINT"))
    while not stop:
        if os.path.exists(args.signal_file):
            open(args.ack_file, "w").close()
            while os.path.exists(args.signal_file) and not stop:
                time.sleep(0.05)
            stop.append("unlock-all")
        time.sleep(0.05)
    os.ftruncate(fd, 0)
    os.pwrite(fd, b"{}", 0)
    fcntl.lockf(fd, fcntl.LOCK_UN)
    os.close(fd)
    if stop[0] == "unlock-all" and os.path.exists(args.ack_file):
        os.remove(args.ack_file)
    say("released (%s)" % stop[0])
    return 0


def unlock_all(args):
    info = read_lock(args.lock_file)
    if not info:
        say("no global lock")
        return 0
    with open(args.signal_file, "w") as f:
        json.dump({"releaser": args.user, "reason": args.reason}, f)
    deadline = time.monotonic() + 5
    acked = False
    while time.monotonic() < deadline:
        if os.path.exists(args.ack_file):
            acked = True
            break
        time.sleep(0.05)
    os.remove(args.signal_file)
    if acked:
        say("global lock held by %s released" % info.get("locker"))
        return 0
    say("no acknowledgement from %s (pid %s) within 5s" % (info.get("locker"), info.get("pid")))
    return 1


def probe(args):
    fd = os.open(args.lock_file, os.O_RDONLY)
    for line in sys.stdin:
        want, _, locker = line.strip().partition(" ")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            got = try_lock(fd, fcntl.LOCK_SH)
            at = time.time_ns()
            if got:
                fcntl.lockf(fd, fcntl.LOCK_UN)
                if want == "free":
                    say("%d" % at)
                    break
            elif want == "refused":
                info = read_lock(args.lock_file)
                if info.get("locker") == locker:
                    say("%d %s" % (at, info.get("reason", "")))
                    break
            time.sleep(0.001)
        else:
            say("timeout")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["sync", "lock", "unlock-all", "probe"])
    p.add_argument("--lock-file", default="/var/lock/scap-global-lock")
    p.add_argument("--signal-file", default=SIGNAL_FILE)
    p.add_argument("--ack-file", default=ACK_FILE)
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--hold", type=float, default=0)
    p.add_argument("--reason", default="")
    p.add_argument("--user", default=getpass.getuser())
    args = p.parse_args()
    return {"sync": sync, "lock": lock_all, "unlock-all": unlock_all, "probe": probe}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
