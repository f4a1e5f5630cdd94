# SPDX-License-Identifier: MIT
# sdnotify_listen.py SOCKET OUT SECONDS -- stand in for systemd's notification
# socket (sd_notify(3)): bind a Unix datagram socket at SOCKET and append
# every message received to OUT, one per line with "\n" inside a message
# shown as " | ", flushed at once. Ends after a message with STOPPING=1 or
# after SECONDS. Used by t_sd_notify.sh (nothing but the protocol: no mock
# of dnsd's behaviour, only the receiving end systemd would be).
import os
import socket
import sys
import time

path, out, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o777)  # dnsd may drop privileges; systemd's socket is 0777 too
end = time.monotonic() + secs
with open(out, "a", buffering=1) as f:
    print("listening", file=f)
    while time.monotonic() < end:
        s.settimeout(max(0.05, end - time.monotonic()))
        try:
            msg = s.recv(4096).decode("utf-8", "replace")
        except socket.timeout:
            break
        print(msg.replace("\n", " | "), file=f)
        if "STOPPING=1" in msg.split("\n"):
            break
