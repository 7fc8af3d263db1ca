# Installation: the shared library, headers, a pkg-config file and a CMake
# package (find_package(lioncub) gives the target lioncub::lioncub).
include(CMakePackageConfigHelpers)

install(TARGETS lioncub EXPORT lioncubTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/lioncub DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# The .pc file finds its prefix relative to itself, so the tree can be moved.
file(RELATIVE_PATH LC_PC_TO_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
configure_file(cmake/lioncub.pc.in ${PROJECT_BINARY_DIR}/lioncub.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/lioncub.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

set(LC_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/lioncub)
install(EXPORT lioncubTargets NAMESPACE lioncub:: DESTINATION ${LC_CMAKE_DIR})
configure_package_config_file(cmake/lioncubConfig.cmake.in
  ${PROJECT_BINARY_DIR}/lioncubConfig.cmake INSTALL_DESTINATION ${LC_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/lioncubConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/lioncubConfig.cmake
  ${PROJECT_BINARY_DIR}/lioncubConfigVersion.cmake DESTINATION ${LC_CMAKE_DIR})
