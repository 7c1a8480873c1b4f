# stormkv_set_warnings(target): the project's warning flags for its own targets.
function(stormkv_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  # GCC 12 reports impossible -Wrestrict overlaps inside std::string's operator+ when inlined
  # (GCC bug 105651, fixed in 13); silence that one false positive only.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
  if(STORMKV_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
