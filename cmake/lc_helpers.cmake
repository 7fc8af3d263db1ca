# Helpers shared by the sub-builds: providers, programs, tests.

# lc_add_provider(NAME SOURCES a.c b.c [LIBS lib...] [INCLUDES dir...])
# Adds a provider's sources to the library and defines LC_HAVE_PROV_<NAME>
# so the provider registry lists it.
function(lc_add_provider name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBS;INCLUDES" ${ARGN})
  list(TRANSFORM P_SOURCES PREPEND ${CMAKE_CURRENT_SOURCE_DIR}/)
  target_sources(lioncub_obj PRIVATE ${P_SOURCES})
  lc_simd_flags(lioncub_obj "${P_SOURCES}")
  if(P_LIBS)
    target_link_libraries(lioncub_obj PUBLIC ${P_LIBS})
  endif()
  if(P_INCLUDES)
    target_include_directories(lioncub_obj PRIVATE ${P_INCLUDES})
  endif()
  string(TOUPPER ${name} up)
  target_compile_definitions(lioncub_obj PRIVATE LC_HAVE_PROV_${up}=1)
  set_property(GLOBAL APPEND PROPERTY LC_PROVIDERS ${name})
  message(STATUS "lioncub: provider ${name} enabled")
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
