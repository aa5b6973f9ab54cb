# run_fuzzer.cmake: one fuzz test.
#   cmake -DFUZZER=<binary> -DCORPUS=<repo corpus dir> -DWORK_DIR=<dir> -DRUNS=<n> -P run_fuzzer.cmake
# Runs RUNS inputs from seed 1, starting from CORPUS (read only: new inputs
# go to WORK_DIR/new, a crash's input to WORK_DIR/crash-*). Fails on any
# crash, sanitizer report or broken property, printing the reproducer.
foreach(var FUZZER CORPUS WORK_DIR RUNS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzzer.cmake: -D${var}= is required")
  endif()
endforeach()
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}/new")
execute_process(COMMAND "${FUZZER}" -runs=${RUNS} -seed=1 -max_len=16384 -rss_limit_mb=4096
                        -artifact_prefix=${WORK_DIR}/ "${WORK_DIR}/new" "${CORPUS}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${FUZZER} failed (exit ${rc}); reproduce with: ${FUZZER} ${WORK_DIR}/crash-*\n"
                      "${err}")
endif()
string(REGEX MATCH "Done [0-9]+ runs[^\n]*" done "${err}")
message(STATUS "${done}")
