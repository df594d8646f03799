# Compiler warnings and the sanitizer preset (PHENOSCALE_SANITIZE=address,undefined).
add_library(phenoscale_warnings INTERFACE)
target_compile_options(phenoscale_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wno-unused-parameter>)
# A sanitizer build also checks the standard library's preconditions
# (_GLIBCXX_ASSERTIONS: vector/array/string operator[] in bounds, front() of a
# non-empty container...), which ASan misses inside a vector's capacity.
if(PHENOSCALE_SANITIZE)
  target_compile_options(phenoscale_warnings INTERFACE -fsanitize=${PHENOSCALE_SANITIZE} -fno-omit-frame-pointer
                         -D_GLIBCXX_ASSERTIONS)
  target_link_options(phenoscale_warnings INTERFACE -fsanitize=${PHENOSCALE_SANITIZE})
endif()
