# CPack DEB: the binary, man pages, completions, templates and units.
# Library Depends are computed by dpkg-shlibdeps; tools tdxctl runs are listed.
include(GNUInstallDirs)
install(TARGETS tdxctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The guest binary is not for the host's PATH: `image build` copies it into
# images (and their initramfs) from here.
install(TARGETS tdxctl-guest RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/tdxctl)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/man/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
        FILES_MATCHING PATTERN "*.1")
install(FILES ${CMAKE_SOURCE_DIR}/completions/tdxctl.bash
        DESTINATION share/bash-completion/completions RENAME tdxctl)
install(FILES ${CMAKE_SOURCE_DIR}/completions/_tdxctl DESTINATION share/zsh/vendor-completions)
install(FILES ${CMAKE_SOURCE_DIR}/completions/tdxctl.fish
        DESTINATION share/fish/vendor_completions.d)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/templates/ DESTINATION share/tdxctl/templates)
file(GLOB TDXCTL_UNITS ${CMAKE_SOURCE_DIR}/packaging/systemd/*.service)
if(TDXCTL_UNITS)
  install(FILES ${TDXCTL_UNITS} DESTINATION lib/systemd/system)
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tdxctl)
set(CPACK_PACKAGE_CONTACT "tdxctl developers <tdxctl@localhost>")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "qemu-utils, e2fsprogs, iproute2, iptables | nftables")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libvirt-daemon-system, ovmf, pciutils")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Intel TDX host tool: images, volumes, GPUs, network, TDs, quotes")
include(CPack)
