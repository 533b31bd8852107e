#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Play the kernel's side of /dev/xen/tpmback over `vtpmctl serve --socket`.

Each SOCK_SEQPACKET record is one struct xen_tpmback_msg (type, seq, len,
locality, flags, reserved; host byte order) followed by len payload bytes,
exactly as on the character device.

usage: vtpm_client.py SOCKET OP...
  getrandom:N  randhex:N (GetRandom, prints the bytes)  pcrextend:PCR:HEX32  pcrread:PCR  nvdefine:IDX:SIZE
  nvwrite:IDX:HEX  nvread:IDX:SIZE  nvundefine:IDX  startup  shutdown
  createprimary  createprimary_rsa  raw:HEX  loc:N (locality for what follows)
  cancel (CANCEL for the next seq, sent right after the next command)
  bench:N (N GetRandom round trips, prints cmd/s)  hold (wait for EOF)
  waitfile:PATH (wait until PATH exists, at most 60 s; a sync point)
  overlap (a GetRandom sent while an RSA CreatePrimary runs, as the kernel
    does after it gave up on a command: prints both responses' codes)
Each op prints one line: "<op> rc=0x... <result>"; exit 1 on transport errors.
"""
import os
import socket
import struct
import sys
import time

HDR = struct.Struct("=IIIBBH")
CMD, CANCEL, RSP = 1, 2, 3
RS_PW = struct.pack(">IIHBH", 9, 0x40000009, 0, 0, 0)


def tpm(tag, cc, body):
    return struct.pack(">HII", tag, 10 + len(body), cc) + body


def build(op):
    a = op.split(":")
    n = a[0]
    if n in ("getrandom", "randhex"):
        return tpm(0x8001, 0x17b, struct.pack(">H", int(a[1])))
    if n == "startup":
        return tpm(0x8001, 0x144, struct.pack(">H", 0))
    if n == "shutdown":
        return tpm(0x8001, 0x145, struct.pack(">H", 0))
    if n == "pcrextend":
        return tpm(0x8002, 0x182, struct.pack(">I", int(a[1])) + RS_PW +
                   struct.pack(">IH", 1, 0x000b) + bytes.fromhex(a[2]))
    if n == "pcrread":
        p = int(a[1])
        sel = bytearray(3)
        sel[p // 8] = 1 << (p % 8)
        return tpm(0x8001, 0x17e, struct.pack(">IHB", 1, 0x000b, 3) + bytes(sel))
    if n == "nvdefine":
        pub = struct.pack(">IHIHH", int(a[1], 16), 0x000b, 0x00060006, 0, int(a[2]))
        return tpm(0x8002, 0x12a, struct.pack(">I", 0x40000001) + RS_PW +
                   struct.pack(">H", 0) + struct.pack(">H", len(pub)) + pub)
    if n == "nvwrite":
        idx, data = int(a[1], 16), bytes.fromhex(a[2])
        return tpm(0x8002, 0x137, struct.pack(">II", idx, idx) + RS_PW +
                   struct.pack(">H", len(data)) + data + struct.pack(">H", 0))
    if n == "nvread":
        idx = int(a[1], 16)
        return tpm(0x8002, 0x14e, struct.pack(">II", idx, idx) + RS_PW +
                   struct.pack(">HH", int(a[2]), 0))
    if n == "nvundefine":
        return tpm(0x8002, 0x122, struct.pack(">II", 0x40000001, int(a[1], 16)) + RS_PW)
    if n == "createprimary":
        pub = struct.pack(">HHIHHHHHHHHH", 0x0023, 0x000b, 0x00030472, 0,
                          0x0006, 128, 0x0043, 0x0010, 0x0003, 0x0010, 0, 0)
        return tpm(0x8002, 0x131, struct.pack(">I", 0x40000001) + RS_PW +
                   struct.pack(">HHH", 4, 0, 0) + struct.pack(">H", len(pub)) + pub +
                   struct.pack(">HI", 0, 0))
    if n == "createprimary_rsa":
        pub = struct.pack(">HHIHHHHHHIH", 0x0001, 0x000b, 0x00030472, 0,
                          0x0006, 128, 0x0043, 0x0010, 2048, 0, 0)
        return tpm(0x8002, 0x131, struct.pack(">I", 0x40000001) + RS_PW +
                   struct.pack(">HHH", 4, 0, 0) + struct.pack(">H", len(pub)) + pub +
                   struct.pack(">HI", 0, 0))
    if n == "raw":
        return bytes.fromhex(a[1])
    raise SystemExit("unknown op " + op)


class Conn:
    def __init__(self, path):
        for _ in range(200):
            # a fresh socket per attempt: a failed connect() leaves the
            # old one unusable
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            try:
                self.s.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.s.close()
                time.sleep(0.05)
        else:
            raise SystemExit("cannot connect to " + path)
        self.seq = 100
        self.locality = 0

    def send(self, typ, payload=b"", seq=None):
        if seq is None:
            self.seq += 1
            seq = self.seq
        self.s.send(HDR.pack(typ, seq, len(payload), self.locality, 0, 0) + payload)
        return seq

    def recv(self):
        m = self.s.recv(65536)
        if not m:
            return None, None
        typ, seq, ln, _, _, _ = HDR.unpack_from(m)
        if typ != RSP or ln != len(m) - HDR.size:
            raise SystemExit("bad response message type %d len %d/%d" % (typ, ln, len(m)))
        return seq, m[HDR.size:]

    def xfer(self, cmd, cancel=False):
        for _ in range(3):
            seq = self.send(CMD, cmd)
            if cancel:
                self.send(CANCEL, seq=seq)
            rseq, r = self.recv()
            if r is None:
                raise SystemExit("EOF from server")
            if rseq != seq:
                raise SystemExit("response seq %d for command %d" % (rseq, seq))
            if struct.unpack(">I", r[6:10])[0] != 0x922:   # TPM_RC_RETRY: resend
                break
        return r


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    c = Conn(sys.argv[1])
    cancel = False
    for op in sys.argv[2:]:
        n = op.split(":")[0]
        if n == "loc":
            c.locality = int(op.split(":")[1])
            continue
        if n == "cancel":
            cancel = True
            continue
        if n == "waitfile":
            path = op.split(":", 1)[1]
            print("waiting for %s" % path)
            sys.stdout.flush()
            t0 = time.monotonic()
            while not os.path.exists(path) and time.monotonic() - t0 < 60:
                time.sleep(0.02)
            print("waitfile %s" % ("ok" if os.path.exists(path) else "timeout"))
            sys.stdout.flush()
            continue
        if n == "overlap":
            slow = c.send(CMD, build("createprimary_rsa"))
            fast = c.send(CMD, build("getrandom:8"))
            got = {}
            c.s.settimeout(60)     # an unanswered command must not hang us
            while len(got) < 2:
                try:
                    rseq, r = c.recv()
                except socket.timeout:
                    break
                if r is None:
                    raise SystemExit("EOF from server")
                got[rseq] = struct.unpack(">I", r[6:10])[0]
            c.s.settimeout(None)
            print("overlap first=%s second=%s" % tuple(
                "0x%x" % got[q] if q in got else "none" for q in (slow, fast)))
            sys.stdout.flush()
            continue
        if n == "hold":
            sys.stdout.flush()
            c.s.recv(65536)  # returns when the server goes away
            print("hold eof")
            continue
        if n == "bench":
            cnt = int(op.split(":")[1])
            cmd = build("getrandom:16")
            t0 = time.monotonic()
            for _ in range(cnt):
                c.xfer(cmd)
            dt = time.monotonic() - t0
            print("bench %d cmds %.0f cmd/s %.1f us/cmd" % (cnt, cnt / dt, dt / cnt * 1e6))
            continue
        r = c.xfer(build(op), cancel)
        cancel = False
        rc = struct.unpack(">I", r[6:10])[0]
        out = r.hex()
        if rc == 0 and n == "pcrread":
            out = r[30:62].hex()
        elif rc == 0 and n == "nvread":
            ln = struct.unpack(">H", r[14:16])[0]
            out = r[16:16 + ln].hex()
        elif rc == 0 and n == "randhex":
            ln = struct.unpack(">H", r[10:12])[0]
            out = r[12:12 + ln].hex()
        elif rc == 0 and n == "getrandom":
            out = "%d bytes" % struct.unpack(">H", r[10:12])[0]
        print("%s rc=0x%x %s" % (n, rc, out))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
