# Flags for lmnet's own tests, examples and benchmarks. The library target carries none of these:
# users choose their own architecture flags.
set(LMNET_ARCH_FLAGS "-march=native" CACHE STRING "Architecture flags of tests, examples and benchmarks")
option(LMNET_SANITIZE "Build tests and examples with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(LMNET_WERROR "Treat warnings as errors in lmnet's own targets" OFF)

function(lmnet_target_options target)
  target_link_libraries(${target} PRIVATE lmnet::lmnet)
  separate_arguments(_arch UNIX_COMMAND "${LMNET_ARCH_FLAGS}")
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion ${_arch}>)
  if(LMNET_WERROR)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
  endif()
  if(LMNET_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-sanitize-recover=all
                                             -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()
