include(GoogleTest)

# stormkv_add_gtest(<target> SOURCES <files...> LABELS <labels...> [LIBS <libs...>]
#                   [TIMEOUT <s>] [PER_BACKEND] [REDIS])
#
# Builds a GoogleTest executable and registers each test case with ctest. Cases are discovered
# when ctest runs (DISCOVERY_MODE PRE_TEST), so cases that depend on the environment still show up
# by name. Names are gtest's own, e.g. All/ConformanceTest.Persist/redis (NO_PRETTY_VALUES: without
# the "  # GetParam() = ..." comment gtest lists after a value-parameterised case).
# PER_BACKEND: the binary holds value-parameterised suites whose parameter names are backend names
#   (memory, memory-lua, redis, shm, served, redis-cluster, memory-cluster). Cases ending in /redis
#   get the extra label `redis` and RESOURCE_LOCK redis (there is one test server and cases FLUSHDB
#   it); cases ending in /redis_cluster get the labels `redis` and `cluster` and RESOURCE_LOCK
#   redis-cluster (one test cluster, FLUSHDB on every master); cases ending in /shm get the label
#   `shm`, cases ending in /served (the embedded store behind stormkv serve) the label `served`,
#   cases ending in /memory_lua (scripts as Lua on the embedded engine) `memory_lua`, cases ending
#   in /memory_cluster (the embedded store as a 3-master cluster) `memcluster`.
# REDIS: every case of the binary talks to the test server: label `redis` + RESOURCE_LOCK redis.
# CLUSTER: every case of the binary talks to the test cluster: labels `redis` and `cluster` +
#   RESOURCE_LOCK redis-cluster.
#
# gtest_discover_tests flattens list-valued PROPERTIES (LABELS "a;b" becomes bogus properties),
# so each discovery gets its own TEST_LIST and the list-valued properties are applied by a small
# script that ctest includes after the discovered tests.
function(stormkv_add_gtest target)
  cmake_parse_arguments(ARG "PER_BACKEND;REDIS;CLUSTER" "TIMEOUT" "SOURCES;LABELS;LIBS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE stormkv_test_support ${ARG_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  stormkv_set_warnings(${target})
  set_target_properties(${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/bin/tests)

  set(props_file ${CMAKE_CURRENT_BINARY_DIR}/${target}_properties.cmake)
  set(props "")
  # _stormkv_discover(<suffix> <filter> <labels> <lock name or "">)
  macro(_stormkv_discover suffix filter labels lock)
    if("${filter}" STREQUAL "")
      gtest_discover_tests(${target} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60 NO_PRETTY_VALUES
        TEST_LIST ${target}_${suffix}_TESTS PROPERTIES TIMEOUT ${ARG_TIMEOUT})
    else()
      gtest_discover_tests(${target} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60 NO_PRETTY_VALUES
        TEST_FILTER "${filter}" TEST_LIST ${target}_${suffix}_TESTS PROPERTIES TIMEOUT ${ARG_TIMEOUT})
    endif()
    string(APPEND props "foreach(t IN LISTS ${target}_${suffix}_TESTS)\n"
                        "  set_tests_properties(\"\${t}\" PROPERTIES LABELS \"${labels}\")\n")
    if(NOT "${lock}" STREQUAL "")
      string(APPEND props "  set_tests_properties(\"\${t}\" PROPERTIES RESOURCE_LOCK ${lock})\n")
    endif()
    string(APPEND props "endforeach()\n")
  endmacro()

  if(ARG_PER_BACKEND)
    _stormkv_discover(LOCAL "-*/redis:*/shm:*/served:*/redis_cluster:*/memory_lua:*/memory_cluster" "${ARG_LABELS}" "")
    _stormkv_discover(LUA "*/memory_lua" "${ARG_LABELS};memory_lua" "")
    _stormkv_discover(MEMCLUSTER "*/memory_cluster" "${ARG_LABELS};memcluster" "")
    _stormkv_discover(SERVED "*/served" "${ARG_LABELS};served" "")
    _stormkv_discover(REDIS "*/redis" "${ARG_LABELS};redis" redis)
    _stormkv_discover(CLUSTER "*/redis_cluster" "${ARG_LABELS};redis;cluster" redis-cluster)
    _stormkv_discover(SHM "*/shm" "${ARG_LABELS};shm" "")
  elseif(ARG_REDIS)
    _stormkv_discover(ALL "" "${ARG_LABELS};redis" redis)
  elseif(ARG_CLUSTER)
    _stormkv_discover(ALL "" "${ARG_LABELS};redis;cluster" redis-cluster)
  else()
    _stormkv_discover(ALL "" "${ARG_LABELS}" "")
  endif()
  file(WRITE ${props_file} "${props}")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${props_file})
endfunction()
