# tests/nccl/abi_tests.cmake: the ABI tests of libnccl.so.2 (abi_checks.h),
# and the PyTorch drop-in test.
#
# colossus_nccl_abi_tests(TAG INCLUDE_DIR): programs built against the
# nccl.h in INCLUDE_DIR (NVIDIA's, alone in its folder), linked to our
# libnccl.so.2: nccl_abi_c_TAG compiles the checks as C, nccl_abi_cpp_TAG as
# C++ (abi_cpp.cc), each run as a ctest on host communicators.
set(_abi_sources abi_support.c abi_surface.c abi_new_api.c abi_collectives.c abi_launch.c
                 abi_faults.c abi_main.c)
function(colossus_nccl_abi_tests tag include_dir)
  foreach(_lang c cpp)
    set(_name nccl_abi_${_lang}_${tag})
    if(_lang STREQUAL "c")
      add_executable(${_name} ${_abi_sources})
      set_target_properties(${_name} PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON)
    else()
      add_executable(${_name} abi_cpp.cc)
    endif()
    # NCCL_OS_LINUX: as NVIDIA's build defines it, so 2.30's header declares
    # ncclResetDebugInit (deprecated, hence the warning switched off).
    target_compile_definitions(${_name} PRIVATE NCCL_OS_LINUX)
    target_compile_options(${_name} PRIVATE -Wall -Wextra -Wno-deprecated-declarations)
    target_include_directories(${_name} PRIVATE ${include_dir} ${COLOSSUS_CUDA_RUNTIME_INCLUDE}
                                                ${CMAKE_CURRENT_SOURCE_DIR})
    target_link_libraries(${_name} PRIVATE nccl Threads::Threads m)
    add_test(NAME ${_name} COMMAND ${_name})
    set_tests_properties(${_name} PROPERTIES TIMEOUT 900 ENVIRONMENT CUDA_VISIBLE_DEVICES=)
  endforeach()
endfunction()

# PyTorch from PyPI on our library: COLOSSUS_PYTHON (the root CMakeLists.txt)
# names a python with torch and pytest.
set(_torch_ok 1)
if(COLOSSUS_PYTHON)
  execute_process(COMMAND ${COLOSSUS_PYTHON} -c "import torch, pytest" RESULT_VARIABLE _torch_ok
                  OUTPUT_QUIET ERROR_QUIET)
endif()
if(NOT COLOSSUS_PYTHON)
  message(STATUS "colossus: COLOSSUS_PYTHON is not set (scripts/test.sh sets it): "
                 "the PyTorch drop-in test is skipped")
elseif(NOT _torch_ok EQUAL 0)
  message(STATUS "colossus: COLOSSUS_PYTHON (${COLOSSUS_PYTHON}) has no torch or pytest "
                 "(scripts/install-python.sh makes a venv that has them): "
                 "the PyTorch drop-in test is skipped")
else()
  add_test(NAME nccl_torch_dropin_test
           COMMAND ${COLOSSUS_PYTHON} -m pytest -q -p no:cacheprovider
                   ${CMAKE_CURRENT_SOURCE_DIR}/torch_dropin_test.py)
  set(_env COLOSSUS_LIBNCCL=$<TARGET_FILE:nccl> NM=${CMAKE_NM}
           COLOSSUS_NCCL_H=${PROJECT_SOURCE_DIR}/include/colossus/nccl.h)
  set_tests_properties(nccl_torch_dropin_test PROPERTIES TIMEOUT 600 ENVIRONMENT "${_env}")
endif()
