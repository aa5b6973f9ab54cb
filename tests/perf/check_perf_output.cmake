# check_perf_output.cmake: runs one *_perf tool and judges its output.
#
#   cmake -DTOOL=<path> -DARGS="<flags, space-separated>" -DMODE=<table|nocheck|usage|help|reject>
#         -P check_perf_output.cmake
#
# table    exit 0; nccl-tests' table header; at least one row; every row has
#          13 columns with both #wrong columns 0; "# Out of bounds values : 0 OK";
#          "# Avg bus bandwidth" printed.
# nocheck  as table, but -c 0: both #wrong columns read N/A.
# usage    a bad command line: exit 1, the usage text on stderr, no table.
# help     -h: exit 0, the usage text on stdout.
# reject   a well-formed command the run refuses (e.g. a root out of range):
#          exit non-zero, a message on stderr (matching ERR_MATCH, a regex,
#          where given), no crash (no signal).
#
# IN_PLACE=none (optional; table and nocheck): the operation has no in-place
# form (alltoall, sendrecv): the header says so and every row's in-place
# columns (time, algbw, busbw, #wrong) read N/A.
foreach(var TOOL MODE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_perf_output.cmake: -D${var}= is required")
  endif()
endforeach()

include(${CMAKE_CURRENT_LIST_DIR}/perf_table.cmake)

separate_arguments(argv UNIX_COMMAND "${ARGS}")
# LAUNCHER (optional): a prefix such as "colossus-run -n 4 --no-tag --" or
# "mpirun -np 4": the tool then runs as one rank per process.
separate_arguments(launcher UNIX_COMMAND "${LAUNCHER}")
execute_process(COMMAND ${launcher} ${TOOL} ${argv}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                TIMEOUT 120)
message(STATUS "${TOOL} ${ARGS} -> ${rc}\n${out}${err}")

if(MODE STREQUAL "usage")
  if(NOT rc EQUAL 1)
    fail("expected exit code 1 for a bad command line, got '${rc}'")
  endif()
  if(NOT err MATCHES "USAGE: ")
    fail("no usage text on stderr")
  endif()
  if(out MATCHES "out-of-place")
    fail("a table was printed for a bad command line")
  endif()
  return()
endif()

if(MODE STREQUAL "help")
  if(NOT rc EQUAL 0 OR NOT out MATCHES "USAGE: ")
    fail("-h should print usage on stdout and exit 0 (rc '${rc}')")
  endif()
  return()
endif()

if(MODE STREQUAL "reject")
  # A number: a signal or a timeout shows up as a string.
  if(NOT rc MATCHES "^[0-9]+$" OR rc EQUAL 0)
    fail("expected a non-zero exit code, got '${rc}'")
  endif()
  if(err STREQUAL "")
    fail("no message on stderr")
  endif()
  if(DEFINED ERR_MATCH AND NOT err MATCHES "${ERR_MATCH}")
    fail("stderr does not match '${ERR_MATCH}'")
  endif()
  return()
endif()

if(NOT rc EQUAL 0)
  fail("exit code '${rc}'")
endif()
foreach(header "#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong"
               "#        \\(B\\)    \\(elements\\)                               \\(us\\)  \\(GB/s\\)  \\(GB/s\\)            \\(us\\)  \\(GB/s\\)  \\(GB/s\\)")
  if(NOT out MATCHES "${header}")
    fail("table header line missing: ${header}")
  endif()
endforeach()
set(no_in_place FALSE)
if(DEFINED IN_PLACE AND IN_PLACE STREQUAL "none")
  set(no_in_place TRUE)
  if(NOT out MATCHES "\n# [A-Za-z]+ has no in-place form: out-of-place only")
    fail("the header does not say that the operation has no in-place form")
  endif()
endif()
if(NOT out MATCHES "\n# Out of bounds values : 0 OK\n")
  fail("'# Out of bounds values : 0 OK' missing")
endif()
if(NOT out MATCHES "\n# Avg bus bandwidth    : [0-9.e+-]+ ?\n")
  fail("'# Avg bus bandwidth' missing")
endif()

perf_table_rows("${out}" table)
set(rows 0)
foreach(row IN LISTS table)
  string(REPLACE "|" ";" cols "${row}")
  string(REPLACE "|" " " line "${row}")
  list(GET cols 8 wrong_out)
  list(GET cols 12 wrong_in)
  set(want "0")
  if(MODE STREQUAL "nocheck")
    set(want "N/A")
  endif()
  if(no_in_place)
    list(SUBLIST cols 9 4 in_place_cols)
    if(NOT in_place_cols STREQUAL "N/A;N/A;N/A;N/A")
      fail("in-place columns of an operation without an in-place form are not N/A: '${line}'")
    endif()
    set(wrong_in "${want}")
  endif()
  if(NOT wrong_out STREQUAL want OR NOT wrong_in STREQUAL want)
    fail("#wrong is not ${want}: '${line}'")
  endif()
  math(EXPR rows "${rows} + 1")
endforeach()
if(rows EQUAL 0)
  fail("no result rows")
endif()
if(DEFINED ROWS AND NOT rows EQUAL ROWS)
  fail("${rows} result rows, expected ${ROWS}")
endif()
message(STATUS "${rows} rows, all #wrong ${want}")
