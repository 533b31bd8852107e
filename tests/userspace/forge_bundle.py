#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""forge_bundle.py PUB UUID PLAINTEXT_HEX OUT: a vTPM bundle (vtpmctl
export's format, tools/vtpmctl/bundle.c) for the transport public key PUB
whose decrypted plaintext is exactly PLAINTEXT_HEX. Anyone holding a host's
public transport key can do this (ECDH-ES authenticates the bytes to the
target's key, not to a sender): the import must treat the plaintext as
untrusted. Written from the format's description, with python3-cryptography."""
import hashlib
import os
import struct
import sys
import time
import uuid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def main():
    pub_path, u, plain_hex, out = sys.argv[1:5]
    target = serialization.load_pem_public_key(open(pub_path, "rb").read())
    tpub = target.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    eph = X25519PrivateKey.generate()
    epub = eph.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw)
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=epub + tpub,
               info=b"vtpmctl export v1").derive(eph.exchange(target))
    plain = bytes.fromhex(plain_hex)
    nonce = os.urandom(12)
    hdr = (b"VTPMBUNDLE1\n" + uuid.UUID(u).bytes + hashlib.sha256(tpub).digest() + epub +
           nonce + struct.pack(">Q", int(time.time())) + b"forger".ljust(64, b"\0") +
           struct.pack(">I", len(plain)))
    ct = AESGCM(key).encrypt(nonce, plain, hdr)  # ciphertext || tag
    with open(out, "wb") as f:
        f.write(hdr + ct)


if __name__ == "__main__":
    main()
