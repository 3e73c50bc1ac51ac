# CPACK_PROJECT_CONFIG_FILE: read by cpack for each generator, after CPackConfig.cmake.
# The install rules resolve /etc/rtprof, the unit's ExecStart and the man directory from the prefix the
# build directory was configured with; a .deb installs under /usr, so only such a build makes a right one.
if(CPACK_GENERATOR STREQUAL "DEB")
  if(NOT CPACK_RTPROF_CONFIGURED_PREFIX STREQUAL "/usr" OR NOT CPACK_RTPROF_CONFDIR STREQUAL "/etc/rtprof")
    message(FATAL_ERROR
      "rtprof: this build directory was configured with CMAKE_INSTALL_PREFIX=${CPACK_RTPROF_CONFIGURED_PREFIX} "
      "(configuration in ${CPACK_RTPROF_CONFDIR}); the .deb needs a build configured with "
      "-DCMAKE_INSTALL_PREFIX=/usr (configuration in /etc/rtprof)")
  endif()
endif()
