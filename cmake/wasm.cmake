# Flags of the WebAssembly build (emscripten): wasm32, SIMD128, pthreads, a heap that grows to 4 GB.
if(NOT EMSCRIPTEN)
  message(FATAL_ERROR "GEMMA4_TARGET_WASM needs the emscripten toolchain: emcmake cmake -S . -B build-wasm")
endif()

add_compile_options(-Wall -Wextra -msimd128 -pthread)
add_link_options(-pthread -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=4GB -sINITIAL_MEMORY=64MB
                 -sPTHREAD_POOL_SIZE=4 -sEXIT_RUNTIME=1 -sALLOW_BLOCKING_ON_MAIN_THREAD=1
                 -sDISABLE_EXCEPTION_CATCHING=0)
add_compile_options(-sDISABLE_EXCEPTION_CATCHING=0)

# nlohmann/json is header-only: its Debian headers are used through a folder that holds only them
# (adding /usr/include itself would mix glibc headers into emscripten's sysroot).
set(GEMMA4_WASM_JSON_INCLUDE ${CMAKE_BINARY_DIR}/wasm-include)
file(MAKE_DIRECTORY ${GEMMA4_WASM_JSON_INCLUDE})
if(NOT EXISTS ${GEMMA4_WASM_JSON_INCLUDE}/nlohmann)
  file(CREATE_LINK /usr/include/nlohmann ${GEMMA4_WASM_JSON_INCLUDE}/nlohmann SYMBOLIC)
endif()
# xxhash (the model file's checksums) is used header-only (XXH_INLINE_ALL), through the same folder.
if(NOT EXISTS ${GEMMA4_WASM_JSON_INCLUDE}/xxhash.h)
  file(CREATE_LINK /usr/include/xxhash.h ${GEMMA4_WASM_JSON_INCLUDE}/xxhash.h SYMBOLIC)
endif()
add_library(nlohmann_json INTERFACE)
target_include_directories(nlohmann_json SYSTEM INTERFACE ${GEMMA4_WASM_JSON_INCLUDE})
add_library(nlohmann_json::nlohmann_json ALIAS nlohmann_json)
add_library(Threads::Threads INTERFACE IMPORTED)
