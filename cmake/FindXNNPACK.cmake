# FindXNNPACK: Google's XNNPACK operator library with its pthreadpool and
# cpuinfo dependencies, as Debian's libxnnpack-dev / libpthreadpool-dev /
# libcpuinfo-dev install them (header xnnpack.h, libXNNPACK.so). Used only by
# bench/bench_peers.cpp as a peer to measure against; gqalut never needs it.
#
# Defines XNNPACK_FOUND, XNNPACK_INCLUDE_DIR, XNNPACK_LIBRARY and the imported
# target XNNPACK::XNNPACK (linking pthreadpool and cpuinfo when found).
find_path(XNNPACK_INCLUDE_DIR xnnpack.h)
find_path(PTHREADPOOL_INCLUDE_DIR pthreadpool.h)
find_library(XNNPACK_LIBRARY NAMES XNNPACK xnnpack)
find_library(PTHREADPOOL_LIBRARY NAMES pthreadpool)
find_library(CPUINFO_LIBRARY NAMES cpuinfo)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(XNNPACK
  REQUIRED_VARS XNNPACK_LIBRARY XNNPACK_INCLUDE_DIR PTHREADPOOL_INCLUDE_DIR)

if(XNNPACK_FOUND AND NOT TARGET XNNPACK::XNNPACK)
  add_library(XNNPACK::XNNPACK UNKNOWN IMPORTED)
  set_target_properties(XNNPACK::XNNPACK PROPERTIES
    IMPORTED_LOCATION "${XNNPACK_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${XNNPACK_INCLUDE_DIR};${PTHREADPOOL_INCLUDE_DIR}")
  foreach(dep PTHREADPOOL_LIBRARY CPUINFO_LIBRARY)
    if(${dep})
      set_property(TARGET XNNPACK::XNNPACK APPEND PROPERTY INTERFACE_LINK_LIBRARIES "${${dep}}")
    endif()
  endforeach()
endif()
mark_as_advanced(XNNPACK_INCLUDE_DIR XNNPACK_LIBRARY PTHREADPOOL_INCLUDE_DIR PTHREADPOOL_LIBRARY CPUINFO_LIBRARY)
