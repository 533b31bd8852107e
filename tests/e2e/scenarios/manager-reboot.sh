# shellcheck shell=bash
# manager-reboot: boots 1 and 2 of manager.sh (see manager-reboot.host)
. /e2e/scenarios/manager.sh
