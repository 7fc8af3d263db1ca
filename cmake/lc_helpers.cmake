# Helpers shared by the sub-builds: providers, programs, tests.

# lc_add_provider(NAME SOURCES a.c b.c)
# A provider built into the library (tcp): its sources join the library and
# LC_HAVE_PROV_<NAME> makes the registry list it.
function(lc_add_provider name)
  cmake_parse_arguments(P "" "" "SOURCES" ${ARGN})
  list(TRANSFORM P_SOURCES PREPEND ${CMAKE_CURRENT_SOURCE_DIR}/)
  target_sources(lioncub_obj PRIVATE ${P_SOURCES})
  lc_simd_flags(lioncub_obj "${P_SOURCES}")
  string(TOUPPER ${name} up)
  target_compile_definitions(lioncub_obj PRIVATE LC_HAVE_PROV_${up}=1)
  set_property(GLOBAL APPEND PROPERTY LC_PROVIDERS ${name})
  message(STATUS "lioncub: provider ${name} built in")
endfunction()

# lc_add_provider_module(NAME SOURCES a.c ... ENTRY entry.c [LIBS lib...] [INCLUDES dir...])
# A provider built as a loadable module, build/lib/lioncub/liblioncub-NAME.so
# (installed in LIBDIR/lioncub): its sources form the object library
# lc_prov_NAME (tests of its internals link it with lioncub_static); ENTRY is
# the one file that includes provider_module.h, linked into the module only.
# The module links its dependencies, never liblioncub, and exports only its
# entry point (cmake/lc_module.map).
function(lc_add_provider_module name)
  cmake_parse_arguments(P "" "ENTRY" "SOURCES;LIBS;INCLUDES" ${ARGN})
  set(obj lc_prov_${name})
  add_library(${obj} OBJECT ${P_SOURCES})
  target_include_directories(${obj} PUBLIC ${PROJECT_SOURCE_DIR}/include ${P_INCLUDES})
  target_compile_options(${obj} PRIVATE -fvisibility=hidden)
  target_compile_definitions(${obj} PRIVATE _GNU_SOURCE)
  target_link_libraries(${obj} PUBLIC Threads::Threads ${P_LIBS})
  lc_simd_flags(${obj} "${P_SOURCES}")
  add_library(lioncub-${name} MODULE ${P_ENTRY})
  target_link_libraries(lioncub-${name} PRIVATE ${obj})
  target_compile_options(lioncub-${name} PRIVATE -fvisibility=hidden)
  set_target_properties(lioncub-${name} PROPERTIES PREFIX "lib"
    LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/lib/lioncub
    LINK_DEPENDS ${PROJECT_SOURCE_DIR}/cmake/lc_module.map)
  target_link_options(lioncub-${name} PRIVATE
    -Wl,--version-script=${PROJECT_SOURCE_DIR}/cmake/lc_module.map -Wl,--no-undefined)
  install(TARGETS lioncub-${name} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/lioncub)
  set_property(GLOBAL APPEND PROPERTY LC_PROVIDERS ${name})
  set_property(GLOBAL APPEND PROPERTY LC_MODULES lioncub-${name})
  message(STATUS "lioncub: provider ${name} as a module")
endfunction()

# lc_add_program(NAME SOURCES a.c ... [LIBS ...]) - a tool, bench or example,
# linked against the static library so it may use internal helpers.
function(lc_add_program name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${P_SOURCES})
  target_link_libraries(${name} PRIVATE lioncub_static ${P_LIBS})
  target_compile_definitions(${name} PRIVATE _GNU_SOURCE)
endfunction()

# lc_add_test(NAME SOURCES a.c ... [LIBS ...] [ARGS ...] [LABELS ...] [TIMEOUT s])
# A cmocka (or plain) test binary in build/tests, registered with ctest.
# Exit code 77 means skipped.
function(lc_add_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;ARGS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE lioncub_static ${LC_CMOCKA_LIBRARIES} ${T_LIBS})
  target_include_directories(${name} PRIVATE ${LC_CMOCKA_INCLUDE_DIRS} ${PROJECT_SOURCE_DIR}/tests)
  target_compile_definitions(${name} PRIVATE _GNU_SOURCE)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
  add_test(NAME ${name} COMMAND ${name} ${T_ARGS})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT ${T_TIMEOUT}
    LABELS "${T_LABELS}" ENVIRONMENT "LC_BIN=${PROJECT_BINARY_DIR}/bin")
endfunction()
