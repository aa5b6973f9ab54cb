# Installs libcolossus, its public headers, a CMake package and a pkg-config
# file, so consumers can use either
#   find_package(colossus) + target_link_libraries(app PRIVATE colossus::colossus)
# or
#   g++ -std=c++20 app.cc $(pkg-config --cflags --libs colossus)
include(CMakePackageConfigHelpers)

set(COLOSSUS_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/colossus)

# An installed library drops the build RPATH. Keep the directories of
# dependencies that live outside the system's default search path (a hwloc or
# CUDA under its own prefix), so the installed .so still finds them.
set_target_properties(colossus PROPERTIES INSTALL_RPATH_USE_LINK_PATH ON)

# Runtime/Development components let a packager split the .so from the
# headers and the unversioned libcolossus.so link.
install(TARGETS colossus EXPORT colossusTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          COMPONENT colossus_Runtime
          NAMELINK_COMPONENT colossus_Development
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT colossus_Runtime)

# The whole public folder, so a header added later is installed without an edit here.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/colossus
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  COMPONENT colossus_Development)

# hwloc and Threads are PRIVATE links of a SHARED library, so the exported
# target carries no reference to PkgConfig::HWLOC and consumers never need
# hwloc's development files. Keep it that way: a PUBLIC/INTERFACE link to an
# imported target, or making colossus STATIC, would put it in the export.
# tests/install/ checks this by building a consumer from the installed files.
install(EXPORT colossusTargets
  NAMESPACE colossus::
  FILE colossusTargets.cmake
  DESTINATION ${COLOSSUS_INSTALL_CMAKEDIR}
  COMPONENT colossus_Development)

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/colossusConfig.cmake.in
  ${PROJECT_BINARY_DIR}/colossusConfig.cmake
  INSTALL_DESTINATION ${COLOSSUS_INSTALL_CMAKEDIR})
# find_package(colossus 1.2) accepts any installed 1.y with y >= 2, never 2.x.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/colossusConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/colossusConfig.cmake
  ${PROJECT_BINARY_DIR}/colossusConfigVersion.cmake
  DESTINATION ${COLOSSUS_INSTALL_CMAKEDIR}
  COMPONENT colossus_Development)

# pkg-config file. It is written at install time, not configure time, so its
# paths name the prefix actually installed to (`cmake --install --prefix X`
# differs from CMAKE_INSTALL_PREFIX). Absolute paths rather than ${pcfiledir}
# tricks: pkg-config only drops -I/usr/include when it sees that exact path,
# and a stray -I/usr/include breaks libstdc++'s #include_next. Directories
# relative to the prefix are written as ${prefix}/..., as pkg-config expects.
foreach(_kind LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_kind}}")
    set(_pc_${_kind} "${CMAKE_INSTALL_${_kind}}")
  else()
    set(_pc_${_kind} "\${prefix}/${CMAKE_INSTALL_${_kind}}")
  endif()
endforeach()
set(_pc_out ${PROJECT_BINARY_DIR}/colossus.pc)
# Bracket arguments keep the literal ${prefix} away from the install script's expansion.
install(CODE "
  set(PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(PC_LIBDIR [==[${_pc_LIBDIR}]==])
  set(PC_INCLUDEDIR [==[${_pc_INCLUDEDIR}]==])
  set(PROJECT_DESCRIPTION [==[${PROJECT_DESCRIPTION}]==])
  set(PROJECT_VERSION ${PROJECT_VERSION})
  configure_file([==[${PROJECT_SOURCE_DIR}/cmake/colossus.pc.in]==] [==[${_pc_out}]==] @ONLY)
" COMPONENT colossus_Development)
install(FILES ${_pc_out}
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
  COMPONENT colossus_Development)
