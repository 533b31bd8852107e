#!/bin/sh
# Prints the Debian kernel ABI version (e.g. 6.1.0-56-amd64) that the testbed
# boots for dom0 and the guests: the one Debian's linux-headers-amd64
# metapackage depends on, so the module, the headers and the image always match.
set -e
dep=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null ||
      apt-cache depends linux-headers-amd64 2>/dev/null | sed -n 's/.*Depends: //p')
printf '%s\n' "$dep" | tr ',' '\n' | sed -n 's/^ *linux-headers-\([0-9][^ ]*-amd64\).*/\1/p' | head -n1
