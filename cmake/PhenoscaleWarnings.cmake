# Compiler warnings and the sanitizer preset (PHENOSCALE_SANITIZE=address,undefined).
add_library(phenoscale_warnings INTERFACE)
target_compile_options(phenoscale_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wno-unused-parameter>)
if(PHENOSCALE_SANITIZE)
  target_compile_options(phenoscale_warnings INTERFACE -fsanitize=${PHENOSCALE_SANITIZE} -fno-omit-frame-pointer)
  target_link_options(phenoscale_warnings INTERFACE -fsanitize=${PHENOSCALE_SANITIZE})
endif()
