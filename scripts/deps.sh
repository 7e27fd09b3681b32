#!/usr/bin/env bash
# Install every build and test dependency of migscope from Debian packages.
# Idempotent: a second run installs nothing. Needs root.
#   scripts/deps.sh          build + test dependencies
#   scripts/deps.sh --build  build dependencies only
set -euo pipefail

want_tests=1
[ "${1:-}" = "--build" ] && want_tests=0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: needs root to install packages (run it with sudo)" >&2
	exit 1
fi

# libbpf 1.4 (USDT without libbpf's legacy quirks, bpf_program__attach_usdt
# with ref_ctr semaphores) and bpftool 7.5 come from bookworm-backports.
bpo=/etc/apt/sources.list.d/migscope-backports.list
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
if [ "$codename" = bookworm ] &&
   ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	echo "deb http://deb.debian.org/debian bookworm-backports main" > "$bpo"
	updated=0
fi

build_pkgs=(make gcc clang llvm pkg-config libelf-dev zlib1g-dev
	libmicrohttpd-dev libncurses-dev systemtap-sdt-dev libfuse3-dev fuse3 libcrypt-dev)
bpo_pkgs=(libbpf-dev bpftool)
test_pkgs=(libcmocka-dev clang-format tmux curl jq python3 prometheus bpftrace valgrind
	libclang-rt-14-dev apache2-utils openssl systemd libvirt-daemon-system libvirt-clients
	chromium)

missing=()
is_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
pkgs=("${build_pkgs[@]}")
[ "$want_tests" = 1 ] && pkgs+=("${test_pkgs[@]}")
for p in "${pkgs[@]}"; do is_installed "$p" || missing+=("$p"); done

# The backports versions are required, not just any version.
need_bpo=()
libbpf_ver=$(dpkg-query -W -f='${Version}' libbpf-dev 2>/dev/null || true)
if [ -z "$libbpf_ver" ] || dpkg --compare-versions "$libbpf_ver" lt 1:1.4; then
	need_bpo+=(libbpf-dev libbpf1)
fi
bpftool_ver=$(dpkg-query -W -f='${Version}' bpftool 2>/dev/null || true)
if [ -z "$bpftool_ver" ] || dpkg --compare-versions "$bpftool_ver" lt 7.5; then
	need_bpo+=(bpftool)
fi

if [ ${#missing[@]} -eq 0 ] && [ ${#need_bpo[@]} -eq 0 ]; then
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps.sh: installing ${missing[*]}"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ${#need_bpo[@]} -gt 0 ]; then
	echo "deps.sh: installing ${need_bpo[*]} from bookworm-backports"
	apt-get install -y -qq --no-install-recommends -t bookworm-backports "${need_bpo[@]}" >/dev/null
fi
