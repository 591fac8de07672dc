# Warnings, sanitizers and hardening travel as INTERFACE targets linked into every target.
add_library(imprint_warnings INTERFACE)
target_compile_options(imprint_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wconversion -Wsign-conversion -Wold-style-cast
  -Wnon-virtual-dtor -Woverloaded-virtual -Wnull-dereference
  $<$<BOOL:${IMPRINT_WARNINGS_AS_ERRORS}>:-Werror>)

add_library(imprint_hardening INTERFACE)
target_compile_options(imprint_hardening INTERFACE
  -fstack-protector-strong $<$<NOT:$<CONFIG:Debug>>:-D_FORTIFY_SOURCE=2>)
target_link_options(imprint_hardening INTERFACE -Wl,-z,relro -Wl,-z,now)

add_library(imprint_sanitizers INTERFACE)
if(IMPRINT_SANITIZERS)
  target_compile_options(imprint_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(imprint_sanitizers INTERFACE -fsanitize=address,undefined)
endif()

# libFuzzer: coverage for the library, the fuzzer's main for the targets (tests/fuzz).
if(IMPRINT_FUZZ)
  # Clang 16 implements what libstdc++ 12's <expected> needs (P0848) but still announces
  # __cpp_concepts 201907, which hides std::expected; announce what it does.
  target_compile_options(imprint_sanitizers INTERFACE -U__cpp_concepts -D__cpp_concepts=202002L)
  target_compile_options(imprint_sanitizers INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(imprint_sanitizers INTERFACE -fsanitize=address,undefined)
endif()

add_library(imprint_project_flags INTERFACE)
target_link_libraries(imprint_project_flags INTERFACE
  imprint_warnings imprint_hardening imprint_sanitizers)
target_compile_definitions(imprint_project_flags INTERFACE
  QT_NO_CAST_FROM_ASCII QT_NO_CAST_TO_ASCII QT_NO_NARROWING_CONVERSIONS_IN_CONNECT
  QT_NO_CONTEXTLESS_CONNECT OPENSSL_API_COMPAT=30000)
