# CPACK_PRE_BUILD_SCRIPTS: runs after cpack staged the installed files, before it builds the package.
# Debian ships man pages gzipped (gzip -9n: no name or time stamp, so that the package is reproducible);
# `cmake --install` leaves them as they are.
if(NOT CPACK_GENERATOR STREQUAL "DEB")
  return()
endif()
find_program(RTPROF_GZIP gzip REQUIRED)
file(GLOB_RECURSE rtprof_pages LIST_DIRECTORIES false
  "${CPACK_TEMPORARY_DIRECTORY}/${CPACK_PACKAGING_INSTALL_PREFIX}/${CPACK_RTPROF_MANDIR}/man*/*")
if(NOT rtprof_pages)
  message(FATAL_ERROR "rtprof: no man page under ${CPACK_TEMPORARY_DIRECTORY}${CPACK_PACKAGING_INSTALL_PREFIX}/"
                      "${CPACK_RTPROF_MANDIR} (is scdoc installed?)")
endif()
foreach(page IN LISTS rtprof_pages)
  if(NOT page MATCHES "\\.gz$")
    execute_process(COMMAND "${RTPROF_GZIP}" -9nf "${page}" RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "rtprof: gzip ${page} failed: ${rc}")
    endif()
  endif()
endforeach()
