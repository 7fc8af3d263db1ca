# Installation: the shared library, headers, a pkg-config file, a CMake
# package (find_package(lioncub) gives the target lioncub::lioncub), the tools
# and their man pages.
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

# The tools, and the man pages lc_mangen makes from one source each: a tool's
# page from its --help text, lioncub(7) from the configuration registry
# (core/param.c). `man -l build/man/man1/lc_coll.1` reads one in the build tree.
set(LC_MAN_DIR ${PROJECT_BINARY_DIR}/man)
function(lc_tool_page tool summary)
  if(NOT TARGET ${tool})
    return()
  endif()
  set(page ${LC_MAN_DIR}/man1/${tool}.1)
  add_custom_command(OUTPUT ${page}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${LC_MAN_DIR}/man1
    COMMAND lc_mangen tool $<TARGET_FILE:${tool}> ${summary} ${page}
    DEPENDS lc_mangen ${tool} VERBATIM)
  set_property(GLOBAL APPEND PROPERTY LC_MAN_PAGES ${page})
  install(TARGETS ${tool} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(FILES ${page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endfunction()
lc_tool_page(lc_info "what this lioncub build and machine offer")
lc_tool_page(lc_run "start ranks of a program on this machine, also behind an emulated Ethernet")
lc_tool_page(lc_ping "latency and bandwidth between two ranks")
lc_tool_page(lc_coll "lioncub's collectives timed and checked in nccl-tests' conventions")
lc_tool_page(lc_train "data-parallel training of a small network with the Lion Cub optimizer")

# lioncub(7) lists the parameters of the provider modules too: they are built first.
set(lc_env_page ${LC_MAN_DIR}/man7/lioncub.7)
get_property(lc_modules GLOBAL PROPERTY LC_MODULES)
add_custom_command(OUTPUT ${lc_env_page}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${LC_MAN_DIR}/man7
  COMMAND lc_mangen env ${lc_env_page}
  DEPENDS lc_mangen ${lc_modules} VERBATIM)
install(FILES ${lc_env_page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man7)
get_property(lc_pages GLOBAL PROPERTY LC_MAN_PAGES)
add_custom_target(lc_man_pages ALL DEPENDS ${lc_pages} ${lc_env_page})
