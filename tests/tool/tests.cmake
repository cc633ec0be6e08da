# Tests of the crowd command-line tool (tools/crowd), included from
# tests/CMakeLists.txt in builds without a sanitizer.  Python scripts run
# with CROWD_TEST_PYTHON (Debian's /usr/bin/python3); the library under test
# reaches the tool through CROWD_LIB.  Exit 77 = skipped (matplotlib or a
# program missing).  See README.md in this directory.
set(CROWD_TOOL_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})

function(crowd_tool_test name script)
  add_test(NAME tool.${name}
    COMMAND ${CMAKE_COMMAND} -E env CROWD_LIB=$<TARGET_FILE:crowd> PYTHONDONTWRITEBYTECODE=1
            ${CROWD_TEST_PYTHON} ${CROWD_TOOL_TEST_DIR}/${script} ${ARGN})
  set_tests_properties(tool.${name} PROPERTIES TIMEOUT 60 SKIP_RETURN_CODE 77 LABELS tool)
endfunction()

crowd_tool_test(run test_run.py ${CROWD_TEST_PYTHON})
crowd_tool_test(map test_map.py ${CROWD_TEST_PYTHON})
crowd_tool_test(errors test_errors.py)
crowd_tool_test(install test_install.py ${CMAKE_COMMAND} ${CMAKE_BINARY_DIR})
crowd_tool_test(stats_json test_stats_json.py ${CROWD_TEST_PYTHON})
crowd_tool_test(options test_options.py ${CROWD_TEST_PYTHON})
