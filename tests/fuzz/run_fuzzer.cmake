# Runs one libFuzzer binary for a bounded time from its seed corpus (ctest fuzz.<target>).
#   cmake -DFUZZER=<binary> -DTARGET=<name> -DSOURCE_DIR=<tests/fuzz> -DWORK_DIR=<dir>
#         -DSECONDS=<n> -P run_fuzzer.cmake
# New coverage goes to WORK_DIR/corpus/<target> (never into the source tree); a crash's input to
# WORK_DIR/artifacts/<target>/. Prints executions, time and corpus size.
set(corpus "${WORK_DIR}/corpus/${TARGET}")
set(artifacts "${WORK_DIR}/artifacts/${TARGET}/")
file(MAKE_DIRECTORY "${corpus}" "${artifacts}")
set(args -max_total_time=${SECONDS} -timeout=10 -rss_limit_mb=2048 -max_len=16384
         -print_final_stats=1 -artifact_prefix=${artifacts})
if(EXISTS "${SOURCE_DIR}/dict/${TARGET}.dict")
  list(APPEND args -dict=${SOURCE_DIR}/dict/${TARGET}.dict)
endif()
list(APPEND args "${corpus}" "${SOURCE_DIR}/corpus/${TARGET}")
if(IS_DIRECTORY "${SOURCE_DIR}/regressions/${TARGET}")
  list(APPEND args "${SOURCE_DIR}/regressions/${TARGET}")
endif()
execute_process(COMMAND "${FUZZER}" ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
set(log "${out}${err}")
string(REGEX MATCH "stat::number_of_executed_units: *([0-9]+)" _ "${log}")
set(execs "${CMAKE_MATCH_1}")
string(REGEX MATCH "Done [0-9]+ runs in ([0-9]+) second" _ "${log}")
set(secs "${CMAKE_MATCH_1}")
file(GLOB units "${corpus}/*")
list(LENGTH units corpus_size)
string(REGEX MATCHALL "cov: [0-9]+ ft: [0-9]+ corp: [0-9]+" progress "${log}")
set(last "no coverage line")
if(progress)
  list(GET progress -1 last)
endif()
message(STATUS "fuzz ${TARGET}: ${execs} executions in ${secs} s; ${last}; "
               "work corpus ${corpus_size} files")
if(NOT rc EQUAL 0)
  string(LENGTH "${log}" n)
  if(n GREATER 6000)
    math(EXPR from "${n} - 6000")
    string(SUBSTRING "${log}" ${from} 6000 log)
  endif()
  message(FATAL_ERROR "fuzz ${TARGET} failed (exit ${rc}); crashing input under ${artifacts}\n"
                      "minimise: ${FUZZER} -minimize_crash=1 -max_total_time=60 <crash file>\n"
                      "then keep it as tests/fuzz/regressions/${TARGET}/<name>\n${log}")
endif()
