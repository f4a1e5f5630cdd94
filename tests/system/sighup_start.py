#!/usr/bin/env python3
# sighup_start.py -- start dnsd while SIGHUPs arrive, report whether it lived.
# Usage: sighup_start.py MODE DNSD LOG PORTFILE ARGS...
#   pending: dnsd is exec'ed with SIGHUP blocked and one SIGHUP already
#            pending (a mask survives exec): it must be taken by the handler,
#            not by the default action, whenever dnsd unblocks it.
#   flood:   from the moment dnsd is inside main() (it has a signal blocked
#            or its store mapped), SIGHUP every 0.2 ms for 0.5 s (through
#            start-up, which takes a few ms, and into its main loop).
# Prints "alive N" (N SIGHUPs sent) with dnsd still running and its pid on
# the next line, or "dead RC N". Every loop is bounded in time.
import os
import signal
import subprocess
import sys
import time

mode, dnsd, log, portfile = sys.argv[1:5]
args = sys.argv[5:]


def blocked(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("SigBlk:"):
                    return int(line.split()[1], 16) != 0
    except OSError:
        pass
    return False


def mapped(pid):
    try:
        with open(f"/proc/{pid}/maps") as f:
            return "data.mdb" in f.read()
    except OSError:
        return False


with open(log, "w") as lf:
    if mode == "pending":
        def pre():
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
            os.kill(os.getpid(), signal.SIGHUP)
        p = subprocess.Popen([dnsd] + args, stdout=lf, stderr=lf, preexec_fn=pre)
        sent = 1
    else:
        p = subprocess.Popen([dnsd] + args, stdout=lf, stderr=lf)
        sent = 0
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and p.poll() is None:
            if blocked(p.pid) or mapped(p.pid):
                break
        end = time.monotonic() + 0.5
        while time.monotonic() < end and p.poll() is None:
            os.kill(p.pid, signal.SIGHUP)
            sent += 1
            time.sleep(0.0002)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and p.poll() is None and not os.path.exists(portfile):
        time.sleep(0.01)
    time.sleep(0.2)  # a SIGHUP taken by the default action kills at once
    if p.poll() is None:
        print(f"alive {sent}\n{p.pid}")
    else:
        print(f"dead {p.returncode} {sent}")
