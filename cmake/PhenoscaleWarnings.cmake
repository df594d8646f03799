# Compiler warnings and the sanitizer preset (PHENOSCALE_SANITIZE=address,undefined).
add_library(phenoscale_warnings INTERFACE)
target_compile_options(phenoscale_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wno-unused-parameter>)
# A sanitizer build also checks the standard library's preconditions
# (_GLIBCXX_ASSERTIONS: vector/array/string operator[] in bounds, front() of a
# non-empty container...), which ASan misses inside a vector's capacity.
# A Debug sanitizer build compiles at -O1, the level the ASan documentation
# recommends: at -O0 the Eigen-heavy tomo alignment ran 18x slower than the
# optimised build, past the tests' time limits.
if(PHENOSCALE_SANITIZE)
  target_compile_options(phenoscale_warnings INTERFACE -fsanitize=${PHENOSCALE_SANITIZE} -fno-omit-frame-pointer
                         -D_GLIBCXX_ASSERTIONS $<$<CONFIG:Debug>:-O1>)
  target_link_options(phenoscale_warnings INTERFACE -fsanitize=${PHENOSCALE_SANITIZE})
endif()
