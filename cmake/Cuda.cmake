# Cuda.cmake: the optional CUDA language (device-buffer kernels, GPU tests).
#
#   COLOSSUS_CUDA       AUTO (default): on when a working nvcc is found, else off
#                       with one line saying so; ON: a missing toolkit is an
#                       error; OFF: never.
#   COLOSSUS_CUDA_ARCHS CMAKE_CUDA_ARCHITECTURES syntax. "90" (default) embeds
#                       sm_90 SASS and compute_90 PTX (which later GPUs JIT);
#                       "90-real" SASS only, "80;90" several. Each architecture
#                       adds to the build time of every .cu file. sm_70 or
#                       later (the device-side executor uses __nanosleep and
#                       system-scope acquire/release).
# Sets COLOSSUS_HAVE_CUDA (ON/OFF). Included from the top-level scope, so that
# enable_language(CUDA) applies to the whole project.
set(COLOSSUS_CUDA AUTO CACHE STRING "Build the CUDA kernels and GPU tests: AUTO, ON or OFF")
set_property(CACHE COLOSSUS_CUDA PROPERTY STRINGS AUTO ON OFF)
set(COLOSSUS_CUDA_ARCHS "90" CACHE STRING
    "CUDA architectures (CMAKE_CUDA_ARCHITECTURES syntax; 90 = sm_90 SASS + compute_90 PTX)")

set(COLOSSUS_HAVE_CUDA OFF)
string(TOUPPER "${COLOSSUS_CUDA}" _colossus_cuda)
if(_colossus_cuda STREQUAL "OFF")
  message(STATUS "colossus: CUDA off (COLOSSUS_CUDA=OFF): device-buffer kernels and GPU tests not built")
elseif(NOT _colossus_cuda MATCHES "^(AUTO|ON)$")
  message(FATAL_ERROR "colossus: COLOSSUS_CUDA must be AUTO, ON or OFF (got '${COLOSSUS_CUDA}')")
else()
  # The toolkit's usual home, when neither the cache nor CUDACXX names a compiler.
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(ENV{CUDACXX} /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)  # tries the compiler in a scratch project: a broken nvcc means "not found"
  if(CMAKE_CUDA_COMPILER)
    if(NOT CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES "${COLOSSUS_CUDA_ARCHS}")
    endif()
    enable_language(CUDA)
    # C++20 for .cu files too. CMake before 3.26 does not know nvcc's C++20
    # flag; CUDA_STANDARD falls back on CXX_STANDARD (20), which is then a
    # configure error ("does not know the flags"). Teach it the flag.
    if(NOT DEFINED CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
      set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
      set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
      list(APPEND CMAKE_CUDA_COMPILE_FEATURES cuda_std_20)
    endif()
    set(CMAKE_CUDA_STANDARD 20)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    set(CMAKE_CUDA_EXTENSIONS OFF)
    if(NOT DEFINED CUDAToolkit_ROOT)
      get_filename_component(CUDAToolkit_ROOT "${CMAKE_CUDA_COMPILER}/../.." ABSOLUTE)
    endif()
    find_package(CUDAToolkit REQUIRED)
    set(COLOSSUS_HAVE_CUDA ON)
    message(STATUS "colossus: CUDA ${CMAKE_CUDA_COMPILER_VERSION} (${CMAKE_CUDA_COMPILER}), "
                   "architectures ${CMAKE_CUDA_ARCHITECTURES}: device-buffer kernels on "
                   "(GPU tests skip themselves where no GPU is present)")
  elseif(_colossus_cuda STREQUAL "ON")
    message(FATAL_ERROR "colossus: COLOSSUS_CUDA=ON but no working CUDA compiler was found "
                        "(set CUDACXX or CMAKE_CUDA_COMPILER to nvcc, or use COLOSSUS_CUDA=AUTO/OFF)")
  else()
    message(STATUS "colossus: no working CUDA compiler found (nvcc; set CUDACXX to point at one): "
                   "device-buffer kernels and GPU tests off")
  endif()
endif()
unset(_colossus_cuda)
