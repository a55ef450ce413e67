include(GoogleTest)

# samsa_test(NAME name SOURCES a_test.cc ... DEPS lib ... LABEL unit
#            [TIMEOUT seconds] [RUN_SERIAL])
#
# Builds one GoogleTest binary into build/bin/ and registers each of its test
# cases with ctest under one label (CMake 3.25's discovery drops the escaping
# a list of labels would need). Discovery runs when ctest runs, so a build
# does not execute test binaries. RUN_SERIAL: nothing else runs beside each
# of its cases (timing-sensitive ones, such as the fault scenarios, whose
# clusters would otherwise share two cores with another test's).
function(samsa_test)
  cmake_parse_arguments(ARG "RUN_SERIAL" "NAME;TIMEOUT;LABEL" "SOURCES;DEPS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  set(serial)
  if(ARG_RUN_SERIAL)
    set(serial RUN_SERIAL TRUE)
  endif()
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} samsa_options
                        GTest::gtest GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${ARG_NAME}
    DISCOVERY_MODE PRE_TEST
    PROPERTIES LABELS ${ARG_LABEL} TIMEOUT ${ARG_TIMEOUT} ${serial})
endfunction()
