# The version (from project()) goes into a public header; the git commit goes only into the one CLI
# source that prints it, so a new commit recompiles one file, not the library.
configure_file(${PROJECT_SOURCE_DIR}/include/gemma4/version.h.in
               ${PROJECT_BINARY_DIR}/include/gemma4/version.h @ONLY)

set(GEMMA4_GIT_COMMIT "unknown")
find_package(Git QUIET)
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --short=12 HEAD
                  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} OUTPUT_VARIABLE _commit
                  RESULT_VARIABLE _rc OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(_rc EQUAL 0 AND _commit)
    set(GEMMA4_GIT_COMMIT "${_commit}")
    # Re-run configure when HEAD moves (commit, checkout), so the printed commit stays true.
    execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --absolute-git-dir
                    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} OUTPUT_VARIABLE _git_dir
                    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    foreach(_f HEAD logs/HEAD)
      if(EXISTS "${_git_dir}/${_f}")
        set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_git_dir}/${_f}")
      endif()
    endforeach()
  endif()
endif()
