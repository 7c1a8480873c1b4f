# cmake -P script: install BUILD_DIR into WORK_DIR/prefix, then build and run one outside consumer
# per component (all, memory, redis, gateway) against it. The memory consumer is configured with
# hiredis, cereal and nlohmann_json made unfindable (pkg-config knows only lua5.1, which the
# store's Lua engine needs), so it proves that stormkv::memory needs none of them. Also checks that the private headers are not installed.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
endfunction()

run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
foreach(private stormkv/gateway/scripts.h stormkv/gateway/json_text.h stormkv/lua_sources.h)
  if(EXISTS ${WORK_DIR}/prefix/include/${private})
    message(FATAL_ERROR "private header installed: include/${private}")
  endif()
endforeach()
foreach(public stormkv/kv_backend.h stormkv/memory_backend.h stormkv/redis_backend.h
               stormkv/gateway/pipeline.h)
  if(NOT EXISTS ${WORK_DIR}/prefix/include/${public})
    message(FATAL_ERROR "public header missing: include/${public}")
  endif()
endforeach()

foreach(component all memory redis gateway)
  set(dir ${WORK_DIR}/build-${component})
  set(value ${component})
  set(hide "")
  if(component STREQUAL "all")
    set(value "")
  elseif(component STREQUAL "memory")
    # Nothing of the Redis backend or the gateway may be needed: make their dependencies unfindable.
    set(hide -DCMAKE_DISABLE_FIND_PACKAGE_cereal=ON -DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON)
  endif()
  set(env ${CMAKE_COMMAND} -E env)
  if(component STREQUAL "memory")
    # pkg-config sees lua5.1 only (the store's EVAL runs on the embedded Lua engine), not hiredis.
    execute_process(COMMAND pkg-config --variable pcfiledir lua5.1 OUTPUT_VARIABLE pcdir
                    OUTPUT_STRIP_TRAILING_WHITESPACE)
    file(COPY ${pcdir}/lua5.1.pc DESTINATION ${WORK_DIR}/no-pkgconfig)
    list(APPEND env PKG_CONFIG_LIBDIR=${WORK_DIR}/no-pkgconfig PKG_CONFIG_PATH=${WORK_DIR}/no-pkgconfig)
  endif()
  run(${env} ${CMAKE_COMMAND} -S ${CONSUMER_SRC} -B ${dir} -DCMAKE_BUILD_TYPE=Release
      -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}
      -DSTORMKV_COMPONENT=${value} ${hide})
  run(${CMAKE_COMMAND} --build ${dir})
  run(${dir}/consumer)
endforeach()
