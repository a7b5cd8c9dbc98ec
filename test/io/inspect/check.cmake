# Runs lmnet_inspect and checks its exit status and its output: each line of the file EXPECTED,
# and LINE, must appear in the output as a whole line.
#
#   cmake -DINSPECT=<lmnet_inspect> -DWEIGHTS=<file.safetensors> [-DPRESET=<name>] -DEXIT=<status>
#         [-DEXPECTED=<file>] [-DLINE=<text>] -P check.cmake
execute_process(COMMAND ${INSPECT} ${WEIGHTS} ${PRESET}
                RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE errors)
if(NOT status STREQUAL EXIT)
  message(FATAL_ERROR "lmnet_inspect exited with ${status}, expected ${EXIT}\n${output}${errors}")
endif()
set(lines)
if(DEFINED EXPECTED)
  file(STRINGS ${EXPECTED} lines)
endif()
if(DEFINED LINE)
  list(APPEND lines "${LINE}")
endif()
if(NOT lines)
  message(FATAL_ERROR "nothing to check: give EXPECTED or LINE")
endif()
foreach(line IN LISTS lines)
  string(FIND "\n${output}" "\n${line}\n" at)
  if(at EQUAL -1)
    message("${output}")
    message(FATAL_ERROR "lmnet_inspect's output (above) lacks the line\n${line}")
  endif()
endforeach()
