# Run at install time (packaging/cpack.cmake), as dh_strip does:
#   -DMODE=strip -DFILE=<installed binary>: strip it (symbols, .comment, .note);
#   -DMODE=debug -DFILE=<built binary> -DROOT=<installed prefix>: its debug
#     info at ROOT/lib/debug/.build-id/xx/yyyy.debug, where gdb
#     looks it up by the build ID both copies share.
execute_process(COMMAND readelf -n ${FILE} OUTPUT_VARIABLE notes COMMAND_ERROR_IS_FATAL ANY)
if(NOT notes MATCHES "Build ID: ([0-9a-f][0-9a-f])([0-9a-f]+)")
  message(FATAL_ERROR "${FILE} has no build ID: link with --build-id (gcc's default)")
endif()
if(MODE STREQUAL "strip")
  execute_process(COMMAND objcopy --strip-unneeded --remove-section=.comment --remove-section=.note
                          ${FILE} COMMAND_ERROR_IS_FATAL ANY)
elseif(MODE STREQUAL "debug")
  set(out ${ROOT}/lib/debug/.build-id/${CMAKE_MATCH_1}/${CMAKE_MATCH_2}.debug)
  get_filename_component(dir ${out} DIRECTORY)
  file(MAKE_DIRECTORY ${dir})
  execute_process(COMMAND objcopy --only-keep-debug ${FILE} ${out}
                  COMMAND_ERROR_IS_FATAL ANY)
  file(CHMOD ${out} PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
else()
  message(FATAL_ERROR "MODE must be strip or debug")
endif()
