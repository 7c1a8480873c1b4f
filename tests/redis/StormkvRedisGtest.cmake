# Included by tests/redis and tests/fidelity.
# stormkv_redis_gtest(<target> [LOCK <resource>] SOURCES ... LABELS ...): like stormkv_add_gtest,
# plus a ctest RESOURCE_LOCK on every discovered case. gtest_discover_tests flattens list-valued
# PROPERTIES (LABELS "a;b" arrives as LABELS a b), so labels and lock are set by a script that
# ctest includes after the discovered tests.
function(stormkv_redis_gtest target)
  cmake_parse_arguments(ARG "" "LOCK" "SOURCES;LABELS" ${ARGN})
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE stormkv_test_support stormkv_redis PkgConfig::hiredis
    GTest::gtest GTest::gmock GTest::gtest_main)
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  stormkv_set_warnings(${target})
  set_target_properties(${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin/tests)
  gtest_discover_tests(${target} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
    TEST_LIST ${target}_TESTS PROPERTIES TIMEOUT 300)
  set(props "LABELS \"${ARG_LABELS}\"")
  if(ARG_LOCK)
    string(APPEND props " RESOURCE_LOCK ${ARG_LOCK}")
  endif()
  set(fixup ${CMAKE_CURRENT_BINARY_DIR}/${target}_properties.cmake)
  file(WRITE ${fixup} "foreach(t IN LISTS ${target}_TESTS)\n"
                      "  set_tests_properties(\"\${t}\" PROPERTIES ${props})\n"
                      "endforeach()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${fixup})
endfunction()
