#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Writes the seed corpora (corpus/<target>/) from commands spelled out here
in the TPM specifications' terms, so the fuzzers start from real traffic:
what xen-tpmfront and tpm2-tools / trousers send. Run again after editing;
the files are committed."""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def tpm2(tag, cc, body=b""):
    return struct.pack(">HII", tag, 10 + len(body), cc) + body


def pw_session():
    # TPMS_AUTH_COMMAND: TPM_RS_PW, empty nonce, attributes 0, empty hmac
    auth = struct.pack(">IHBH", 0x40000009, 0, 0, 0)
    return struct.pack(">I", len(auth)) + auth


def pcr_sel(bank=0x000B, mask=b"\x01\x00\x00"):
    return struct.pack(">IHB", 1, bank, len(mask)) + mask


NO, SESS = 0x8001, 0x8002
ecc_template = struct.pack(">HHI", 0x0023, 0x000B, 0x00030472) + struct.pack(">H", 0) + \
    struct.pack(">HHHHHH", 0x0006, 0x0080, 0x0043, 0x0010, 0x0003, 0x0010) + struct.pack(">HH", 0, 0)
create_primary = (struct.pack(">I", 0x40000001) + pw_session() +
                  struct.pack(">HHH", 4, 0, 0) +          # sensitive: empty auth, empty data
                  struct.pack(">H", len(ecc_template)) + ecc_template +
                  struct.pack(">H", 0) + struct.pack(">I", 0))  # outsideInfo, creationPCR
nv_public = struct.pack(">IHIHH", 0x01500016, 0x000B, 0x00060006, 0, 32)
TPM2 = {
    "startup_clear": tpm2(NO, 0x144, struct.pack(">H", 0)),
    "shutdown_state": tpm2(NO, 0x145, struct.pack(">H", 1)),
    "selftest": tpm2(NO, 0x143, b"\x01"),
    "get_random_16": tpm2(NO, 0x17B, struct.pack(">H", 16)),
    "get_random_max": tpm2(NO, 0x17B, struct.pack(">H", 0xFFFF)),
    "stir_random": tpm2(NO, 0x146, struct.pack(">H", 8) + b"entropy!"),
    "get_cap_props": tpm2(NO, 0x17A, struct.pack(">III", 6, 0x100, 64)),
    "get_cap_pcrs": tpm2(NO, 0x17A, struct.pack(">III", 5, 0, 1)),
    "get_cap_handles": tpm2(NO, 0x17A, struct.pack(">III", 1, 0x81000000, 32)),
    "pcr_read": tpm2(NO, 0x17E, pcr_sel()),
    "pcr_extend_16": tpm2(SESS, 0x182, struct.pack(">I", 16) + pw_session() +
                           struct.pack(">IH", 1, 0x000B) + b"\x11" * 32),
    "pcr_reset_16": tpm2(SESS, 0x13D, struct.pack(">I", 16) + pw_session()),
    "create_primary_ecc": tpm2(SESS, 0x131, create_primary),
    "start_auth_hmac": tpm2(NO, 0x176, struct.pack(">IIH", 0x40000007, 0x40000007, 16) + b"\x22" * 16 +
                             struct.pack(">HBHH", 0, 0x00, 0x0010, 0x000B)),
    "nv_define": tpm2(SESS, 0x12A, struct.pack(">I", 0x40000001) + pw_session() +
                      struct.pack(">H", 0) + struct.pack(">H", len(nv_public)) + nv_public),
    "nv_write": tpm2(SESS, 0x137, struct.pack(">II", 0x01500016, 0x01500016) + pw_session() +
                     struct.pack(">H", 8) + b"nvdata!!" + struct.pack(">H", 0)),
    "nv_read": tpm2(SESS, 0x14E, struct.pack(">II", 0x01500016, 0x01500016) + pw_session() +
                    struct.pack(">HH", 8, 0)),
    "nv_read_public": tpm2(NO, 0x169, struct.pack(">I", 0x01500016)),
    "read_public_ek": tpm2(NO, 0x173, struct.pack(">I", 0x81010001)),
    "flush_context": tpm2(NO, 0x165, struct.pack(">I", 0x80000000)),
    "context_save": tpm2(NO, 0x162, struct.pack(">I", 0x80000000)),
    "dict_lockout_reset": tpm2(SESS, 0x139, struct.pack(">I", 0x4000000A) + pw_session()),
    "clear": tpm2(SESS, 0x126, struct.pack(">I", 0x4000000C) + pw_session()),
}


def tpm12(ordinal, body=b"", tag=0x00C1):
    return struct.pack(">HII", tag, 10 + len(body), ordinal) + body


TPM12 = {
    "startup_clear": tpm12(0x99, struct.pack(">H", 1)),
    "startup_state": tpm12(0x99, struct.pack(">H", 2)),
    "save_state": tpm12(0x98),
    "continue_selftest": tpm12(0x53),
    "get_random": tpm12(0x46, struct.pack(">I", 16)),
    "pcr_read_0": tpm12(0x15, struct.pack(">I", 0)),
    "extend_16": tpm12(0x14, struct.pack(">I", 16) + b"\x33" * 20),
    "get_cap_version": tpm12(0x65, struct.pack(">II", 0x1A, 0)),
    "get_cap_pcrs": tpm12(0x65, struct.pack(">III", 5, 4, 0x101)),
    "oiap": tpm12(0x0A),
    "read_pubek": tpm12(0x7C, b"\x44" * 20),
    "physical_enable": tpm12(0x6F, tag=0x00C1),
    "force_clear": tpm12(0x5D),
    "owner_read_internal_pub": tpm12(0x81, struct.pack(">I", 0x40000000), tag=0x00C2),
}


def write(target, cmds, locality=True):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, cmd in sorted(cmds.items()):
        with open(os.path.join(d, name), "wb") as f:
            f.write((b"\x00" if locality else b"") + cmd)


def page(cmd, state=1, locality=0, length=None):
    n = len(cmd) if length is None else length
    return struct.pack("<IBBBB", n, state, locality, 0, 0) + cmd


def main():
    write("fuzz_vtpm", TPM2)
    write("fuzz_vtpm12", TPM12)
    pages = {f"submit_{k}": page(v) for k, v in list(TPM2.items())[:8]}
    pages.update({f"submit12_{k}": page(v) for k, v in list(TPM12.items())[:4]})
    pages.update({
        "len_0": page(b"", length=0), "len_9": page(TPM2["selftest"][:9], length=9),
        "len_4089": page(TPM2["get_random_16"], length=4089),
        "len_max": page(TPM2["get_random_16"], length=0xFFFFFFFF),
        "hdr_disagrees": page(TPM2["get_random_16"], length=13),
        "locality_4": page(TPM2["pcr_read"], locality=4),
        "cancel": page(b"", state=3), "idle": page(b"", state=0),
        "bad_state": page(TPM2["pcr_read"], state=9),
        "extra_pages": struct.pack("<IBBBB", 12, 1, 0, 0, 1) + b"\0\0\0\1" + TPM2["get_random_16"],
    })
    write("fuzz_page", pages, locality=False)
    rsp = lambda body: struct.pack("<IIIBBH", 3, 1, len(body), 0, 0, 0) + body
    write("fuzz_rsp", {"ok": rsp(struct.pack(">HII", 0x8001, 10, 0)),
                       "tpm12": rsp(struct.pack(">HII", 0xC4, 10, 0)),
                       "short": rsp(b"\x80\x01"), "empty": rsp(b"")}, locality=False)
    write("fuzz_fsm", {"life": bytes([3, 0, 0, 0, 5, 0, 6, 0, 0, 4, 1, 1, 9, 200, 11, 0]),
                       "cancel_sent": bytes([3, 0, 0, 0, 5, 0, 1, 1, 8, 255, 9, 3]),
                       "no_server": bytes([0, 0, 9, 255, 9, 255, 3, 0, 5, 0])}, locality=False)
    write("fuzz_blob", {"raw_magic": b"\x00VTPMBLB2" + b"\0" * 88,
                        "roundtrip": b"\x01\x12\x34" + bytes(range(64))}, locality=False)
    # mode 2: a whole bundle plaintext (tools/vtpmctl/bundle.h) for
    # bundle_split(); the state part here is only libvtpm's export magic
    part = lambda b: struct.pack(">I", len(b)) + b
    exp, sess = b"VTPMEXP1", b'{"sessions": []}\n'
    write("fuzz_import", {
        "split_no_session": b"\x02" + part(exp) + part(b""),
        "split_session": b"\x02" + part(exp) + part(sess),
        "split_truncated_length": b"\x02" + b"\0\0\0",
        "split_oversize_state": b"\x02" + struct.pack(">I", 0x10000000) + b"\0\0\0",
        "split_oversize_session": b"\x02" + part(exp) + struct.pack(">I", 10),
        "split_empty_state": b"\x02" + part(b"") + part(b""),
        "split_trailing": b"\x02" + part(exp) + part(b"") + b"\0",
    }, locality=False)


if __name__ == "__main__":
    sys.exit(main())
