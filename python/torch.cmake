# colossus.torch._backend: the torch.distributed backend, a torch C++
# extension. It is compiled as torch.utils.cpp_extension compiles one (torch's
# headers and its own pybind11, torch's C++ ABI) and links torch's libraries
# from the python's torch; without torch it is not built, with one line.
execute_process(
  COMMAND ${Python_EXECUTABLE} -c
    "import os, torch, torch.utils.cpp_extension as c; print('|'.join(c.include_paths())); print(os.path.join(os.path.dirname(torch.__file__), 'lib')); print(int(torch._C._GLIBCXX_USE_CXX11_ABI)); print(torch.__version__)"
  OUTPUT_VARIABLE _torch_info OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(STATUS "colossus: ${Python_EXECUTABLE} has no torch: the torch.distributed backend "
                 "(colossus.torch) is not built")
  set(COLOSSUS_HAVE_TORCH OFF)
  return()
endif()
set(COLOSSUS_HAVE_TORCH ON)
string(REPLACE "\n" ";" _torch_info "${_torch_info}")
list(GET _torch_info 0 _torch_includes)
string(REPLACE "|" ";" _torch_includes "${_torch_includes}")
list(GET _torch_info 1 COLOSSUS_TORCH_LIBDIR)
list(GET _torch_info 2 _torch_cxx11_abi)
list(GET _torch_info 3 _torch_version)
message(STATUS "colossus: torch ${_torch_version} at ${COLOSSUS_TORCH_LIBDIR}: building colossus.torch")

file(GLOB _torch_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/torch/*.cc)
add_library(colossus_py_torch MODULE ${_torch_sources})
set_target_properties(colossus_py_torch PROPERTIES
  OUTPUT_NAME _backend PREFIX "" SUFFIX ".${Python_SOABI}.so" CXX_VISIBILITY_PRESET hidden)
# torch's headers are third-party: -isystem, so our warnings stay on our code.
target_include_directories(colossus_py_torch SYSTEM PRIVATE ${_torch_includes})
target_compile_definitions(colossus_py_torch PRIVATE
  TORCH_EXTENSION_NAME=_backend TORCH_API_INCLUDE_EXTENSION_H
  _GLIBCXX_USE_CXX11_ABI=${_torch_cxx11_abi})
foreach(lib c10 torch torch_cpu torch_python)
  target_link_libraries(colossus_py_torch PRIVATE ${COLOSSUS_TORCH_LIBDIR}/lib${lib}.so)
endforeach()
target_link_libraries(colossus_py_torch PRIVATE colossus Python::Module)
colossus_python_module(colossus_py_torch torch "$ORIGIN/..;$ORIGIN/../../torch/lib")
set_property(TARGET colossus_py_torch APPEND PROPERTY BUILD_RPATH ${COLOSSUS_TORCH_LIBDIR})
