# perf_table.cmake: reading a *_perf tool's output, for the scripts that
# judge it (check_perf_output.cmake, compare_perf_tables.cmake).

function(fail why)
  message(FATAL_ERROR "FAILED: ${why}")
endfunction()

# perf_table_rows(TEXT OUT_VAR): the result rows of the table in TEXT (the
# lines that are neither empty nor comments), each as its 13 columns joined
# by "|": size|count|type|redop|root|time|algbw|busbw|#wrong|time|algbw|busbw|#wrong.
# Fails on a row with another number of columns.
function(perf_table_rows text out_var)
  string(REPLACE "\n" ";" lines "${text}")
  set(rows "")
  foreach(line IN LISTS lines)
    if(line STREQUAL "" OR line MATCHES "^#")
      continue()
    endif()
    string(REGEX REPLACE "^ +" "" line "${line}")
    string(REGEX REPLACE " +" ";" cols "${line}")
    list(LENGTH cols ncols)
    if(NOT ncols EQUAL 13)
      fail("row with ${ncols} columns instead of 13: '${line}'")
    endif()
    list(JOIN cols "|" row)
    list(APPEND rows "${row}")
  endforeach()
  set(${out_var} "${rows}" PARENT_SCOPE)
endfunction()
