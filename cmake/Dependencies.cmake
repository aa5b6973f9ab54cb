# Finds every dependency once. Required ones stop the configure with a clear
# message; an optional one that is missing switches its feature off with one
# line saying so.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

pkg_check_modules(HWLOC IMPORTED_TARGET hwloc)
if(NOT HWLOC_FOUND)
  message(FATAL_ERROR "colossus: hwloc is required (Debian: libhwloc-dev; run scripts/install-deps.sh)")
endif()
message(STATUS "colossus: hwloc ${HWLOC_VERSION}: host topology discovery on")

# CUDA (optional): device-buffer kernels and GPU tests. COLOSSUS_CUDA=AUTO/ON/OFF.
include(${CMAKE_CURRENT_LIST_DIR}/Cuda.cmake)

# libibverbs (optional): RDMA transport.
find_library(IBVERBS_LIBRARY ibverbs)
find_path(IBVERBS_INCLUDE_DIR infiniband/verbs.h)
if(IBVERBS_LIBRARY AND IBVERBS_INCLUDE_DIR)
  set(COLOSSUS_HAVE_IBVERBS ON)
  message(STATUS "colossus: libibverbs found: ${IBVERBS_LIBRARY}")
else()
  set(COLOSSUS_HAVE_IBVERBS OFF)
  message(STATUS "colossus: libibverbs not found: RDMA transport off (Debian: libibverbs-dev)")
endif()

# UCX (optional): UCP transport.
pkg_check_modules(UCX IMPORTED_TARGET ucx)
if(UCX_FOUND)
  set(COLOSSUS_HAVE_UCX ON)
  message(STATUS "colossus: UCX ${UCX_VERSION} found")
else()
  set(COLOSSUS_HAVE_UCX OFF)
  message(STATUS "colossus: UCX not found: ucx transport off (Debian: libucx-dev)")
endif()

# Tests: Catch2 v3 if present, else Debian's v2.
if(COLOSSUS_BUILD_TESTS)
  find_package(Catch2 3 QUIET)
  if(Catch2_FOUND)
    set(COLOSSUS_CATCH2_MAJOR 3)
  else()
    find_package(Catch2 2 QUIET)
    if(Catch2_FOUND)
      set(COLOSSUS_CATCH2_MAJOR 2)
    else()
      message(FATAL_ERROR "colossus: tests need Catch2 (Debian: catch2; run scripts/install-deps.sh) "
                          "or configure with -DCOLOSSUS_BUILD_TESTS=OFF")
    endif()
  endif()
  message(STATUS "colossus: Catch2 v${COLOSSUS_CATCH2_MAJOR} for tests")
endif()

# Benchmarks: Google Benchmark for the microbenchmarks (the *_perf tools need nothing).
if(COLOSSUS_BUILD_BENCH)
  find_package(benchmark QUIET)
  if(benchmark_FOUND)
    message(STATUS "colossus: Google Benchmark found: microbenchmarks on")
  else()
    message(STATUS "colossus: Google Benchmark not found: microbenchmarks off (Debian: libbenchmark-dev)")
  endif()
  find_package(MPI QUIET COMPONENTS C)
  if(MPI_C_FOUND)
    message(STATUS "colossus: MPI found: *_perf tools can launch under mpirun")
  else()
    message(STATUS "colossus: MPI not found: *_perf tools run with -t (threads) only")
  endif()
endif()
