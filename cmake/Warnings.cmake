# Warning and sanitizer flags for lbmirror's own targets only (third-party headers are SYSTEM).
# Warnings are errors with LBMIRROR_WERROR (on in CMakePresets.json and the test command); a
# plain build, such as a packager's with a newer compiler, only shows them.
add_library(lbmirror_warnings INTERFACE)
target_compile_options(lbmirror_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
  -Wimplicit-fallthrough $<$<BOOL:${LBMIRROR_WERROR}>:-Werror>)

add_library(lbmirror_sanitizers INTERFACE)
if(LBMIRROR_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "LBMIRROR_FUZZ needs clang (libFuzzer): use the fuzz preset")
  endif()
  target_compile_options(lbmirror_sanitizers INTERFACE -fsanitize=fuzzer-no-link,address,undefined
    -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(lbmirror_sanitizers INTERFACE -fsanitize=address,undefined)
elseif(LBMIRROR_TSAN)
  # -Wno-tsan: Asio's headers use atomic_thread_fence, which TSan does not model.
  target_compile_options(lbmirror_sanitizers INTERFACE -fsanitize=thread -fno-omit-frame-pointer
    -Wno-tsan)
  target_link_options(lbmirror_sanitizers INTERFACE -fsanitize=thread)
elseif(LBMIRROR_SANITIZE)
  target_compile_options(lbmirror_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(lbmirror_sanitizers INTERFACE -fsanitize=address,undefined)
endif()

# lbmirror_add_library(NAME SOURCES... ) - one static library per layer.
function(lbmirror_add_library name)
  add_library(${name} STATIC ${ARGN})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PRIVATE lbmirror_warnings PUBLIC lbmirror_sanitizers)
endfunction()
