# -DLB_VALGRIND=ON: every test program runs under Valgrind's memcheck
# (scripts/test's "valgrind" configuration: build/valgrind, gcc, Debug, no
# sanitizers). Any memory error or definite/indirect leak fails.
#  - Test programs that ctest starts itself (unit, fuzz replay): through
#    lb_add_program_test, valgrind in front; its report is the test's output.
#  - Programs that the test scripts start (cli/, e2e/): the scripts get
#    LB_TEST_LINKBROKERD and LB_TEST_LINKBROKER, which are wrapper scripts that exec valgrind on the real binary, with a log per
#    process in <build>/valgrind/logs (a daemon's exit code goes unseen). Tests
#    listed in lb_valgrind_watch share a fixture: valgrind.setup empties that
#    folder first, valgrind.logs fails afterwards on any log that reports an
#    error, and prints it.
# Without LB_VALGRIND all of this is the plain $<TARGET_FILE:...>.
option(LB_VALGRIND "Run the tests' programs under valgrind memcheck" OFF)

set(LB_TEST_LINKBROKERD $<TARGET_FILE:linkbrokerd>)
set(LB_TEST_LINKBROKER $<TARGET_FILE:linkbroker>)

if(LB_VALGRIND)
  if(LB_SANITIZE OR LB_FUZZ OR WIN32)
    message(FATAL_ERROR "LB_VALGRIND is for a native build without LB_SANITIZE or LB_FUZZ")
  endif()
  # scripts/deps builds a valgrind that knows openat2 (3.21+) into
  # LB_DEPS_DIR; bookworm's 3.19 fails it with ENOSYS, and so every path
  # the daemon opens.
  find_program(LB_VALGRIND_PROGRAM valgrind HINTS ${LB_DEPS_DIR}/valgrind/bin REQUIRED)
  execute_process(COMMAND ${LB_VALGRIND_PROGRAM} --version OUTPUT_VARIABLE _lb_vg_version
    OUTPUT_STRIP_TRAILING_WHITESPACE)
  string(REGEX REPLACE "^valgrind-" "" _lb_vg_version "${_lb_vg_version}")
  if(_lb_vg_version VERSION_LESS 3.21)
    message(FATAL_ERROR "${LB_VALGRIND_PROGRAM} is ${_lb_vg_version}: 3.21 or later is needed "
      "(openat2); scripts/deps builds one in ${LB_DEPS_DIR}/valgrind")
  endif()
  find_program(LB_BASH bash REQUIRED)
  set(LB_VALGRIND_COMMAND ${LB_VALGRIND_PROGRAM} --tool=memcheck --error-exitcode=99
      --leak-check=full --show-leak-kinds=definite,indirect
      --errors-for-leak-kinds=definite,indirect --num-callers=30)
  set(_lb_vg_dir ${CMAKE_BINARY_DIR}/valgrind)
  list(JOIN LB_VALGRIND_COMMAND " " _lb_vg_cmd)
  foreach(pair linkbrokerd:LB_TEST_LINKBROKERD linkbroker:LB_TEST_LINKBROKER)
    string(REPLACE ":" ";" pair "${pair}")
    list(GET pair 0 tgt)
    list(GET pair 1 var)
    # Same base name as the real program (usage lines print argv[0]); exec
    # keeps the PID, so a script's kill/wait reaches the program itself.
    file(GENERATE OUTPUT ${_lb_vg_dir}/bin/${tgt}
      CONTENT "#!/bin/sh\nexec ${_lb_vg_cmd} --log-file=${_lb_vg_dir}/logs/${tgt}.%p.log $<TARGET_FILE:${tgt}> \"$@\"\n"
      FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                       WORLD_READ WORLD_EXECUTE)
    set(${var} ${_lb_vg_dir}/bin/${tgt})
  endforeach()
  # World-writable and sticky, for programs run as other users.
  add_test(NAME valgrind.setup COMMAND sh -c
    "rm -rf '${_lb_vg_dir}/logs' && mkdir -p '${_lb_vg_dir}/logs' && chmod 1777 '${_lb_vg_dir}/logs'")
  add_test(NAME valgrind.logs
    COMMAND ${LB_BASH} ${PROJECT_SOURCE_DIR}/tests/valgrind_logs.sh ${_lb_vg_dir}/logs)
  set_tests_properties(valgrind.setup PROPERTIES FIXTURES_SETUP lb_valgrind)
  set_tests_properties(valgrind.logs PROPERTIES FIXTURES_CLEANUP lb_valgrind SKIP_RETURN_CODE 77)
endif()

# lb_add_program_test(NAME TARGET [ARGS...]): ctest runs TARGET (under
# valgrind with LB_VALGRIND; under CMAKE_CROSSCOMPILING_EMULATOR, i.e. Wine,
# in the MinGW build).
function(lb_add_program_test name target)
  if(LB_VALGRIND)
    add_test(NAME ${name} COMMAND ${LB_VALGRIND_COMMAND} $<TARGET_FILE:${target}> ${ARGN})
  else()
    add_test(NAME ${name} COMMAND ${target} ${ARGN})
  endif()
endfunction()

# lb_valgrind_watch(TEST...): these tests' scripts start LB_TEST_* programs;
# with LB_VALGRIND, valgrind.logs judges their logs once they have run, and
# they get 10 minutes (each program start costs about a second).
function(lb_valgrind_watch)
  if(LB_VALGRIND)
    set_tests_properties(${ARGN} PROPERTIES FIXTURES_REQUIRED lb_valgrind TIMEOUT 600)
  endif()
endfunction()
