# Run by ctest as `cmake -P`; every step stops the test on failure.
# Inputs (-D): BUILD_DIR WORK_DIR EXAMPLE_DIR INSTALL_LIBDIR CONFIG GENERATOR
#              MAKE_PROGRAM CXX EXTRA_FLAGS
cmake_minimum_required(VERSION 3.25)

set(prefix ${WORK_DIR}/prefix)
if(IS_ABSOLUTE "${INSTALL_LIBDIR}")
  message(FATAL_ERROR "CMAKE_INSTALL_LIBDIR=${INSTALL_LIBDIR} is absolute: cannot install to a scratch prefix")
endif()
set(libdir ${prefix}/${INSTALL_LIBDIR})
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

# step(NAME cmd...): runs cmd, echoing it, and fails the test if it fails.
function(step name)
  message(STATUS "[${name}] ${ARGN}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "[${name}] failed: ${rc}")
  endif()
endfunction()

# 1. Install the already-built tree, as `cmake --install` would for a user.
set(config_args "")
if(CONFIG)
  set(config_args --config ${CONFIG})
endif()
step(install ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} ${config_args})

# 2. Configure and build the example out of tree, seeing only the prefix.
set(example_build ${WORK_DIR}/example-build)
step(configure ${CMAKE_COMMAND} -S ${EXAMPLE_DIR} -B ${example_build}
     -G ${GENERATOR} -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}
     -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release
     "-DCMAKE_CXX_FLAGS=${EXTRA_FLAGS}" -DCMAKE_PREFIX_PATH=${prefix})
step(build ${CMAKE_COMMAND} --build ${example_build})

# 3. Run it. CMake gives the build-tree binary an RPATH to ${libdir}.
step(run-cmake ${example_build}/minimal_allreduce)

# 4. The pkg-config route, exactly as examples/README.md shows it.
find_program(PKG_CONFIG pkg-config REQUIRED)
set(pc_env ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${libdir}/pkgconfig)
execute_process(COMMAND ${pc_env} ${PKG_CONFIG} --cflags --libs colossus
                OUTPUT_VARIABLE pc_flags OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "[pkg-config] colossus.pc not found under ${libdir}/pkgconfig")
endif()
message(STATUS "[pkg-config] ${pc_flags}")
separate_arguments(pc_flags UNIX_COMMAND "${pc_flags}")
separate_arguments(extra_flags UNIX_COMMAND "${EXTRA_FLAGS}")
set(pc_exe ${WORK_DIR}/minimal_allreduce_pc)
step(compile-pkg-config ${CXX} -std=c++20 ${extra_flags} ${EXAMPLE_DIR}/main.cc ${pc_flags}
     -o ${pc_exe})
step(run-pkg-config ${CMAKE_COMMAND} -E env LD_LIBRARY_PATH=${libdir} ${pc_exe})
