# Third-party pieces of a cross build (CMAKE_CROSSCOMPILING, e.g. cmake/aarch64-linux-gnu.cmake),
# taken from the build machine's Debian packages without any foreign-architecture package:
# - nlohmann-json: header-only; its headers are exposed through a folder of their own (not all of
#   /usr/include, whose glibc headers are the build machine's).
# - GoogleTest: compiled for the target from the source Debian ships in /usr/src/googletest.
# The hub (libcurl, OpenSSL), the server (cpp-httplib) and so the gemma4 CLI are left out
# (GEMMA4_NETWORK=OFF): their arm64 -dev packages would, through Debian's multiarch version lock,
# upgrade the build machine's own libssl/libcurl. Everything below them (kernels, model, KV,
# sampling, engine) and their tests are built.
set(GEMMA4_NETWORK OFF CACHE BOOL "Build the hub, the server and the gemma4 CLI" FORCE)

set(gemma4_host_headers ${CMAKE_BINARY_DIR}/host-headers)
file(MAKE_DIRECTORY ${gemma4_host_headers})
if(NOT EXISTS ${gemma4_host_headers}/nlohmann)
  file(CREATE_LINK /usr/include/nlohmann ${gemma4_host_headers}/nlohmann SYMBOLIC)
endif()
add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
set_target_properties(nlohmann_json::nlohmann_json PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${gemma4_host_headers})

if(GEMMA4_BUILD_TESTS)
  set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
  add_subdirectory(/usr/src/googletest ${CMAKE_BINARY_DIR}/googletest EXCLUDE_FROM_ALL SYSTEM)
  # (it defines GTest::gtest_main and GTest::gmock itself)
endif()

# Google Benchmark has no source package: the micro-benchmarks are built natively only.
set(GEMMA4_BUILD_BENCH OFF CACHE BOOL "" FORCE)
