# shellcheck shell=bash
# dkms: the packages scenario with xen-tpmback-dkms instead of the prebuilt
# module package: DKMS builds the module in dom0 against its kernel headers
# at install time, as on an admin's machine. About 5 minutes of DKMS under
# TCG (build 213 s, install 80 s, remove 68 s), so not in "all"; run it with
# tests/e2e/run.sh dkms.
E2E_MODULE_VIA=dkms
. /e2e/scenarios/packages.sh
