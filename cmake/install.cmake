# Install rules and the CMake package: find_package(gqalut) gives gqalut::core,
# gqalut::search, gqalut::export and gqalut::kernels (tests/consumer checks it).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(gqalut_install_targets)
foreach(part core search ops export kernels hw)
  if(TARGET gqalut_${part})
    set_target_properties(gqalut_${part} PROPERTIES EXPORT_NAME ${part})
    list(APPEND gqalut_install_targets gqalut_${part})
  endif()
endforeach()

install(TARGETS ${gqalut_install_targets} EXPORT gqalutTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/gqalut DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# The hand-written Verilog units (reference LUTs, FP32 primitives, their testbenches): `gqalut hw`
# and `gqalut sweep` look for them in <prefix>/share/gqalut/rtl (gqalut::hw::find_rtl_dir).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/rtl/ DESTINATION ${CMAKE_INSTALL_DATADIR}/gqalut/rtl FILES_MATCHING PATTERN "*.v")
if(TARGET gqalut)
  install(TARGETS gqalut RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(EXPORT gqalutTargets NAMESPACE gqalut:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gqalut)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/gqalutConfig.cmake.in
  ${PROJECT_BINARY_DIR}/gqalutConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gqalut)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/gqalutConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/gqalutConfig.cmake ${PROJECT_BINARY_DIR}/gqalutConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/gqalut)
