# Every build option of the project, in one place.
option(IMPRINT_BUILD_TESTS "Build the test suite" ON)
option(IMPRINT_WARNINGS_AS_ERRORS "Treat compiler warnings as errors (CI)" OFF)
option(IMPRINT_SANITIZERS "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(IMPRINT_FUZZ "Build only core and the libFuzzer targets (needs clang)" OFF)

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${CCACHE_PROGRAM}")
  set(CMAKE_C_COMPILER_LAUNCHER "${CCACHE_PROGRAM}")
endif()
