# TDXCTL_VERSION: what `tdxctl --version` prints, the upstream part of the
# package version and the version image manifests record. From git:
#   - on the tag v<project version>:        0.1.0
#   - N commits after that tag:             0.1.0+git<N>.g<commit>
#   - no such tag yet (0.1.0 unreleased):   0.1.0~git<commits>.g<commit>
# so dpkg orders snapshots before the release they lead to and after the one
# they follow. Outside git (a source tarball) it is the project version.
# TDXCTL_COMMIT_DATE: the commit's date in RFC 5322 form, for the changelog
# (reproducible: no build time). The build tree reconfigures when HEAD moves.
set(TDXCTL_VERSION "${PROJECT_VERSION}")
string(TIMESTAMP TDXCTL_COMMIT_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(TDXCTL_COMMIT "")

find_package(Git QUIET)
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --short=12 HEAD
                  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR} RESULT_VARIABLE _rc
                  OUTPUT_VARIABLE _commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
endif()
if(GIT_FOUND AND _rc EQUAL 0)
  set(TDXCTL_COMMIT "${_commit}")
  execute_process(COMMAND ${GIT_EXECUTABLE} describe --tags --long --match "v${PROJECT_VERSION}"
                  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR} RESULT_VARIABLE _rc
                  OUTPUT_VARIABLE _describe OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(_rc EQUAL 0 AND _describe MATCHES "-([0-9]+)-g[0-9a-f]+$")
    if(NOT CMAKE_MATCH_1 EQUAL 0)
      set(TDXCTL_VERSION "${PROJECT_VERSION}+git${CMAKE_MATCH_1}.g${_commit}")
    endif()
  else()
    execute_process(COMMAND ${GIT_EXECUTABLE} rev-list --count HEAD
                    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
                    OUTPUT_VARIABLE _count OUTPUT_STRIP_TRAILING_WHITESPACE)
    set(TDXCTL_VERSION "${PROJECT_VERSION}~git${_count}.g${_commit}")
  endif()
  # C locale and UTC: the changelog's date must be in English and RFC 5322.
  execute_process(COMMAND ${CMAKE_COMMAND} -E env LC_ALL=C TZ=UTC
                          ${GIT_EXECUTABLE} log -1 "--date=format-local:%a, %d %b %Y %H:%M:%S +0000"
                          --format=%cd
                  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
                  OUTPUT_VARIABLE TDXCTL_COMMIT_DATE OUTPUT_STRIP_TRAILING_WHITESPACE)
  # A new commit or checkout rewrites the reflog of HEAD (per worktree):
  # reconfigure then, so --version never names a stale commit.
  foreach(_ref HEAD logs/HEAD)
    execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --path-format=absolute --git-path ${_ref}
                    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
                    OUTPUT_VARIABLE _path OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(EXISTS "${_path}")
      set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_path}")
    endif()
  endforeach()
endif()
message(STATUS "tdxctl version ${TDXCTL_VERSION}")
