# compare_perf_tables.cmake: one *_perf tool and its *_perf_nccl twin, run
# with the same flags, must print the same table.
#
#   cmake -DTOOL=<path> -DTWIN=<path> -DARGS="<flags, space-separated>"
#         [-DLAUNCHER="colossus-run -n 4 --no-tag --"] -P compare_perf_tables.cmake
#
# Both exit 0 and say which API they went through (the C++ API; NCCL's C
# API). Their rows are the same, in the same order: size, count, type,
# redop and root alike; every #wrong 0 in both (an in-place column that
# reads N/A in one reads N/A in the other). Times and bandwidths differ
# from run to run and are not compared.
foreach(var TOOL TWIN)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "compare_perf_tables.cmake: -D${var}= is required")
  endif()
endforeach()
include(${CMAKE_CURRENT_LIST_DIR}/perf_table.cmake)
separate_arguments(argv UNIX_COMMAND "${ARGS}")
separate_arguments(launcher UNIX_COMMAND "${LAUNCHER}")


# run_table(EXE API_REGEX OUT_VAR): runs EXE, checks it, sets OUT_VAR to its
# rows as "size count type redop root wrong_out wrong_in", one list element each.
function(run_table exe api out_var)
  execute_process(COMMAND ${launcher} ${exe} ${argv}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  TIMEOUT 150)
  message(STATUS "${exe} ${ARGS} -> ${rc}\n${out}${err}")
  if(NOT rc EQUAL 0)
    fail("${exe}: exit code '${rc}'")
  endif()
  if(NOT out MATCHES "\n?# [A-Za-z]+ through ${api}")
    fail("${exe}: no '# <operation> through ${api}' line")
  endif()
  perf_table_rows("${out}" table)
  set(rows "")
  foreach(row IN LISTS table)
    string(REPLACE "|" ";" cols "${row}")
    list(GET cols 8 wrong_out)
    list(GET cols 12 wrong_in)
    if(NOT wrong_out STREQUAL "0" OR NOT wrong_in MATCHES "^(0|N/A)$")
      fail("${exe}: #wrong is not 0: '${row}'")
    endif()
    list(SUBLIST cols 0 5 key)
    list(JOIN key " " key)
    list(APPEND rows "${key} ${wrong_out} ${wrong_in}")
  endforeach()
  if(rows STREQUAL "")
    fail("${exe}: no result rows")
  endif()
  set(${out_var} "${rows}" PARENT_SCOPE)
endfunction()

run_table("${TOOL}" "the C\\+\\+ API" cxx_rows)
run_table("${TWIN}" "NCCL's C API" nccl_rows)
list(LENGTH cxx_rows n_cxx)
list(LENGTH nccl_rows n_nccl)
if(NOT n_cxx EQUAL n_nccl)
  fail("${n_cxx} rows through the C++ API, ${n_nccl} through the C API")
endif()
math(EXPR last "${n_cxx} - 1")
foreach(i RANGE ${last})
  list(GET cxx_rows ${i} a)
  list(GET nccl_rows ${i} b)
  if(NOT a STREQUAL b)
    fail("row ${i} differs: '${a}' (C++ API) vs '${b}' (C API)")
  endif()
endforeach()
message(STATUS "${n_cxx} rows, the same through both APIs, all #wrong 0")
