#!/usr/bin/env bash
# Builds the Debian package from a build directory (cpack -G DEB), installs it with dpkg, checks the installed
# rtprof (runs a profile), rtprofd, man pages, unit, group, /run/rtprof, conffile and completions, reinstalls it
# (the upgrade path of the maintainer scripts), removes it (dpkg -r: only the conffile stays) and purges it
# (dpkg -P: nothing of it stays, /etc/rtprof included).
#
# Usage: packaging/test-deb.sh BUILD_DIR      (as root; BUILD_DIR configured with -DCMAKE_INSTALL_PREFIX=/usr)
#
# The machine is left as it was found: the script refuses to run when rtprof is installed (as a package or
# not), and on any failure purges the package it installed; group rtprof, which a purge keeps (as Debian
# keeps system groups), is deleted when it did not exist before. Exits 0 when every check passed, 1 on a
# failed check, 2 when it cannot run here.
set -euo pipefail

PKG=rtprof
me=test-deb

say() { printf '%s: %s\n' "$me" "$*"; }
fail() {
	printf '%s: FAIL: %s\n' "$me" "$*" >&2
	exit 1
}
cannot() {
	printf '%s: cannot run: %s\n' "$me" "$*" >&2
	exit 2
}

[ $# -eq 1 ] || cannot "usage: $0 BUILD_DIR"
build=$(cd "$1" 2>/dev/null && pwd) || cannot "no directory $1"
[ -f "$build/CMakeCache.txt" ] || cannot "$build is not a CMake build directory (no CMakeCache.txt)"
[ "$(id -u)" -eq 0 ] || cannot "needs root (dpkg -i)"
for tool in cpack dpkg dpkg-deb dpkg-shlibdeps man systemd-analyze python3; do
	command -v "$tool" >/dev/null || cannot "$tool is not installed (packaging/install-deps.sh --tests)"
done
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:[A-Z]*=//p' "$build/CMakeCache.txt")
[ "$prefix" = /usr ] || cannot "$build was configured with CMAKE_INSTALL_PREFIX=$prefix; the package needs a build \
configured with -DCMAKE_INSTALL_PREFIX=/usr"
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:[A-Z]*=//p' "$build/CMakeCache.txt")

status=$(dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null || true)
[ -z "$status" ] || [ "$status" = "unknown ok not-installed" ] ||
	cannot "package $PKG is already known to dpkg ($status): remove it first (dpkg -P $PKG)"

work=$(mktemp -d /tmp/rtprof-test-deb.XXXXXX)
installed=0
group_existed=0
getent group rtprof >/dev/null && group_existed=1
run_existed=0
[ -e /run/rtprof ] && run_existed=1

cleanup() {
	local rc=$?
	if [ "$installed" = 1 ]; then
		say "cleaning up: dpkg -P $PKG"
		dpkg -P "$PKG" >"$work/cleanup.log" 2>&1 || { cat "$work/cleanup.log" >&2; rc=1; }
	fi
	if [ "$group_existed" = 0 ] && getent group rtprof >/dev/null; then
		groupdel rtprof || rc=1
	fi
	if [ "$run_existed" = 0 ] && [ -d /run/rtprof ]; then
		rmdir /run/rtprof 2>/dev/null || true
	fi
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT

# ---- build ---------------------------------------------------------------------------------------------------------
say "building $build"
cmake --build "$build" -j"$(nproc)" >"$work/build.log" 2>&1 || { tail -50 "$work/build.log" >&2; fail "cmake --build $build failed"; }
out="$build/deb-package"
rm -rf "$out"
(cd "$build" && cpack -G DEB -B "$out") >"$work/cpack.log" 2>&1 || { cat "$work/cpack.log" >&2; fail "cpack -G DEB failed"; }
debs=("$out"/*.deb)
if [ ${#debs[@]} -ne 1 ] || [ ! -f "${debs[0]}" ]; then
	fail "cpack made no single .deb in $out: ${debs[*]}"
fi
deb=${debs[0]}
say "package $deb: $(stat -c %s "$deb") bytes"

field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = "$PKG" ] || fail "Package: $(field Package), not $PKG"
case $(field Version) in
"$version" | "$version"-*) ;;
*) fail "Version: $(field Version), not the project's $version" ;;
esac
depends=$(field Depends)
for lib in libbpf libelf libjson-c libmicrohttpd zlib1g libc6; do
	case $depends in *"$lib"*) ;; *) fail "Depends lacks $lib: $depends" ;; esac
done
say "Version $(field Version); Depends: $depends"

# What the package holds (dpkg-deb -c: ./path), and which of its directories exist before it is installed
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|; s|/$||' | grep -v '^$' >"$work/contents"
for f in /usr/bin/rtprof /usr/sbin/rtprofd /etc/rtprof/rtprofd.conf /usr/share/man/man1/rtprof.1.gz \
	/usr/share/man/man8/rtprofd.8.gz /usr/share/bash-completion/completions/rtprof \
	/usr/share/bash-completion/completions/rtprofd /usr/share/doc/rtprof/copyright \
	/usr/lib/sysusers.d/rtprof.conf /usr/lib/tmpfiles.d/rtprof.conf; do
	grep -qx "$f" "$work/contents" || fail "the package has no $f"
done
grep -q '/systemd/system/rtprofd.service$' "$work/contents" || fail "the package has no rtprofd.service"
while read -r path; do
	if [ -d "$path" ] && [ ! -L "$path" ]; then
		echo "$path" >>"$work/dirs-before"
	elif [ -e "$path" ] || [ -L "$path" ]; then
		cannot "$path exists and is no package's: rtprof installed by hand? (it would be overwritten)"
	fi
done <"$work/contents"
touch "$work/dirs-before"

# ---- install -------------------------------------------------------------------------------------------------------
installed=1
dpkg -i "$deb" >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; fail "dpkg -i $deb failed"; }
[ "$(dpkg-query -W -f='${Status}' "$PKG")" = "install ok installed" ] || fail "dpkg -i: $PKG is not installed"
say "ok: dpkg -i"
dpkg -L "$PKG" | grep -vx "/\." | sort >"$work/files"
say "$(wc -l <"$work/files") paths listed by dpkg -L"

got=$(/usr/bin/rtprof --version) || fail "/usr/bin/rtprof --version failed"
[ "$got" = "rtprof $version" ] || fail "/usr/bin/rtprof --version: '$got', not 'rtprof $version'"
got=$(/usr/sbin/rtprofd --version) || fail "/usr/sbin/rtprofd --version failed"
[ "$got" = "rtprofd $version" ] || fail "/usr/sbin/rtprofd --version: '$got', not 'rtprofd $version'"
say "ok: $got"

rc=0
# the report goes to stderr; the command's stdout stays its own (empty here)
/usr/bin/rtprof run -q -- python3 -c pass >"$work/report.out" 2>"$work/report.txt" || rc=$?
if [ "$rc" -ne 0 ]; then
	cat "$work/report.txt" >&2
	fail "/usr/bin/rtprof run -- python3 -c pass exited $rc"
fi
for want in "cpu secs" "Syscalls (" "Threads (" "lost events:"; do
	grep -qF "$want" "$work/report.txt" || { cat "$work/report.txt" >&2; fail "the report of rtprof run has no '$want'"; }
done
[ ! -s "$work/report.out" ] || { cat "$work/report.out" >&2; fail "rtprof run wrote on the command's stdout"; }
say "ok: rtprof run -- python3 -c pass: exit 0, $(wc -l <"$work/report.txt") report lines on stderr"

for page in "1 rtprof" "8 rtprofd"; do
	# shellcheck disable=SC2086
	path=$(man -w $page 2>&1) || fail "man -w $page: $path"
	[ -f "$path" ] || fail "man -w $page: $path is not a file"
	case $path in *.gz) ;; *) fail "man -w $page: $path is not gzipped" ;; esac
	# shellcheck disable=SC2086
	man $page 2>/dev/null | grep -q . || fail "man $page shows nothing"
done
say "ok: man -w rtprof, man -w 8 rtprofd: $(man -w rtprof) $(man -w 8 rtprofd)"

unit=$(grep '/systemd/system/rtprofd.service$' "$work/files")
verify=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify $unit: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify $unit complains: $verify"
grep -qx 'ExecStart=/usr/sbin/rtprofd' "$unit" || fail "$unit does not start /usr/sbin/rtprofd: $(grep ExecStart "$unit")"
if [ -e /lib/systemd/system/rtprofd.service ]; then
	say "ok: systemd-analyze verify $unit (also seen as /lib/systemd/system/rtprofd.service)"
else
	say "ok: systemd-analyze verify $unit"
fi

getent group rtprof >/dev/null || fail "postinst did not create group rtprof"
[ "$(stat -c '%a %U %G' /run/rtprof 2>&1)" = "755 root rtprof" ] ||
	fail "/run/rtprof is not 0755 root:rtprof: $(stat -c '%a %U %G' /run/rtprof 2>&1)"
say "ok: group rtprof, /run/rtprof 0755 root:rtprof"

dpkg-query -W -f='${Conffiles}\n' "$PKG" | grep -q '^ /etc/rtprof/rtprofd.conf ' ||
	fail "/etc/rtprof/rtprofd.conf is not a conffile: $(dpkg-query -W -f='${Conffiles}' "$PKG")"
say "ok: conffile /etc/rtprof/rtprofd.conf"

got=$(bash --norc --noprofile -c '. /usr/share/bash-completion/completions/rtprof
	. /usr/share/bash-completion/completions/rtprofd
	COMP_WORDS=(rtprof ex); COMP_CWORD=1; _rtprof rtprof ex rtprof; printf "%s " "${COMPREPLY[@]}"
	COMP_WORDS=(rtprofd --wat); COMP_CWORD=1; _rtprofd rtprofd --wat rtprofd; printf "%s" "${COMPREPLY[@]}"' 2>&1)
[ "$got" = "export --watch" ] || fail "the installed completions do not complete 'rtprof ex', 'rtprofd --wat': '$got'"
say "ok: bash completions"

# ---- reinstall: the upgrade path (prerm upgrade, postinst configure OLD-VERSION) ----------------------------------
dpkg -i "$deb" >"$work/reinstall.log" 2>&1 || { cat "$work/reinstall.log" >&2; fail "dpkg -i $deb again failed"; }
[ "$(dpkg-query -W -f='${Status}' "$PKG")" = "install ok installed" ] || fail "reinstall: $PKG is not installed"
say "ok: dpkg -i again (upgrade path)"

# ---- remove: the conffile stays ------------------------------------------------------------------------------------
echo "# changed by $me" >>/etc/rtprof/rtprofd.conf
dpkg -r "$PKG" >"$work/remove.log" 2>&1 || { cat "$work/remove.log" >&2; fail "dpkg -r $PKG failed"; }
[ "$(dpkg-query -W -f='${Status}' "$PKG")" = "deinstall ok config-files" ] ||
	fail "after dpkg -r: $(dpkg-query -W -f='${Status}' "$PKG"), not 'deinstall ok config-files'"
left=()
while read -r path; do
	[ "$path" = /etc/rtprof/rtprofd.conf ] && continue
	[ "$path" = /etc/rtprof ] && continue
	grep -qx "$path" "$work/dirs-before" && continue
	if [ -e "$path" ] || [ -L "$path" ]; then left+=("$path"); fi
done <"$work/files"
[ ${#left[@]} -eq 0 ] || fail "after dpkg -r, still there: ${left[*]}"
grep -q "changed by $me" /etc/rtprof/rtprofd.conf 2>/dev/null || fail "dpkg -r removed the (changed) conffile"
[ ! -e /run/rtprof ] || [ "$run_existed" = 1 ] || fail "after dpkg -r, /run/rtprof is still there"
say "ok: dpkg -r: every file gone but the conffile"

# ---- purge: nothing stays ------------------------------------------------------------------------------------------
dpkg -P "$PKG" >"$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; fail "dpkg -P $PKG failed"; }
installed=0
status=$(dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null || true)
[ -z "$status" ] || [ "$status" = "unknown ok not-installed" ] || fail "after dpkg -P: $status"
left=()
while read -r path; do
	grep -qx "$path" "$work/dirs-before" && continue
	if [ -e "$path" ] || [ -L "$path" ]; then left+=("$path"); fi
done <"$work/files"
[ ${#left[@]} -eq 0 ] || fail "after dpkg -P, still there: ${left[*]}"
[ ! -e /etc/rtprof ] || fail "after dpkg -P, /etc/rtprof is still there: $(ls -A /etc/rtprof)"
say "ok: dpkg -P: nothing of the package left, /etc/rtprof gone"
if [ "$group_existed" = 0 ]; then
	say "(group rtprof is kept by the purge, as Debian keeps system groups; deleted now by this test)"
fi
say "PASS"
