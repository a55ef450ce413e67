include(GoogleTest)

# samsa_test(NAME name SOURCES a_test.cc ... DEPS lib ... LABEL unit)
#
# Builds one GoogleTest binary into build/bin/ and registers each of its test
# cases with ctest under one label (CMake 3.25's discovery drops the escaping
# a list of labels would need). Discovery runs when ctest runs, so a build
# does not execute test binaries.
function(samsa_test)
  cmake_parse_arguments(ARG "" "NAME;TIMEOUT;LABEL" "SOURCES;DEPS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} samsa_options
                        GTest::gtest GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${ARG_NAME}
    DISCOVERY_MODE PRE_TEST
    PROPERTIES LABELS ${ARG_LABEL} TIMEOUT ${ARG_TIMEOUT})
endfunction()
