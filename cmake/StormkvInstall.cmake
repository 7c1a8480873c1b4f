# Install + export so that an outside project can find_package(stormkv [COMPONENTS ...]).
#
# One export set per component, so a consumer loads (and needs the dependencies of) only what it
# links:
#   core     stormkv::core     Status, Clock, Reply, KvBackend, Script, key schema, memory model
#                              (needs Threads, OpenSSL's libcrypto)
#   lua      stormkv::lua      the embedded Lua texts of the gateway scripts
#   memory   stormkv::memory   the embedded store + shm mode (core, lua_engine: EVAL runs on it;
#                              Boost headers, librt)
#   redis    stormkv::redis    the Redis backend (core; hiredis via pkg-config)
#   gateway  stormkv::gateway  adapters, services, Pipeline (core, lua; nlohmann_json, cereal)
#   lua_engine stormkv::lua_engine  the embedded Lua 5.1 engine (core; liblua5.1, lua-cjson,
#                              Lua BitOp; with stormkv::lua_libs, Redis's struct/cmsgpack)
# find_package(stormkv) without components loads all of them and stormkv::stormkv (everything).
# Only the public API is installed: headers that outside code may include. The gateway's
# internals (scripts.h: the twins and their reply decoders; json_text.h) and lua_sources.h stay in
# the source tree, as leveldb keeps include/ apart from its implementation headers.
include(CMakePackageConfigHelpers)

set(STORMKV_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/stormkv)

foreach(component core lua memory redis gateway)
  install(TARGETS stormkv_${component} EXPORT stormkv-${component}-targets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT stormkv-${component}-targets NAMESPACE stormkv:: DESTINATION ${STORMKV_CMAKE_DIR})
endforeach()
install(TARGETS stormkv_lua_engine stormkv_lua_libs EXPORT stormkv-lua_engine-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT stormkv-lua_engine-targets NAMESPACE stormkv:: DESTINATION ${STORMKV_CMAKE_DIR})
install(TARGETS stormkv EXPORT stormkv-all-targets)
install(EXPORT stormkv-all-targets NAMESPACE stormkv:: DESTINATION ${STORMKV_CMAKE_DIR})

install(DIRECTORY ${PROJECT_SOURCE_DIR}/src/stormkv DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h"
  PATTERN "json_text.h" EXCLUDE     # the gateway's JSON helpers (include nlohmann)
  PATTERN "json_dom.h" EXCLUDE      # the gateway's JSON reader (includes simdjson)
  PATTERN "json_out.h" EXCLUDE      # the gateway's JSON writer
  PATTERN "scripts.h" EXCLUDE       # the scripts' twins and reply decoders
  PATTERN "twin_lua.h" EXCLUDE      # how the twins follow Lua (private to stormkv_gateway)
  PATTERN "dispatch_text.h" EXCLUDE # the server's command-text helpers (private to the server)
  PATTERN "lua_sources.h" EXCLUDE)  # the embedded Lua texts; reach them through Script
install(DIRECTORY ${PROJECT_SOURCE_DIR}/backends/memory/include/stormkv
                  ${PROJECT_SOURCE_DIR}/backends/redis/include/stormkv
                  ${PROJECT_SOURCE_DIR}/backends/lua/include/stormkv
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/stormkvConfig.cmake.in
  ${PROJECT_BINARY_DIR}/stormkvConfig.cmake INSTALL_DESTINATION ${STORMKV_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/stormkvConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/stormkvConfig.cmake ${PROJECT_BINARY_DIR}/stormkvConfigVersion.cmake
  DESTINATION ${STORMKV_CMAKE_DIR})
