# check_vectorized.cmake: the `reduce_vectorizes` test. Compiles reduce_cpu.cc
# as the library is built (-O3, baseline ISA, no -march=native) with GCC's
# vectorizer reports on, and fails unless
#   1. every `for` loop between the VECTORIZED-LOOPS-BEGIN/END markers in the
#      source is reported "loop vectorized" (-fopt-info-vec-optimized), and
#   2. the hot instantiations named below (the Sum loops of fp32, fp64, int32,
#      bf16, fp16, fp8, out-of-place and in place) are each among them, read
#      from the per-function vectorizer dump (-fdump-tree-vect-optimized); the
#      loops are noinline/noclone in the source so that each instantiation
#      keeps a function, and a name, of its own.
#
# cmake -DCXX=<g++> -DSOURCE=<reduce_cpu.cc> -DINCLUDE_DIRS="<dir>|<dir>"
#       [-DFLAGS="<flag>|<flag>"] -DWORK_DIR=<scratch dir> -P check_vectorized.cmake
cmake_policy(VERSION 3.25)

foreach(var CXX SOURCE INCLUDE_DIRS WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_vectorized.cmake: -D${var}=... is required")
  endif()
endforeach()

set(opt_info "${WORK_DIR}/opt-info-vec.txt")
set(vect_dump "${WORK_DIR}/vect-dump.txt")
file(MAKE_DIRECTORY "${WORK_DIR}")
file(REMOVE "${opt_info}" "${vect_dump}")

set(args -std=c++20 -O3 -DNDEBUG)
string(REPLACE "|" ";" flags "${FLAGS}")
string(REPLACE "|" ";" dirs "${INCLUDE_DIRS}")
list(APPEND args ${flags})
foreach(dir IN LISTS dirs)
  if(dir)
    list(APPEND args "-I${dir}")
  endif()
endforeach()
execute_process(
  COMMAND "${CXX}" ${args} -c "${SOURCE}" -o "${WORK_DIR}/reduce_cpu.o"
          "-fopt-info-vec-optimized=${opt_info}" "-fdump-tree-vect-optimized=${vect_dump}"
  RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "compiling ${SOURCE} failed (${rc}):\n${err}")
endif()

# 1. Line numbers of the `for` loops between the markers.
file(READ "${SOURCE}" src)
string(FIND "${src}" "// VECTORIZED-LOOPS-BEGIN" begin)
string(FIND "${src}" "// VECTORIZED-LOOPS-END" end)
if(begin LESS 0 OR end LESS begin)
  message(FATAL_ERROR "VECTORIZED-LOOPS-BEGIN/END markers not found in ${SOURCE}")
endif()
set(loop_lines "")
set(pos ${begin})
while(TRUE)
  string(SUBSTRING "${src}" ${pos} -1 rest)
  string(FIND "${rest}" "for (" hit)
  math(EXPR at "${pos} + ${hit}")
  if(hit LESS 0 OR at GREATER end)
    break()
  endif()
  string(SUBSTRING "${src}" 0 ${at} before)
  string(REGEX MATCHALL "\n" newlines "${before}")
  list(LENGTH newlines n)
  math(EXPR line "${n} + 1")
  list(APPEND loop_lines ${line})
  math(EXPR pos "${at} + 5")
endwhile()
if(NOT loop_lines)
  message(FATAL_ERROR "no `for` loops between the markers in ${SOURCE}")
endif()

get_filename_component(source_name "${SOURCE}" NAME)
file(STRINGS "${opt_info}" reports REGEX "loop vectorized")
list(LENGTH reports total)
set(missing "")
foreach(line IN LISTS loop_lines)
  set(found FALSE)
  foreach(report IN LISTS reports)
    if(report MATCHES "${source_name}:${line}:[0-9]+: optimized: loop vectorized")
      set(found TRUE)
      break()
    endif()
  endforeach()
  if(NOT found)
    list(APPEND missing ${line})
  endif()
endforeach()
if(missing)
  message(FATAL_ERROR "loops at ${source_name} lines ${missing} were never vectorized "
                      "(see ${opt_info})")
endif()

# 2. Which instantiations vectorized: "loop vectorized" lines follow the
# ";; Function <name>" header of the function they are in.
# (fp16 and bf16 run through the loops two per 32-bit word, as PairWord.)
set(required
    "loop_binary<float, Elementwise<float, FuncSum<float>, false> >"
    "loop_binary<double, Elementwise<double, FuncSum<double>, false> >"
    "loop_binary<int, Elementwise<int, FuncSum<int>, false> >"
    "loop_binary<PairWord, PairElementwise<BFloat16, FuncSum<float>, false> >"
    "loop_binary<PairWord, PairElementwise<Half, FuncSum<float>, false> >"
    "loop_binary<Float8E4M3, Elementwise<Float8E4M3, FuncSum<float>, false> >"
    "loop_binary<Float8E5M2, Elementwise<Float8E5M2, FuncSum<float>, false> >"
    "loop_binary<float, Elementwise<float, FuncSum<float>, true> >"
    "loop_binary<float, Elementwise<float, FuncMax<float>, false> >"
    "loop_into_first<float, Elementwise<float, FuncSum<float>, false> >"
    "loop_into_first<PairWord, PairElementwise<BFloat16, FuncSum<float>, false> >"
    "loop_into_first<PairWord, PairElementwise<Half, FuncSum<float>, false> >")
file(STRINGS "${vect_dump}" dump_lines REGEX "^;; Function |optimized: loop vectorized")
set(current "")
set(vectorized "")
foreach(l IN LISTS dump_lines)
  if(l MATCHES "^;; Function ([^(]*) \\(")
    set(current "${CMAKE_MATCH_1}")
    string(REPLACE "colossus::reduce::" "" current "${current}")
    string(REPLACE "{anonymous}::" "" current "${current}")
  elseif(current)
    list(APPEND vectorized "${current}")
  endif()
endforeach()
list(REMOVE_DUPLICATES vectorized)
list(LENGTH vectorized functions)
set(missing "")
foreach(name IN LISTS required)
  if(NOT name IN_LIST vectorized)
    list(APPEND missing "${name}")
  endif()
endforeach()
if(missing)
  list(JOIN missing "\n  " text)
  message(FATAL_ERROR "not vectorized:\n  ${text}\n(see ${vect_dump})")
endif()
list(LENGTH loop_lines loops)
list(LENGTH required wanted)
message(STATUS "reduce_vectorizes: the ${loops} loops at ${source_name} lines ${loop_lines} "
               "vectorize (${total} reports); ${functions} functions have a vectorized loop, "
               "the ${wanted} required instantiations among them")
