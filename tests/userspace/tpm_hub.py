#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Let tpm2-tools talk to `vtpmctl serve --socket` (tests).

  tpm_hub.py hub SERVE_SOCKET HUB_SOCKET
      holds the one connection serve accepts (as the kernel would) and
      forwards raw TPM commands from any number of stream connections on
      HUB_SOCKET, one at a time. Runs until killed.
  tpm_hub.py pipe HUB_SOCKET
      tpm2-tss's cmd TCTI child: raw commands on stdin, responses on stdout:
      TPM2TOOLS_TCTI="cmd:python3 tpm_hub.py pipe HUB_SOCKET"
"""
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vtpm_client import Conn  # noqa: E402


def read_exact(f, n):
    b = b""
    while len(b) < n:
        c = f(n - len(b))
        if not c:
            return None
        b += c
    return b


def read_msg(f):
    h = read_exact(f, 10)
    if h is None:
        return None
    size = struct.unpack(">I", h[2:6])[0]
    if size < 10 or size > 4096:
        return None
    rest = read_exact(f, size - 10)
    return None if rest is None else h + rest


def hub(serve_sock, hub_sock):
    c = Conn(serve_sock)
    try:
        os.unlink(hub_sock)
    except FileNotFoundError:
        pass
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(hub_sock + ".tmp")
    os.rename(hub_sock + ".tmp", hub_sock)
    ls.listen(4)
    while True:
        s, _ = ls.accept()
        with s:
            while True:
                cmd = read_msg(s.recv)
                if cmd is None:
                    break
                s.sendall(c.xfer(cmd))


def pipe(hub_sock):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(hub_sock)
    while True:
        cmd = read_msg(lambda n: os.read(0, n))
        if cmd is None:
            return
        s.sendall(cmd)
        r = read_msg(s.recv)
        if r is None:
            sys.exit(1)
        while r:
            r = r[os.write(1, r):]


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "hub":
        hub(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "pipe":
        pipe(sys.argv[2])
    else:
        sys.exit(__doc__)
