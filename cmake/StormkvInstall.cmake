# Install + export so that an outside project can find_package(stormkv) and link stormkv::stormkv.
include(CMakePackageConfigHelpers)

set(STORMKV_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/stormkv)

install(TARGETS stormkv stormkv_core stormkv_lua stormkv_lua_libs stormkv_lua_engine stormkv_memory stormkv_redis stormkv_gateway
  EXPORT stormkvTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(DIRECTORY ${PROJECT_SOURCE_DIR}/src/stormkv DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h"
  PATTERN "json_text.h" EXCLUDE  # internal to the gateway's .cc files (includes nlohmann)
  PATTERN "json_dom.h" EXCLUDE   # internal (includes simdjson)
  PATTERN "json_out.h" EXCLUDE)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/backends/memory/include/stormkv
                  ${PROJECT_SOURCE_DIR}/backends/redis/include/stormkv
                  ${PROJECT_SOURCE_DIR}/backends/lua/include/stormkv
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")

install(EXPORT stormkvTargets NAMESPACE stormkv:: DESTINATION ${STORMKV_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/stormkvConfig.cmake.in
  ${PROJECT_BINARY_DIR}/stormkvConfig.cmake INSTALL_DESTINATION ${STORMKV_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/stormkvConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/stormkvConfig.cmake ${PROJECT_BINARY_DIR}/stormkvConfigVersion.cmake
  DESTINATION ${STORMKV_CMAKE_DIR})
