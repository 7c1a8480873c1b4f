include(GoogleTest)

# stormkv_add_gtest(<target> SOURCES <files...> LABELS <labels...> [LIBS <libs...>] [PER_BACKEND])
#
# Builds a GoogleTest executable and registers each test case with ctest (discovered when ctest
# runs, so cases that depend on the environment still show up by name).
# PER_BACKEND: the binary holds value-parameterised suites whose parameter names are backend names
# (memory, redis, shm). Cases ending in /redis get the extra label `redis` and a RESOURCE_LOCK on
# the one test server; cases ending in /shm get the label `shm`; everything else keeps LABELS.
function(stormkv_add_gtest target)
  cmake_parse_arguments(ARG "PER_BACKEND" "TIMEOUT" "SOURCES;LABELS;LIBS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE stormkv_test_support ${ARG_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  stormkv_set_warnings(${target})
  set_target_properties(${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin/tests)
  if(ARG_PER_BACKEND)
    gtest_discover_tests(${target} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
      TEST_FILTER "-*/redis:*/shm"
      PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT})
    gtest_discover_tests(${target} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
      TEST_FILTER "*/redis"
      PROPERTIES LABELS "${ARG_LABELS};redis" RESOURCE_LOCK redis TIMEOUT ${ARG_TIMEOUT})
    gtest_discover_tests(${target} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
      TEST_FILTER "*/shm"
      PROPERTIES LABELS "${ARG_LABELS};shm" TIMEOUT ${ARG_TIMEOUT})
  else()
    gtest_discover_tests(${target} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
      PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT})
  endif()
endfunction()
