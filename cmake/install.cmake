# `cmake --install build --prefix P`: the binary, the public headers, the engine library with its
# CMake package (find_package(gemma4) -> gemma4::gemma4), bash completions, the systemd example and
# the license. `cpack` (run in the build folder) packs the same as a .deb and a .tar.gz.
include(CMakePackageConfigHelpers)

set(GEMMA4_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/gemma4)

# The CLI exists only with GEMMA4_NETWORK (a cross build of the engine alone has none).
if(TARGET gemma4)
  install(TARGETS gemma4 RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# Installed as libgemma4.a, imported as gemma4::gemma4; its headers need C++20 (designated
# initializers, std::span), which the target passes on to its users.
set_target_properties(gemma4_lib PROPERTIES EXPORT_NAME gemma4 OUTPUT_NAME gemma4)
target_compile_features(gemma4_lib PUBLIC cxx_std_20)
install(TARGETS gemma4_lib EXPORT gemma4Targets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/gemma4 DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
install(FILES ${PROJECT_BINARY_DIR}/include/gemma4/version.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/gemma4)
install(EXPORT gemma4Targets NAMESPACE gemma4:: DESTINATION ${GEMMA4_CMAKE_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/gemma4Config.cmake.in
  ${PROJECT_BINARY_DIR}/gemma4Config.cmake INSTALL_DESTINATION ${GEMMA4_CMAKE_DIR})
# 0.x: a minor version may break the API, so only the same minor version is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/gemma4ConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/gemma4Config.cmake ${PROJECT_BINARY_DIR}/gemma4ConfigVersion.cmake
        DESTINATION ${GEMMA4_CMAKE_DIR})

install(FILES ${PROJECT_SOURCE_DIR}/deploy/completions/gemma4.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME gemma4)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/gemma4.service
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/CHANGELOG.md
              ${PROJECT_SOURCE_DIR}/docs/licenses.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Packages: `cd build && cpack` writes gemma4-VERSION-Linux-ARCH.tar.gz and gemma4_VERSION_ARCH.deb.
set(CPACK_GENERATOR "DEB;TGZ")
set(CPACK_PACKAGE_NAME gemma4)
set(CPACK_PACKAGE_VENDOR "gemma4")
set(CPACK_PACKAGE_CONTACT "gemma4 developers <dev@gemma4.local>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Inference engine and OpenAI-compatible server for Gemma 4 E2B")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_SOURCE_DIR}/cmake/cpack_options.cmake)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
# The runtime libraries (libcurl, libcrypto, cpp-httplib) become Depends: via dpkg-shlibdeps.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "nginx")
# The packages hold only what `cmake --install` installs for the engine (no test or bench targets).
set(CPACK_INSTALL_CMAKE_PROJECTS "${PROJECT_BINARY_DIR};gemma4;ALL;/")
set(CPACK_OUTPUT_FILE_PREFIX ${PROJECT_BINARY_DIR}/packages)
include(CPack)
