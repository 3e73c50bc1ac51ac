#!/bin/sh
# Installs what rtprof needs to build and to run its tests, from Debian's packages.
# Usage: packaging/install-deps.sh [--tests]   (as root)
set -eu
pkgs="libbpf-dev bpftool clang libelf-dev zlib1g-dev libjson-c-dev libmicrohttpd-dev libcurl4-openssl-dev libprotobuf-c-dev protobuf-c-compiler libiberty-dev
	pkg-config cmake make gcc scdoc"
if [ "${1:-}" = "--tests" ]; then
	pkgs="$pkgs valgrind util-linux procps libclang-rt-14-dev prometheus tmux systemd"
	# packaging/test-deb.sh: cpack's Depends come from dpkg-shlibdeps (dpkg-dev, which runs file);
	# man -w checks the installed pages; test_completion.py also runs under bash-completion
	pkgs="$pkgs dpkg-dev file man-db bash-completion"
	# test_runtime.py: Debian's python3 (/usr/bin/python3.11: static libpython with USDT probes) whatever
	# python3 comes first on PATH; tests/bench/bench_runtime.py: wrk, the HTTP load generator
	pkgs="$pkgs python3 wrk"
	# test_stacks.py: the SVG flame graph opened in headless Chromium (driven by playwright-core from npm)
	pkgs="$pkgs chromium"
	command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
	command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
fi
command -v python3 >/dev/null 2>&1 || pkgs="$pkgs python3"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing
fi
if [ "${1:-}" = "--tests" ]; then
	# node 22 and 24 beside the system's 20, from the npm registry, into a cache outside the repository
	"$(dirname "$0")/install-test-nodes.sh"
fi
