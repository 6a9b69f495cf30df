# Shared by tests/rtl and tests/hw (issue 16): this build's iverilog, vvp and verilator (required
# when GQALUT_WITH_RTL_TESTS is ON), and gqalut_add_rtl_tests(PREFIX LIBS...): one GoogleTest
# program PREFIX.test_x per test_x.cpp of the calling folder, linked with LIBS, labelled rtl,
# knowing the tools, the source tree's rtl/ and a work folder in the build tree.
find_program(GQALUT_IVERILOG iverilog)
find_program(GQALUT_VVP vvp)
find_program(GQALUT_VERILATOR verilator)
if(NOT GQALUT_IVERILOG OR NOT GQALUT_VVP OR NOT GQALUT_VERILATOR)
  message(FATAL_ERROR "GQALUT_WITH_RTL_TESTS is ON but iverilog/vvp/verilator were not found "
                      "(iverilog='${GQALUT_IVERILOG}', vvp='${GQALUT_VVP}', verilator='${GQALUT_VERILATOR}'). "
                      "Install them (Debian: apt-get install iverilog verilator) or pass -DGQALUT_WITH_RTL_TESTS=OFF.")
endif()

function(gqalut_add_rtl_tests prefix)
  file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/test_*.cpp)
  foreach(src ${tests})
    get_filename_component(name ${src} NAME_WE)
    add_executable(${prefix}.${name} ${src})
    target_link_libraries(${prefix}.${name} PRIVATE ${ARGN} GTest::gtest_main fmt::fmt)
    target_include_directories(${prefix}.${name} PRIVATE ${PROJECT_SOURCE_DIR})
    target_compile_definitions(${prefix}.${name} PRIVATE
      GQALUT_SHARED_DIR="${PROJECT_SOURCE_DIR}/../shared"
      GQALUT_RTL_DIR="${PROJECT_SOURCE_DIR}/rtl"
      GQALUT_RTL_WORK_DIR="${CMAKE_CURRENT_BINARY_DIR}/work"
      GQALUT_IVERILOG="${GQALUT_IVERILOG}" GQALUT_VVP="${GQALUT_VVP}" GQALUT_VERILATOR="${GQALUT_VERILATOR}")
    target_compile_options(${prefix}.${name} PRIVATE ${GQALUT_WARNINGS})
    gtest_discover_tests(${prefix}.${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS rtl)
  endforeach()
endfunction()
