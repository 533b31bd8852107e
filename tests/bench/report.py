#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn statebench's "R key=value ..." lines into the state-path report.

usage: report.py RESULTS [--serve-log FILE] [--title TEXT]

Prints markdown-like tables, one "METRIC <name> <value> <unit>" line per
measured number (machine-readable), and one "TARGET MET|MISSED" line per
speed target of issue 7 ("Done when"). Speed is reported, never asserted:
the exit status is 0 whatever the verdicts (1 only for unreadable input).
"""
import re
import sys

LIGHT = ["GetRandom", "PCR_Read", "GetCapability", "PCR_Extend"]
CMDS = LIGHT + ["NV_Write"]


def parse(path):
    rows = []
    with open(path) as f:
        for line in f:
            if not line.startswith("R "):
                continue
            d = {}
            for tok in line.split()[1:]:
                k, _, v = tok.partition("=")
                try:
                    d[k] = float(v)
                except ValueError:
                    d[k] = v
            rows.append(d)
    return rows


def find(rows, **kw):
    for r in rows:
        if all(r.get(k) == v for k, v in kw.items()):
            return r
    return None


def f(v, nd=1):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if abs(v) >= 1000:
        return "%.0f" % v
    return "%.*f" % (nd, v)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def table(head, rows):
    w = [max(len(str(x)) for x in col) for col in zip(head, *rows)] if rows else [len(h) for h in head]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w[i]) for i, c in enumerate(cells)) + " |"
    print(line(head))
    print("|" + "|".join("-" * (x + 2) for x in w) + "|")
    for r in rows:
        print(line(r))
    print()


metrics = []


def metric(name, value, unit):
    if value is not None:
        metrics.append("METRIC %s %s %s" % (name, ("%.3f" % value).rstrip("0").rstrip("."), unit))


def get(r, k):
    return None if r is None else r.get(k)


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        return 1
    results, serve_log, title = args[0], None, "State-path benchmark (issue 7)"
    i = 1
    while i < len(args):
        if args[i] == "--serve-log":
            serve_log = args[i + 1]
            i += 2
        elif args[i] == "--title":
            title = args[i + 1]
            i += 2
        else:
            print("report.py: unknown argument " + args[i], file=sys.stderr)
            return 1
    rows = parse(results)
    if not rows:
        print("report.py: no results in " + results, file=sys.stderr)
        return 1

    print("## " + title)
    print()

    # ---- in-process -----------------------------------------------------
    ip = {(r["variant"], r["cmd"]): r for r in rows if r.get("phase") == "inproc"}
    if ip:
        print("### In-process: plain libtpms vs libvtpm, latency per command (us)")
        print()
        t = []
        for c in CMDS:
            lt = ip.get(("libtpms", c))
            pr = ip.get(("libvtpm_process", c))
            ps = ip.get(("libvtpm_process_save", c))
            n = get(lt or pr or ps, "n")
            t.append([c, f(n, 0),
                      f(get(lt, "p50_us"), 2), f(get(lt, "p99_us"), 2),
                      f(get(pr, "p50_us"), 2), f(get(pr, "p99_us"), 2),
                      f(ratio(get(pr, "p50_us"), get(lt, "p50_us")), 2),
                      f(get(ps, "p50_us"), 2), f(get(ps, "p99_us"), 2),
                      f(ratio(get(ps, "p50_us"), get(lt, "p50_us")), 2)])
            for v, r in (("libtpms", lt), ("libvtpm_process", pr), ("libvtpm_process_save", ps)):
                metric("inproc.%s.%s.p50" % (v, c), get(r, "p50_us"), "us")
                metric("inproc.%s.%s.p99" % (v, c), get(r, "p99_us"), "us")
        table(["command", "N", "libtpms p50", "p99", "vtpm_process p50", "p99", "x libtpms",
               "process+vtpm_save p50", "p99", "x libtpms"], t)

        print("### libvtpm per-stage split (vtpm_get_stats deltas, per command; us, bytes)")
        print()
        t = []
        for v in ("libvtpm_process", "libvtpm_process_save"):
            for c in CMDS:
                r = ip.get((v, c))
                if not r:
                    continue
                t.append([v.replace("libvtpm_", ""), c, f(r.get("p50_us"), 2),
                          f(r.get("st_tpm_us"), 2), f(r.get("st_marshal_us"), 2),
                          f(r.get("st_crypto_us"), 2), f(r.get("st_io_us"), 2),
                          f(r.get("st_volatile_saves"), 2), f(r.get("st_volatile_records"), 2),
                          f(r.get("st_permanent_saves"), 2),
                          f(r.get("st_bytes_volatile"), 0), f(r.get("st_bytes_permanent"), 0),
                          f(r.get("wchar_b"), 0), f(r.get("write_bytes_b"), 0),
                          f(r.get("cpu_us"), 1)])
                for k in ("st_tpm_us", "st_marshal_us", "st_crypto_us", "st_io_us", "cpu_us"):
                    metric("inproc.%s.%s.%s" % (v, c, k[:-3]), r.get(k), "us")
                for k in ("st_volatile_saves", "st_volatile_records", "st_permanent_saves"):
                    metric("inproc.%s.%s.%s" % (v, c, k), r.get(k), "per_cmd")
                for k in ("st_bytes_volatile", "st_bytes_permanent", "wchar_b", "write_bytes_b"):
                    metric("inproc.%s.%s.%s" % (v, c, k[:-2] if k.endswith("_b") else k),
                           r.get(k), "bytes")
        table(["variant", "command", "p50", "libtpms", "marshal", "crypto", "io",
               "vol saves", "vol records", "perm saves", "vol bytes", "perm bytes", "wchar", "write_bytes",
               "cpu us"], t)
        info = [r for r in rows if r.get("phase") == "info"]
        if info:
            r = info[-1]
            print("State on disk after the in-process run: permanent %d bytes, volatile %d bytes, encrypted %d."
                  % (r.get("permanent_size", 0), r.get("volatile_size", 0), r.get("encrypted", 0)))
            print()

    # ---- sockets --------------------------------------------------------
    PIN_TEXT = {
        "split": "client on CPU 0, servers on CPU 1: every wake-up crosses CPUs",
        "same": "client and servers on CPU 0: every wake-up is a context switch",
        "none": "placement left to the scheduler",
    }
    sock_rows = [r for r in rows if r.get("phase") == "sock"]
    pins = [p for p in ("split", "same", "none") if any(r.get("pin", "none") == p for r in sock_rows)]
    # the verdicts use one placement: split (deterministic, and the
    # guest's vCPU is not the server's CPU) where it ran
    vpin = pins[0] if pins else "none"
    so = {(r["target"], r["cmd"]): r for r in sock_rows if r.get("pin", "none") == vpin}
    so_all = {(r.get("pin", "none"), r["target"], r["cmd"]): r for r in sock_rows}
    for pin in pins:
        sp = {(r["target"], r["cmd"]): r for r in sock_rows if r.get("pin", "none") == pin}
        print("### Over the socket transport: vtpmctl serve (seqpacket) vs swtpm (UNIX socket), us;"
              " pin=%s%s" % (pin, " (the verdicts' placement)" if pin == vpin and len(pins) > 1 else ""))
        print()
        print("Placement: %s." % PIN_TEXT.get(pin, pin))
        print()
        t = []
        for c in CMDS:
            o, s = sp.get(("vtpmctl", c)), sp.get(("swtpm", c))
            t.append([c, f(get(o or s, "n"), 0), f(get(o, "p50_us")), f(get(o, "p99_us")),
                      f(get(s, "p50_us")), f(get(s, "p99_us")),
                      f(ratio(get(o, "p50_us"), get(s, "p50_us")), 2),
                      f(ratio(get(o, "p99_us"), get(s, "p99_us")), 2)])
            metric("sock.%s.ratio_vtpmctl_swtpm.%s.p50" % (pin, c),
                   ratio(get(o, "p50_us"), get(s, "p50_us")), "x")
        table(["command", "N", "vtpmctl p50", "p99", "swtpm p50", "p99", "ours/swtpm p50",
               "ours/swtpm p99"], t)

        print("Server cost per command in dom0 (/proc/PID/stat, /proc/PID/io deltas / N), pin=%s:" % pin)
        print()
        t = []
        for c in CMDS:
            for tg in ("vtpmctl", "swtpm"):
                r = sp.get((tg, c))
                if not r:
                    continue
                t.append([c, tg, f(r.get("cpu_user_us")), f(r.get("cpu_sys_us")),
                          f(r.get("cpu_us")), f(r.get("cpu_sched_us")),
                          f(r.get("wchar_b"), 0), f(r.get("write_bytes_b"), 0),
                          f(r.get("retries"), 0)])
                for k in ("p50_us", "p99_us", "cpu_us", "cpu_user_us", "cpu_sys_us", "cpu_sched_us"):
                    metric("sock.%s.%s.%s.%s" % (pin, tg, c, k[:-3]), r.get(k), "us")
                for k in ("wchar_b", "write_bytes_b"):
                    metric("sock.%s.%s.%s.%s" % (pin, tg, c, k[:-2]), r.get(k), "bytes")
        table(["command", "server", "cpu user", "cpu sys", "cpu utime+stime", "cpu schedstat",
               "wchar B", "write_bytes B", "retries"], t)
    floor = {(r.get("pin", "none"), r["target"]): r for r in rows if r.get("phase") == "floor"}
    if floor:
        print("### Transport floor: the same client against servers that answer at once, no TPM (us)")
        print()
        t = []
        for pin in pins:
            sw = get(so_all.get((pin, "swtpm", "GetRandom")), "p50_us")
            for tg, what in (("echo_seqpacket", "seqpacket, one thread"),
                             ("echo_seqpacket_thread", "seqpacket, hand-off to a worker thread as serve does"),
                             ("echo_stream", "stream socket, as swtpm's data socket")):
                r = floor.get((pin, tg))
                if r:
                    t.append([pin, tg, what, f(r["p50_us"]), f(r["p99_us"]),
                              f(ratio(r["p50_us"], sw), 2)])
                    metric("floor.%s.%s.p50" % (pin, tg), r["p50_us"], "us")
        table(["pin", "server", "what", "p50", "p99", "/ swtpm GetRandom p50"], t)
        print("No server over this socket answers faster than its floor: a target below it")
        print("is out of reach for any state path.")
        print()
    if sock_rows:
        print("CPU from utime+stime has clock-tick resolution (10 ms over the whole run);")
        print("\"cpu schedstat\" sums the server's threads' run time. wchar counts")
        print("write()-family bytes; writes through a shared mmap show in neither column")
        print("(see the library's own byte counts above).")
        print()

    st = {r["target"]: r for r in rows if r.get("phase") == "start"}
    if st:
        print("### Start to first answer (fork/exec of the server until the first GetRandom answer), ms")
        print()
        t = []
        for tg in ("vtpmctl", "swtpm"):
            r = st.get(tg)
            if r:
                t.append([tg, f(r["n"], 0), f(r["p50_us"] / 1e3, 2), f(r["min_us"] / 1e3, 2),
                          f(r["max_us"] / 1e3, 2)])
                metric("start.%s.median" % tg, r["p50_us"] / 1e3, "ms")
        table(["server", "starts", "median", "min", "max"], t)

    nb = {(r.get("pin", "none"), r["variant"]): r for r in rows if r.get("phase") == "nvbase"}
    if nb:
        print("### NV write vs a bare durable write of the permanent state's size, same filesystem, us")
        print()
        t = []
        ours_ip = get(ip.get(("libvtpm_process", "NV_Write")), "p50_us")
        for (pin, v), r in sorted(nb.items(), key=lambda x: (x[0][0] != vpin, x[0])):
            what = {"inplace": "open+pwrite+fsync(file)+close+fsync(dir)",
                    "replace": "write tmp+fsync+rename+fsync(dir)"}.get(v, v)
            when = ("interleaved with the socket NV writes" if pin != "none"
                    else "alone, after the socket runs")
            ours_sock = get(so_all.get((pin if pin != "none" else vpin, "vtpmctl", "NV_Write")), "p50_us")
            t.append([v, pin, when, what, f(r["size"], 0), f(r["p50_us"]), f(r["p99_us"]),
                      f(ratio(ours_sock, r["p50_us"]), 2), f(ratio(ours_ip, r["p50_us"]), 2)])
            metric("nvbase.%s.%s.p50" % (pin, v), r["p50_us"], "us")
        table(["baseline", "pin", "when", "what", "bytes", "p50", "p99", "serve NV_Write / it",
               "vtpm_process NV_Write / it"], t)

    if serve_log:
        try:
            with open(serve_log, errors="replace") as fl:
                lines = [l.rstrip() for l in fl if re.search(r"commands,|\bstats?\b|bytes|ns_", l)]
        except OSError:
            lines = []
        if lines:
            print("### What vtpmctl serve logged about itself (last lines)")
            print()
            for l in lines[-4:]:
                print("    " + l)
            print()
        # serve's own vtpm_get_stats() line, if it logs one: per command
        # over the whole run (all the commands above, mixed)
        rx = re.compile(r"state path: (\d+) commands, (\d+) volatile saves, \d+ logged, (\d+) permanent saves; "
                        r"per command: libtpms ([\d.]+) us, marshal ([\d.]+) us, crypto ([\d.]+) us, "
                        r"I/O ([\d.]+) us, ([\d.]+) bytes volatile, ([\d.]+) bytes permanent")
        t = []
        for l in lines:
            mm = rx.search(l)
            if mm:
                v = [float(x) for x in mm.groups()]
                t.append([f(v[0], 0), f(v[1], 0), f(v[2], 0)] + [f(x, 1) for x in v[3:7]] +
                         [f(v[7], 0), f(v[8], 0)])
                n = len(t)
                for k, x in zip(("libtpms", "marshal", "crypto", "io"), v[3:7]):
                    metric("serve.run%d.%s" % (n, k), x, "us")
                metric("serve.run%d.bytes_volatile" % n, v[7], "bytes")
                metric("serve.run%d.bytes_permanent" % n, v[8], "bytes")
        if t:
            print("serve's vtpm_get_stats() at exit, per command over each serve run (all commands mixed):")
            print()
            table(["commands", "volatile saves", "permanent saves", "libtpms us", "marshal us",
                   "crypto us", "I/O us", "bytes volatile", "bytes permanent"], t)

    # ---- verdicts -------------------------------------------------------
    print("### Targets (issue 7, \"Done when\")")
    print()
    verdicts = []

    def verdict(name, val, limit, text):
        if val is None:
            verdicts.append("TARGET NOT MEASURED %s: %s" % (name, text))
            return
        ok = val <= limit
        verdicts.append("TARGET %s %s: %.2f <= %.2f (%s)" % ("MET" if ok else "MISSED", name,
                                                              val, limit, text))

    for c in ("GetRandom", "PCR_Read", "GetCapability", "PCR_Extend"):
        o, s = get(so.get(("vtpmctl", c)), "p50_us"), get(so.get(("swtpm", c)), "p50_us")
        lim = 1.0 if c == "PCR_Extend" else 0.5
        fl = get(floor.get((vpin, "echo_seqpacket")), "p50_us")
        ftext = ("; floor: a bare seqpacket round trip is %s us = %.2fx swtpm" % (f(fl), fl / s)
                 if fl and s else "")
        verdict("sock_%s_vs_swtpm" % c, ratio(o, s), lim,
                "socket p50 ours/swtpm: %s us / %s us, pin=%s%s" % (f(o), f(s), vpin, ftext))
    o = get(so.get(("vtpmctl", "NV_Write")), "p50_us")
    # the baseline measured in the same rhythm as the NV writes, if any
    bpin = vpin if (vpin, "inplace") in nb else "none"
    b = get(nb.get((bpin, "inplace")), "p50_us")
    durable = [get(ip.get((v, "NV_Write")), "st_permanent_saves") for v in ("libvtpm_process",)]
    dtext = ("library reports %.2f durable permanent saves per NV write" % durable[0]
             if durable[0] else "durability not reported by vtpm_get_stats")
    verdict("nv_write_vs_bare_durable_write", ratio(o, b), 1.5,
            "socket NV_Write p50 %s us (pin=%s) / bare write+fsync(file)+fsync(dir) p50 %s us (%s); %s"
            % (f(o), vpin, f(b), "interleaved" if bpin != "none" else "measured alone", dtext))
    # which in-process variant is "everything libvtpm adds": vtpm_process
    # alone once the library saves by itself, else process + vtpm_save
    # (what serve did after every command)
    self_saving = any((ip.get(("libvtpm_process", c)) or {}).get(k, 0) > 0
                      for c in CMDS for k in ("st_volatile_saves", "st_io_us"))
    if not self_saving:
        r = ip.get(("libvtpm_process", "PCR_Extend"))
        self_saving = bool(r and r.get("wchar_b", 0) > 0)
    var = "libvtpm_process" if self_saving else "libvtpm_process_save"
    why = ("vtpm_process saves by itself" if self_saving else
           "vtpm_process does not save by itself: process+vtpm_save, as serve did")
    for c in ("GetRandom", "PCR_Read"):
        o, l = get(ip.get((var, c)), "p50_us"), get(ip.get(("libtpms", c)), "p50_us")
        verdict("inproc_%s_vs_libtpms" % c, ratio(o, l), 3.0,
                "in-process p50 %s %s us / plain libtpms %s us; %s" % (var, f(o, 2), f(l, 2), why))
    o, s = get(st.get("vtpmctl"), "p50_us"), get(st.get("swtpm"), "p50_us")
    verdict("start_to_first_answer_vs_swtpm", ratio(o, s), 1.0,
            "median %s ms / swtpm %s ms" % (f(o and o / 1e3, 2), f(s and s / 1e3, 2)))
    for v in verdicts:
        print(v)
    # bytes and CPU per light command: reported, no threshold
    for c in LIGHT:
        o, s = so.get(("vtpmctl", c)), so.get(("swtpm", c))
        if o and s:
            print("REPORT %s per command (pin=%s): vtpmctl %s B written (wchar), %s B write_bytes, %s us CPU"
                  " (%s us schedstat); swtpm %s B, %s B, %s us (%s us)"
                  % (c, vpin, f(o["wchar_b"], 0), f(o["write_bytes_b"], 0), f(o["cpu_us"]),
                     f(o["cpu_sched_us"]), f(s["wchar_b"], 0), f(s["write_bytes_b"], 0),
                     f(s["cpu_us"]), f(s["cpu_sched_us"])))
    print()
    for m in metrics:
        print(m)
    return 0


if __name__ == "__main__":
    sys.exit(main())
