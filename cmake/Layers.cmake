# Layers.cmake: each layer of the engine is its own target, and a layer sees
# only the headers of the layers it names below it.
#
#   colossus_layer(NAME DIR DEPS lower... SOURCES src...)
#
# makes two targets:
#   colossus_<NAME>_api  INTERFACE: the include root of this layer, plus the
#                        roots of the layers it depends on (transitively).
#   colossus_<NAME>      OBJECT: the layer's sources, compiled against its
#                        _api target only; its objects go into libcolossus.
#
# The include root of a layer is a folder in the build tree holding one
# symbolic link, <NAME> -> DIR, so "plan/plan.hpp" resolves for plan and the
# layers above it, and an upward include ("tune/tuner.hpp" from lib/plan)
# does not build. Tests, tools and benchmarks link libcolossus plus the
# _api target of the highest layer they look inside.
function(colossus_layer name dir)
  cmake_parse_arguments(L "" "" "DEPS;SOURCES" ${ARGN})
  set(root ${CMAKE_BINARY_DIR}/layers/${name})
  file(MAKE_DIRECTORY ${root})
  file(CREATE_LINK ${dir} ${root}/${name} SYMBOLIC)
  add_library(colossus_${name}_api INTERFACE)
  target_include_directories(colossus_${name}_api INTERFACE $<BUILD_INTERFACE:${root}>)
  foreach(dep IN LISTS L_DEPS)
    target_link_libraries(colossus_${name}_api INTERFACE colossus_${dep}_api)
  endforeach()
  add_library(colossus_${name} OBJECT ${L_SOURCES})
  target_link_libraries(colossus_${name} PRIVATE colossus_${name}_api)
  colossus_warnings(colossus_${name})
  target_sources(colossus PRIVATE $<TARGET_OBJECTS:colossus_${name}>)
endfunction()

# The warning set of the engine's own code.
# -Wno-restrict: GCC 12 false positives inside std::string concatenation.
function(colossus_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>>)
endfunction()
