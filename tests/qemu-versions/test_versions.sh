#!/usr/bin/env bash
# The real-QEMU suite (tests/qemu) on the other QEMU versions that build here:
# 10.2.2 (Debian unstable's source package) and 8.2.0 (../shared/qemu-src; a
# plain clone skips it with one line). Each is built once and cached like
# 10.0.2 (scripts/build-qemu.sh); its checks are named "QEMU V: ...".
set -u
here=$(dirname "$0")
for v in ${MS_QEMU_VERSIONS:-10.2.2 8.2.0}; do
	echo "# QEMU $v"
	QEMU_VERSION=$v bash "$here/../qemu/test_qemu.sh"
done
