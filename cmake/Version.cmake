# Runs as a script at every build (see src/core/CMakeLists.txt): writes OUTPUT from INPUT with
# the version and the commit the build comes from, touching it only when they changed.
#   -DSOURCE_DIR=... -DINPUT=... -DOUTPUT=... -DVERSION=... [-DCOMMIT=...]
# COMMIT (LBMIRROR_COMMIT at configure time) wins: a build from a source tree without .git, such
# as a container's or a package's, is told its commit. Otherwise git says it, with "-dirty" when
# tracked files differ from it, and "unknown" without git.
if(NOT COMMIT)
  execute_process(COMMAND git -C "${SOURCE_DIR}" rev-parse --short=12 HEAD
                  OUTPUT_VARIABLE COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE failed ERROR_QUIET)
  if(failed)
    set(COMMIT "unknown")
  else()
    execute_process(COMMAND git -C "${SOURCE_DIR}" status --porcelain --untracked-files=no
                    OUTPUT_VARIABLE changes ERROR_QUIET)
    if(changes)
      string(APPEND COMMIT "-dirty")
    endif()
  endif()
endif()
if(COMMIT MATCHES "^[0-9a-f]+$")
  string(SUBSTRING "${COMMIT}" 0 12 COMMIT)  # a full hash is shortened as git would
endif()
configure_file("${INPUT}" "${OUTPUT}" @ONLY)
