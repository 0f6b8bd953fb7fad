# Run by CPack after it wrote the packages (CPACK_POST_BUILD_SCRIPTS, set in
# deb_package.cmake). CMake 3.25's DEB generator writes the -dbgsym .ddeb
# with an md5sums file that names each file by its absolute path in the
# staging folder (so `dpkg --verify` and lintian find none of them), with
# the .debug files executable, and without the doc folder a Debian package
# must have. This rebuilds the .ddeb as debhelper would make it: md5sums of
# the package's own paths, .debug files 0644, and
# /usr/share/doc/keyring-locker-dbgsym a symlink to keyring-locker's (the
# .ddeb depends on keyring-locker of the same version).
# The packages are still in CPack's staging folder (CPACK_PACKAGE_FILES);
# CPack copies them to the build folder after this script.
set(ddeb "")
foreach(f IN LISTS CPACK_PACKAGE_FILES)
  get_filename_component(dir "${f}" DIRECTORY)
  if(EXISTS "${dir}/${CPACK_KLK_DBGSYM_FILE}")
    set(ddeb "${dir}/${CPACK_KLK_DBGSYM_FILE}")
  endif()
endforeach()
if(NOT ddeb)
  message(FATAL_ERROR "dbgsym_fixup: no ${CPACK_KLK_DBGSYM_FILE} next to ${CPACK_PACKAGE_FILES}")
endif()
set(root "${CPACK_TOPLEVEL_DIRECTORY}/klk-dbgsym-fixup")
file(REMOVE_RECURSE "${root}")
execute_process(COMMAND dpkg-deb -R "${ddeb}" "${root}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "dbgsym_fixup: dpkg-deb -R ${ddeb} failed (${rc})")
endif()
file(GLOB_RECURSE debug_files RELATIVE "${root}" "${root}/usr/lib/debug/*.debug")
set(md5sums "")
foreach(f IN LISTS debug_files)
  file(CHMOD "${root}/${f}" FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  file(MD5 "${root}/${f}" sum)
  string(APPEND md5sums "${sum}  ${f}\n")
endforeach()
file(WRITE "${root}/DEBIAN/md5sums" "${md5sums}")
file(CHMOD "${root}/DEBIAN/md5sums" FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
file(MAKE_DIRECTORY "${root}/usr/share/doc")
file(CREATE_LINK "${CPACK_PACKAGE_NAME}" "${root}/usr/share/doc/${CPACK_PACKAGE_NAME}-dbgsym" SYMBOLIC)
# gzip as CPack wrote it: xz would save a third of the size but take minutes.
execute_process(COMMAND dpkg-deb --root-owner-group -Zgzip --build "${root}" "${ddeb}"
                OUTPUT_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "dbgsym_fixup: dpkg-deb --build of ${ddeb} failed (${rc})")
endif()
file(REMOVE_RECURSE "${root}")
message(STATUS "dbgsym_fixup: ${ddeb} rebuilt with package-relative md5sums")
