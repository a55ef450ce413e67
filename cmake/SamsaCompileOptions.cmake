# Warnings and sanitizer flags applied to every Samsa target through the
# samsa_options interface library (generated protobuf code is built without
# -Werror: its warnings are not ours to fix).
add_library(samsa_options INTERFACE)
target_compile_options(samsa_options INTERFACE -Wall -Wextra -Werror)
target_include_directories(samsa_options INTERFACE ${PROJECT_SOURCE_DIR})
# Clang checks the lock annotations (ABSL_GUARDED_BY and the rest); g++
# ignores them, so the g++ build is checked by scripts/check_thread_safety.py.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  target_compile_options(samsa_options INTERFACE -Wthread-safety)
endif()

if(SAMSA_ASAN AND SAMSA_TSAN)
  message(FATAL_ERROR "SAMSA_ASAN and SAMSA_TSAN cannot be combined")
endif()

if(SAMSA_ASAN)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

if(SAMSA_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  # DT_RPATH rather than DT_RUNPATH: it also applies to the libraries'
  # own dependencies, so gRPC loads the instrumented Abseil too.
  add_link_options(-fsanitize=thread -Wl,--disable-new-dtags)
endif()

if(SAMSA_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "SAMSA_FUZZ needs clang (scripts/fuzz.sh sets it up)")
  endif()
  # Every library is built with coverage instrumentation; only the fuzz
  # targets link libFuzzer's main.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
