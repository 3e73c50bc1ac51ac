# The Debian package: `cpack -G DEB` in a build directory configured with -DCMAKE_INSTALL_PREFIX=/usr
# (packaging/test-deb.sh builds, installs, checks and removes it). Included from packaging/CMakeLists.txt.
#
# What Debian's tools would do and CPack does not is done here: the man pages are gzipped in the staging
# directory (cpack-deb-prebuild.cmake), the configuration is a conffile, the maintainer scripts of
# packaging/debian/ create group rtprof and /run/rtprof (systemd-sysusers, systemd-tmpfiles) and stop the
# service on removal. The service is neither enabled nor started by the package.

set(CPACK_PACKAGE_NAME "rtprof")
set(CPACK_PACKAGE_VENDOR "rtprof")
set(CPACK_PACKAGE_CONTACT "rtprof maintainers <rtprof@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "eBPF profiler for Python and Node.js processes")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR "DEB")
set(CPACK_SOURCE_GENERATOR "TGZ")
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build[^/]*/" "__pycache__")

set(CPACK_DEBIAN_PACKAGE_NAME "rtprof")
set(CPACK_DEBIAN_FILE_NAME "DEB-DEFAULT") # rtprof_VERSION-RELEASE_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_RELEASE "1")
set(CPACK_DEBIAN_PACKAGE_SECTION "devel")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
# The long description: CPack puts the summary above it and indents each line; a blank line separates paragraphs.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"rtprof measures the syscalls (count, errors, latency histograms), scheduling
(on-CPU time, run-queue wait, sleeping and blocked time, context switches)
and thread life cycle of Python and Node.js processes with eBPF probes
(libbpf, CO-RE), from the first instruction of a command (rtprof run) or
attached to running processes (rtprof attach), and records traces that
export to Perfetto, flame graphs and CSV.

rtprofd, a systemd service, lets the members of group rtprof profile their
own processes without root, watches every Python/Node process and serves
Prometheus metrics. The service is installed, not enabled.

Needs a kernel with BTF (/sys/kernel/btf/vmlinux).")
# Depends: the shared libraries' packages, from dpkg-shlibdeps (package dpkg-dev)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
# the maintainer scripts use systemd-sysusers/systemd-tmpfiles when present, groupadd (passwd) otherwise
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  "${CMAKE_CURRENT_LIST_DIR}/debian/conffiles"
  "${CMAKE_CURRENT_LIST_DIR}/debian/postinst"
  "${CMAKE_CURRENT_LIST_DIR}/debian/prerm"
  "${CMAKE_CURRENT_LIST_DIR}/debian/postrm")
# 0755 for the scripts, 0644 for conffiles, whatever the modes in the source tree
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_PRE_BUILD_SCRIPTS "${CMAKE_CURRENT_LIST_DIR}/cpack-deb-prebuild.cmake")
# Read by cpack, not by cmake: refuses a build directory whose prefix is not /usr (see the file).
set(CPACK_PROJECT_CONFIG_FILE "${CMAKE_CURRENT_LIST_DIR}/cpack-project.cmake")
set(CPACK_RTPROF_CONFIGURED_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_RTPROF_CONFDIR "${rtprof_confdir}")
set(CPACK_RTPROF_MANDIR "${CMAKE_INSTALL_MANDIR}")

include(CPack)
