#!/usr/bin/env bash
# Build QEMU (x86_64-softmmu only, trace backends dtrace + log) from Debian's
# source package, for migscope's real-QEMU tests. Needs root (apt, /var/cache).
#
#   scripts/build-qemu.sh            build if missing, print the binary's path
#   scripts/build-qemu.sh --check    print the path if the cached build exists, else exit 1
#
# Cache: /var/cache/migscope/qemu-$VERSION/ (src/, build/, stamp, build.log).
# The directory is keyed by the QEMU version and the stamp holds the configure
# arguments: a new version or different arguments rebuild, anything else reuses.
# The source: 10.0.x from Debian's bookworm-backports source package, 10.2.x from
# unstable's (a deb-src line for unstable is added: sources only, no binary
# package comes from it), 8.2.0 from the upstream archive in ../shared/qemu-src
# (QEMU_SRC_DIR), which Debian's archive does not have. Tarballs are kept in
# /var/cache/migscope/src/.
# Only the last line on stdout is the path; progress goes to stderr.
#
# Environment: QEMU_VERSION (10.0.2 by default; 10.2.2, 8.2.0), MIGSCOPE_CACHE
# (default /var/cache/migscope), QEMU_SRC_DIR (default ../shared/qemu-src beside
# the repository), JOBS (default: number of CPUs). Exit status 3 when the source
# of that version cannot be had here (the caller skips, with the message).
set -euo pipefail

VERSION=${QEMU_VERSION:-10.0.2}
CACHE=${MIGSCOPE_CACHE:-/var/cache/migscope}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
DIR=$CACHE/qemu-$VERSION
SRC=$DIR/src
BLD=$DIR/build
BIN=$BLD/qemu-system-x86_64
STAMP=$DIR/stamp
LOG=$DIR/build.log
TARBALL_DIR=$CACHE/src
TARBALL=$TARBALL_DIR/qemu_$VERSION+ds.orig.tar.xz
HERE=$(cd "$(dirname "$0")/.." && pwd)
QEMU_SRC_DIR=${QEMU_SRC_DIR:-$HERE/../shared/qemu-src}
case "$VERSION" in
10.0.*) SUITE=bookworm-backports ;;
10.2.*) SUITE=unstable ;;
8.2.0) SUITE= TARBALL=$QEMU_SRC_DIR/qemu-$VERSION.tar.xz ;;
*) SUITE=unknown ;;
esac

# Everything not needed to run x86_64 guests under KVM (TCG kept as the
# fallback when /dev/kvm does not work) is left out: no docs, tools, guest
# agent, optional devices, external libraries, debug info.
CONFIGURE_ARGS=(
	--target-list=x86_64-softmmu
	"--enable-trace-backends=dtrace,log"
	--python=/usr/bin/python3
	--without-default-features
	--without-default-devices
	--with-devices-x86_64=migscope
	--enable-kvm
	--enable-tcg
	--disable-download
	--disable-docs
	--disable-tools
	--disable-guest-agent
	--disable-install-blobs
	--disable-debug-info
	--disable-werror
	--disable-fdt
	--disable-rust
	--disable-plugins
)
# 8.2 predates --disable-rust; 8.2 and 10.2 want libfdt for x86_64
case "$VERSION" in
8.2.0) CONFIGURE_ARGS=("${CONFIGURE_ARGS[@]/--disable-rust/}") ;;
esac
case "$VERSION" in
10.0.*) ;;
*) CONFIGURE_ARGS=("${CONFIGURE_ARGS[@]/--disable-fdt/--enable-fdt=system}") ;;
esac

say() { echo "build-qemu.sh: $*" >&2; }
die() {
	say "$*"
	exit 1
}

stamp_text() { printf '%s\n' "version=$VERSION" "${CONFIGURE_ARGS[@]}"; }
cached() { [ -x "$BIN" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(stamp_text)" ]; }

if [ "${1:-}" = "--check" ]; then
	cached && {
		echo "$BIN"
		exit 0
	}
	exit 1
fi

if cached; then
	echo "$BIN"
	exit 0
fi

[ "$(id -u)" -eq 0 ] || die "needs root to install build dependencies and write $CACHE (run it with sudo)"

mkdir -p "$CACHE"
# One build at a time (make check and a developer may both call this).
exec 9>"$CACHE/.qemu-$VERSION.lock"
flock 9
if cached; then
	echo "$BIN"
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
is_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
apt_updated=0
apt_update() {
	[ "$apt_updated" = 1 ] && return 0
	say "apt-get update"
	apt-get update -qq >&2 || die "apt-get update failed"
	apt_updated=1
}

# bookworm-backports: binary packages (meson >= 1.5, pycotap) and sources
# (QEMU 10.0). Add the lines only if no configured source has them.
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
if [ "$codename" = bookworm ]; then
	if ! grep -rqsE '^[^#]*deb +[^ ]+ +bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ &&
		! grep -rqsE '^Types:.*\bdeb\b' /etc/apt/sources.list.d/*backports*.sources 2>/dev/null; then
		echo "deb http://deb.debian.org/debian bookworm-backports main" >/etc/apt/sources.list.d/migscope-backports.list
		say "added bookworm-backports to /etc/apt/sources.list.d/migscope-backports.list"
		apt_updated=0
		apt_update
	fi
	if ! grep -rqsE '^[^#]*deb-src +[^ ]+ +bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		echo "deb-src http://deb.debian.org/debian bookworm-backports main" >/etc/apt/sources.list.d/migscope-backports-src.list
		say "added bookworm-backports sources to /etc/apt/sources.list.d/migscope-backports-src.list"
		apt_updated=0
	fi
fi

pkgs=(gcc make pkg-config ninja-build libglib2.0-dev libpixman-1-dev systemtap-sdt-dev
	python3 python3-venv flex bison bzip2 xz-utils dpkg-dev)
# 10.2 and 8.2 build their dtb files (device-tree-compiler) even without fdt
case "$VERSION" in 10.0.*) ;; *) pkgs+=(device-tree-compiler libfdt-dev) ;; esac
missing=()
for p in "${pkgs[@]}"; do is_installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
	apt_update
	say "installing ${missing[*]}"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		die "could not install ${missing[*]}"
fi
meson_ver=$(dpkg-query -W -f='${Version}' meson 2>/dev/null || true)
if [ -z "$meson_ver" ] || dpkg --compare-versions "$meson_ver" lt 1.5 || ! is_installed python3-pycotap; then
	apt_update
	say "installing meson and python3-pycotap from bookworm-backports"
	apt-get install -y -qq --no-install-recommends -t bookworm-backports meson python3-pycotap \
		>/dev/null || die "could not install meson and python3-pycotap from bookworm-backports"
fi

[ "$SUITE" = unknown ] && { say "no recipe for QEMU $VERSION (10.0.x, 10.2.x, 8.2.0)"; exit 3; }
if [ -z "$SUITE" ] && [ ! -f "$TARBALL" ]; then
	say "QEMU $VERSION's source is not here ($TARBALL): skipped"
	exit 3
fi
if [ "$SUITE" = unstable ] &&
	! grep -rqsE '^[^#]*deb-src +[^ ]+ +(unstable|sid)( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	echo "deb-src http://deb.debian.org/debian unstable main" >/etc/apt/sources.list.d/migscope-unstable-src.list
	say "added unstable's sources (source packages only) to /etc/apt/sources.list.d/migscope-unstable-src.list"
	apt_updated=0
fi
if [ -n "$SUITE" ] && [ ! -f "$TARBALL" ]; then
	apt_update
	mkdir -p "$TARBALL_DIR"
	say "downloading the qemu source package ($SUITE)"
	# the exact source version of that QEMU release, whichever suite lists it
	srcver=$(apt-cache showsrc qemu 2>/dev/null | sed -n "s/^Version: \(1:$VERSION+ds-[^ ]*\)\$/\1/p" | tail -n 1)
	[ -n "$srcver" ] || { say "no qemu $VERSION source package in the configured sources: skipped"; exit 3; }
	(cd "$TARBALL_DIR" && apt-get source -qq --download-only "qemu=$srcver" >&2) ||
		say "apt-get source reported an error (the .dsc may be missing; the tarball is what is needed)"
	[ -f "$TARBALL" ] || { say "apt-get source did not give $TARBALL (QEMU_VERSION=$VERSION; available: $(ls "$TARBALL_DIR"/qemu_*.orig.tar.* 2>/dev/null | tr '\n' ' '))"; exit 3; }
fi

say "building QEMU $VERSION in $DIR (log: $LOG); the first build takes several minutes"
rm -rf "$SRC" "$BLD" "$STAMP"
mkdir -p "$SRC" "$BLD"
tar xJf "$TARBALL" -C "$SRC" --strip-components=1

# The +ds tarball strips the prebuilt firmware; meson still wants the edk2
# images' .bz2 files. Valid empty bzip2 files satisfy it (the firmware used
# at run time comes from Debian's seabios and qemu-system-data, via -L).
for f in aarch64-code arm-code arm-vars riscv-code riscv-vars i386-code i386-secure-code \
	i386-vars x86_64-code x86_64-secure-code loongarch64-code loongarch64-vars; do
	[ -f "$SRC/pc-bios/edk2-$f.fd.bz2" ] || bzip2 -c </dev/null >"$SRC/pc-bios/edk2-$f.fd.bz2"
done

# With --without-default-devices no board is built unless a devices file
# selects it: the i440fx "pc" machine, and what it selects, is enough.
cat >"$SRC/configs/devices/x86_64-softmmu/migscope.mak" <<'EOF'
# migscope's real-QEMU tests (scripts/build-qemu.sh): the pc machine only
CONFIG_I440FX=y
EOF
# 10.2's ACPI tables call the CXL host code even when no CXL device is built,
# and its stubs lack that one function: give it the stub it misses
stubs=$SRC/hw/cxl/cxl-host-stubs.c
if [ -f "$stubs" ] && grep -qs cxl_fmws_get_all_sorted "$SRC/hw/acpi/cxl.c" &&
	! grep -qs cxl_fmws_get_all_sorted "$stubs"; then
	printf '%s\n' 'GSList *cxl_fmws_get_all_sorted(void) { return NULL; }' >>"$stubs"
fi

start=$(date +%s)
{
	cd "$BLD"
	"$SRC/configure" "${CONFIGURE_ARGS[@]}"
	ninja -j"$JOBS" qemu-system-x86_64
} >"$LOG" 2>&1 || {
	tail -n 30 "$LOG" >&2
	die "QEMU build failed; full log in $LOG"
}
[ -x "$BIN" ] || die "build finished without $BIN; see $LOG"
stamp_text >"$STAMP"
say "built in $(($(date +%s) - start)) s"
echo "$BIN"
