#!/bin/bash
# Installs what a fresh Debian 12 machine lacks to build and test this
# project, from Debian's packages only. Idempotent and quiet when all is there.
set -euo pipefail

pkgs=(
	# build: module, userspace
	build-essential make gcc pkg-config kmod libelf-dev bc flex bison
	linux-headers-amd64 libtpms-dev libssl-dev libkeyutils-dev keyutils
	uuid-dev libtss2-dev libseccomp-dev python3 python3-docutils
	# tests/userspace/forge_bundle.py: bundles a hostile source could make
	python3-cryptography
	# libFuzzer targets (tests/fuzz): clang and its sanitizer runtimes
	clang libclang-rt-14-dev
	# KUnit in UML (unpacked from Debian's kernel source)
	linux-source xz-utils
	# patch series checks (scripts/mkpatches.sh): sparse C=2, spdxcheck
	sparse python3-ply python3-git
	# end-to-end testbed: Xen in QEMU, dom0 "hardware" TPM, images
	qemu-system-x86 qemu-utils swtpm swtpm-tools tpm2-tools debootstrap
	e2fsprogs cpio busybox-static zstd gzip util-linux procps
	# Debian packages of this tree (make deb, tests/packaging/check.sh)
	dpkg-dev debhelper dh-dkms dkms lintian
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages, and not root: ${missing[*]}" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
