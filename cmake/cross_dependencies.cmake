# Third-party pieces of a cross build (CMAKE_CROSSCOMPILING, e.g. cmake/aarch64-linux-gnu.cmake),
# taken without installing any foreign-architecture package:
# - nlohmann-json and CLI11: header-only; the build machine's headers are exposed through a folder
#   of their own (not all of /usr/include, whose glibc headers are the build machine's).
# - GoogleTest: compiled for the target from the source Debian ships in /usr/src/googletest.
# - libcurl, OpenSSL and cpp-httplib (the hub, the server and so the gemma4 CLI): Debian's arm64
#   builds unpacked into GEMMA4_CROSS_SYSROOT by scripts/arm64_sysroot.sh. Installing their arm64
#   -dev packages instead would, through multiarch's same-version rule, move the build machine's
#   own libssl/libcurl. Without that folder the network pieces are left out (GEMMA4_NETWORK=OFF);
#   everything below them (kernels, model, KV, sampling, engine) and their tests are built.
set(GEMMA4_CROSS_SYSROOT "" CACHE PATH "Target libraries unpacked by scripts/arm64_sysroot.sh")
if(GEMMA4_CROSS_SYSROOT)
  get_filename_component(gemma4_sysroot ${GEMMA4_CROSS_SYSROOT} ABSOLUTE BASE_DIR ${PROJECT_SOURCE_DIR})
  if(NOT EXISTS ${gemma4_sysroot}/usr/include/httplib.h)
    message(FATAL_ERROR "GEMMA4_CROSS_SYSROOT=${gemma4_sysroot} holds no cpp-httplib: run scripts/arm64_sysroot.sh")
  endif()
  set(gemma4_sysroot_lib ${gemma4_sysroot}/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE})
  list(APPEND CMAKE_FIND_ROOT_PATH ${gemma4_sysroot})
  # pkg-config (cpp-httplib, libcurl) reads only the target's .pc files and prefixes their paths.
  set(ENV{PKG_CONFIG_LIBDIR} ${gemma4_sysroot_lib}/pkgconfig)
  set(ENV{PKG_CONFIG_SYSROOT_DIR} ${gemma4_sysroot})
  # OpenSSL's and libcurl's per-architecture headers; the libraries those load, found at link time.
  include_directories(SYSTEM ${gemma4_sysroot}/usr/include/${CMAKE_LIBRARY_ARCHITECTURE})
  add_link_options(-Wl,-rpath-link,${gemma4_sysroot_lib})
  # ... and at run time under qemu (the C library is the cross compiler's).
  set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /usr/${CMAKE_LIBRARY_ARCHITECTURE}
      -E LD_LIBRARY_PATH=${gemma4_sysroot_lib})
  set(GEMMA4_NETWORK ON)
else()
  set(GEMMA4_NETWORK OFF)
endif()

set(gemma4_host_headers ${CMAKE_BINARY_DIR}/host-headers)
file(MAKE_DIRECTORY ${gemma4_host_headers})
if(NOT EXISTS ${gemma4_host_headers}/nlohmann)
  file(CREATE_LINK /usr/include/nlohmann ${gemma4_host_headers}/nlohmann SYMBOLIC)
endif()
# xxhash: header-only here (XXH_INLINE_ALL), for the model file's checksums.
if(NOT EXISTS ${gemma4_host_headers}/xxhash.h)
  file(CREATE_LINK /usr/include/xxhash.h ${gemma4_host_headers}/xxhash.h SYMBOLIC)
endif()
if(NOT EXISTS ${gemma4_host_headers}/CLI)
  file(CREATE_LINK /usr/include/CLI ${gemma4_host_headers}/CLI SYMBOLIC)
endif()
add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
set_target_properties(nlohmann_json::nlohmann_json PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${gemma4_host_headers})
add_library(CLI11::CLI11 INTERFACE IMPORTED)
set_target_properties(CLI11::CLI11 PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${gemma4_host_headers})

if(GEMMA4_BUILD_TESTS)
  set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
  add_subdirectory(/usr/src/googletest ${CMAKE_BINARY_DIR}/googletest EXCLUDE_FROM_ALL SYSTEM)
  # (it defines GTest::gtest_main and GTest::gmock itself)
endif()

# Google Benchmark has no source package: the micro-benchmarks are built natively only.
set(GEMMA4_BUILD_BENCH OFF CACHE BOOL "" FORCE)
