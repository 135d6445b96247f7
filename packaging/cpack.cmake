# CPack DEB: `cd build && cpack` writes tdxctl_<version>-1_amd64.deb (the
# stripped binaries, man pages, completions, templates, the unit and the
# Debian docs) and tdxctl-dbg_<version>-1_amd64.deb (their debug info; split
# at install time by split-debug.cmake, as dh_strip does: CPack's own
# CPACK_DEBIAN_DEBUGINFO_PACKAGE writes build paths into the .ddeb's md5sums
# in CMake 3.25, which lintian rejects). Library Depends are computed by
# dpkg-shlibdeps, except those of the libraries tdxctl opens on first use;
# those and the tools tdxctl runs are listed below.
# tests/package/install-test.sh installs it into a clean Debian 12 and runs
# lintian on it.
set(CMAKE_INSTALL_DEFAULT_COMPONENT_NAME tdxctl)
include(GNUInstallDirs)
install(TARGETS tdxctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The guest binary is not for the host's PATH: `image build` copies it into
# images (and their initramfs) from here.
install(TARGETS tdxctl-guest RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/tdxctl)
# The HTTPS listener plug-in `keys serve` opens, in the private directory the
# binary's RUNPATH names; mode 0644, as dh_fixperms leaves shared objects.
install(TARGETS tdxctl-https LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/tdxctl
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
set(split_script ${CMAKE_SOURCE_DIR}/packaging/split-debug.cmake)
foreach(installed ${CMAKE_INSTALL_BINDIR}/tdxctl ${CMAKE_INSTALL_LIBEXECDIR}/tdxctl/tdxctl-guest
                  ${CMAKE_INSTALL_LIBDIR}/tdxctl/tdxctl-https.so)
  install(CODE "execute_process(COMMAND ${CMAKE_COMMAND} -DMODE=strip
                  \"-DFILE=\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${installed}\" -P ${split_script}
                  COMMAND_ERROR_IS_FATAL ANY)")
endforeach()
foreach(target tdxctl tdxctl-guest tdxctl-https)
  install(CODE "execute_process(COMMAND ${CMAKE_COMMAND} -DMODE=debug -DFILE=$<TARGET_FILE:${target}>
                  \"-DROOT=\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}\" -P ${split_script}
                  COMMAND_ERROR_IS_FATAL ANY)"
          COMPONENT dbg)
endforeach()
# The debug package's docs are the main package's (it depends on that version).
install(CODE "file(MAKE_DIRECTORY \$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DATADIR}/doc)
              file(CREATE_LINK tdxctl \$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DATADIR}/doc/tdxctl-dbg SYMBOLIC)"
        COMPONENT dbg)
install(FILES ${CMAKE_SOURCE_DIR}/completions/tdxctl.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME tdxctl)
install(FILES ${CMAKE_SOURCE_DIR}/completions/_tdxctl
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES ${CMAKE_SOURCE_DIR}/completions/tdxctl.fish
        DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)

# Templates: the ones that render to scripts (initramfs hook, premount script)
# start with #! and are installed executable, as lintian expects of a file
# with an interpreter line; the rest are data.
file(GLOB_RECURSE TDXCTL_TEMPLATES CONFIGURE_DEPENDS RELATIVE ${CMAKE_SOURCE_DIR}/templates
     ${CMAKE_SOURCE_DIR}/templates/*)
foreach(template IN LISTS TDXCTL_TEMPLATES)
  get_filename_component(subdir ${template} DIRECTORY)
  set(dest ${CMAKE_INSTALL_DATADIR}/tdxctl/templates/${subdir})
  file(READ ${CMAKE_SOURCE_DIR}/templates/${template} head LIMIT 2)
  if(head MATCHES "^#!")
    install(PROGRAMS ${CMAKE_SOURCE_DIR}/templates/${template} DESTINATION ${dest})
  else()
    install(FILES ${CMAKE_SOURCE_DIR}/templates/${template} DESTINATION ${dest})
  endif()
endforeach()

# Units go to /lib/systemd/system, Debian 12's systemdsystemunitdir (its
# lintian flags units under /usr/lib/systemd/system).
file(GLOB TDXCTL_UNITS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/packaging/systemd/*.service)
install(FILES ${TDXCTL_UNITS} DESTINATION /lib/systemd/system)

# Package metadata. The maintainer is the project, never a person; set
# TDXCTL_DEB_MAINTAINER where the package is published from elsewhere.
set(TDXCTL_DEB_MAINTAINER "tdxctl developers <maintainers@users.noreply.h-seed-86cc5788.example>"
    CACHE STRING "Maintainer field of the .deb (a project address)")
# Debian revision 1: the upstream part is TDXCTL_VERSION, what --version says.
set(TDXCTL_DEB_VERSION "${TDXCTL_VERSION}-1")
if(TDXCTL_COMMIT)
  set(TDXCTL_CHANGELOG_SOURCE "commit ${TDXCTL_COMMIT}")
else()
  set(TDXCTL_CHANGELOG_SOURCE "a source tree outside git")
endif()

# Debian docs and compressed man pages: gzip -9n (no name, no time stamp), as
# dh_compress does, built with the binaries.
set(deb_dir ${CMAKE_BINARY_DIR}/packaging/deb)
configure_file(${CMAKE_SOURCE_DIR}/packaging/debian/changelog.in ${deb_dir}/changelog.Debian @ONLY)
set(TDXCTL_GZIPPED)
function(tdxctl_gzip in out)
  add_custom_command(OUTPUT ${out} COMMAND sh -c "gzip -9n -c \"$1\" > \"$2\"" sh ${in} ${out}
                     DEPENDS ${in} VERBATIM)
  set(TDXCTL_GZIPPED ${TDXCTL_GZIPPED} ${out} PARENT_SCOPE)
endfunction()
tdxctl_gzip(${deb_dir}/changelog.Debian ${deb_dir}/changelog.Debian.gz)
file(GLOB TDXCTL_MAN_PAGES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/man/*.1)
foreach(page IN LISTS TDXCTL_MAN_PAGES)
  get_filename_component(name ${page} NAME)
  tdxctl_gzip(${page} ${deb_dir}/man/${name}.gz)
  install(FILES ${deb_dir}/man/${name}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endforeach()
add_custom_target(deb-files ALL DEPENDS ${TDXCTL_GZIPPED})
install(FILES ${deb_dir}/changelog.Debian.gz ${CMAKE_SOURCE_DIR}/packaging/debian/copyright
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/tdxctl)
# Each tag lintian still reports is overridden there, with the reason.
if(EXISTS ${CMAKE_SOURCE_DIR}/packaging/debian/lintian-overrides)
  install(FILES ${CMAKE_SOURCE_DIR}/packaging/debian/lintian-overrides
          DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME tdxctl)
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tdxctl)
set(CPACK_PACKAGE_VERSION ${TDXCTL_VERSION})
set(CPACK_DEBIAN_PACKAGE_VERSION ${TDXCTL_VERSION})
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_PACKAGE_CONTACT "${TDXCTL_DEB_MAINTAINER}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL tdxctl dbg)
set(CPACK_DEBIAN_TDXCTL_PACKAGE_NAME tdxctl)
set(CPACK_DEBIAN_TDXCTL_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_DBG_PACKAGE_NAME tdxctl-dbg)
set(CPACK_DEBIAN_DBG_PACKAGE_SECTION debug)
set(CPACK_DEBIAN_DBG_PACKAGE_DEPENDS "tdxctl (= ${TDXCTL_DEB_VERSION})")
set(CPACK_DEBIAN_DBG_DESCRIPTION "debug symbols for tdxctl
Debug information for tdxctl, tdxctl-guest and the tdxctl-https.so plug-in,
in /usr/lib/debug/.build-id where gdb finds it by their build IDs.")
# Tools tdxctl runs: qemu-img (qemu-utils); mke2fs, debugfs (e2fsprogs);
# sfdisk (fdisk); modprobe (kmod); iptables-save/-restore (iptables, the
# firewall backend unless the host's ruleset is native nftables, which
# libnftables1 drives). libguestfs0 brings its appliance (supermin, QEMU,
# cryptsetup-bin) and supermin recommends the kernel it boots.
# libvirt0, libguestfs0, libcurl4, libcryptsetup12, libnftables1, libxml2,
# libnl-route-3-200, libext2fs2, liblzma5 and libargon2-1 are opened on first
# use (dlopen), so dpkg-shlibdeps cannot see them in tdxctl: they are listed
# here, with the minimum versions their symbols files give (dpkg-shlibdeps
# still sees libcurl and libcryptsetup in tdxctl-guest, and cpp-httplib in
# the plug-in).
set(CPACK_DEBIAN_TDXCTL_PACKAGE_DEPENDS "libvirt0, libguestfs0, libcurl4 (>= 7.85.0), libcryptsetup12, libnftables1, libxml2, libnl-route-3-200 (>= 3.4.0), libext2fs2 (>= 1.43), liblzma5 (>= 5.1.1alpha+20120614), libargon2-1 (>= 0~20171227), qemu-utils, e2fsprogs, fdisk, kmod, iptables")
# TDs run under libvirt; OVMF is where distributions ship TDVF
# (OVMF.inteltdx.fd); collateral comes from Intel PCS over HTTPS.
# liburing2 (opened on first use) reads batches of quote files with io_uring;
# without it `quote verify` reads them with plain system calls. At least the
# version built against: its inline helpers need the ring fields it fills.
set(CPACK_DEBIAN_TDXCTL_PACKAGE_RECOMMENDS "libvirt-daemon-system, ovmf, ca-certificates, liburing2 (>= 2.3)")
# Each description's first line is its synopsis (CPACK_PACKAGE_DESCRIPTION_SUMMARY
# would be put in front of both).
file(READ ${CMAKE_SOURCE_DIR}/packaging/debian/description CPACK_DEBIAN_TDXCTL_DESCRIPTION)
string(PREPEND CPACK_DEBIAN_TDXCTL_DESCRIPTION
       "Intel TDX host tool: images, volumes, GPUs, network, TDs, quotes\n")
set(CPACK_DEBIAN_TDXCTL_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/packaging/debian/postinst ${CMAKE_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
