# The Debian package: `cmake --build build --target package` writes
# build/keyring-locker_<version>-<release>_<arch>.deb (stripped) and
# build/keyring-locker-dbgsym_<version>-<release>_<arch>.ddeb (the debug
# symbols CPack split off, found by build-id). Included last from the top
# CMakeLists.txt, when every target it ships exists.
#
# The package has its own install rules (component "deb", EXCLUDE_FROM_ALL):
# a plain `cmake --install` keeps the layout docs/mariadb.md describes, and
# the package follows Debian's (no shared object in /usr/bin, man page and
# changelog compressed, /etc file a conffile). Checked by lintian and
# installed, enabled and purged for real by tests/package/deb_install_test.sh.
if(NOT TARGET keyring_locker_mariadb OR NOT TARGET keyring-locker)
  message(STATUS "Debian package skipped: it needs the MariaDB plugin and the CLI (apt-get install libmariadbd-dev)")
  return()
endif()

set(KLK_DEB_SRC ${CMAKE_CURRENT_LIST_DIR}/debian)
set(KLK_DEB_OUT ${CMAKE_BINARY_DIR}/packaging)
set(KLK_DEB_NAME keyring-locker)
set(KLK_DEB_RELEASE 1)
set(KLK_DEB_VERSION ${PROJECT_VERSION}-${KLK_DEB_RELEASE})
set(KLK_DEB_DOC share/doc/${KLK_DEB_NAME})
execute_process(COMMAND dpkg --print-architecture OUTPUT_VARIABLE KLK_DEB_ARCH
                OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR KLK_DEB_ARCH STREQUAL "")
  message(STATUS "Debian package skipped: dpkg --print-architecture failed (not a Debian system?)")
  return()
endif()
# Where the CLI really lives (FHS 3.0: a program others run through
# /usr/bin goes to /usr/libexec): it loads keyring_locker_wipe_alloc.so from its
# own folder (keyring_backend/http/curl_wipe_alloc.h), and a shared object
# does not belong in /usr/bin. /usr/bin/keyring-locker is a two-line script
# that execs it by its full path (a symlink would not do: started as
# /usr/bin/keyring-locker, the CLI would look for the helper in /usr/bin).
set(KLK_DEB_LIBDIR libexec/${KLK_DEB_NAME})
# The MySQL flavours (the keyring plugin and the component) get a folder of
# their own, not MySQL's plugin_dir: MySQL is not in Debian, so no Debian
# package owns a MySQL plugin_dir; Oracle's own packages choose it
# (/usr/lib/mysql/plugin in their .deb, /usr/lib64/mysql/plugin in their
# RPMs, <basedir>/lib/plugin in a tarball). On Debian /usr/lib/mysql/plugin
# is MariaDB's, and this package's MariaDB plugin is already there under the
# very name the MySQL plugin is built with (keyring_locker.so). The DBA links
# the file into MySQL's plugin_dir (or sets plugin_dir to this folder):
# docs/mysql.md, "Install from the Debian package".
set(KLK_DEB_MYSQLDIR lib/${KLK_DEB_NAME}/mysql)
set(KLK_DEB_MYSQL_TARGETS "")
foreach(target keyring_locker_mysql component_keyring_locker)
  if(TARGET ${target})
    list(APPEND KLK_DEB_MYSQL_TARGETS ${target})
  endif()
endforeach()
if(NOT KLK_DEB_MYSQL_TARGETS)
  message(STATUS "Debian package: no MySQL plugin or component to ship (their targets were not configured)")
endif()

# The changelog's newest entry must be this version: a version bump without
# an entry stops here rather than shipping a package whose changelog lies.
file(STRINGS ${KLK_DEB_SRC}/changelog KLK_DEB_CHANGELOG_TOP LIMIT_COUNT 1)
if(NOT KLK_DEB_CHANGELOG_TOP MATCHES "^${KLK_DEB_NAME} \\(${KLK_DEB_VERSION}\\) ")
  message(FATAL_ERROR "packaging/debian/changelog starts with '${KLK_DEB_CHANGELOG_TOP}', but the package "
                      "version is ${KLK_DEB_VERSION}: add an entry for ${KLK_DEB_VERSION} at its top")
endif()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${KLK_DEB_SRC}/changelog)

# Debian compresses the changelog, the man page and documentation with
# gzip -9n (no name or time stamp inside: the same bytes every build).
set(KLK_DEB_DOCS ${CMAKE_SOURCE_DIR}/README.md)
file(GLOB KLK_DEB_MANUAL CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/*.md)
list(APPEND KLK_DEB_DOCS ${KLK_DEB_MANUAL})
set(KLK_DEB_GZ_INPUTS ${KLK_DEB_SRC}/changelog ${KLK_DEB_SRC}/keyring-locker.1 ${KLK_DEB_DOCS})
set(KLK_DEB_GZ_NAMES changelog.Debian.gz keyring-locker.1.gz)
foreach(doc ${KLK_DEB_DOCS})
  get_filename_component(name ${doc} NAME)
  list(APPEND KLK_DEB_GZ_NAMES doc/${name}.gz)
endforeach()
set(KLK_DEB_GZ_FILES "")
foreach(in name IN ZIP_LISTS KLK_DEB_GZ_INPUTS KLK_DEB_GZ_NAMES)
  set(out ${KLK_DEB_OUT}/${name})
  get_filename_component(out_dir ${out} DIRECTORY)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND sh -c "gzip -9n -c \"$0\" >\"$1\"" ${in} ${out}
    DEPENDS ${in} VERBATIM)
  list(APPEND KLK_DEB_GZ_FILES ${out})
endforeach()
add_custom_target(klk_deb_files ALL DEPENDS ${KLK_DEB_GZ_FILES})
list(FILTER KLK_DEB_GZ_FILES INCLUDE REGEX "/doc/")

# Debian's hardening: the shipped programs resolve every symbol at load and
# get a read-only GOT (lintian: hardening-no-bindnow). Link options only, so
# the tests run the very same binaries.
foreach(target keyring_locker_mariadb klk_wipe_alloc keyring-locker ${KLK_DEB_MYSQL_TARGETS})
  target_link_options(${target} PRIVATE -Wl,-z,relro -Wl,-z,now)
endforeach()

set(KLK_DEB COMPONENT deb EXCLUDE_FROM_ALL)
install(TARGETS keyring_locker_mariadb klk_wipe_alloc LIBRARY DESTINATION lib/mysql/plugin ${KLK_DEB})
install(TARGETS keyring-locker RUNTIME DESTINATION ${KLK_DEB_LIBDIR} ${KLK_DEB})
install(CODE "file(MAKE_DIRECTORY \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${KLK_DEB_LIBDIR}\")
  file(CREATE_LINK ../../lib/mysql/plugin/keyring_locker_wipe_alloc.so
       \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${KLK_DEB_LIBDIR}/keyring_locker_wipe_alloc.so\" SYMBOLIC)" ${KLK_DEB})
if(KLK_DEB_MYSQL_TARGETS)
  install(TARGETS ${KLK_DEB_MYSQL_TARGETS} LIBRARY DESTINATION ${KLK_DEB_MYSQLDIR} ${KLK_DEB})
  # Both flavours load the wiping helper from their own folder
  # (keyring_backend/http/curl_wipe_alloc.h): one copy, linked here.
  install(CODE "file(MAKE_DIRECTORY \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${KLK_DEB_MYSQLDIR}\")
    file(CREATE_LINK ../../mysql/plugin/keyring_locker_wipe_alloc.so
         \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${KLK_DEB_MYSQLDIR}/keyring_locker_wipe_alloc.so\" SYMBOLIC)" ${KLK_DEB})
endif()
install(PROGRAMS ${KLK_DEB_SRC}/keyring-locker.sh DESTINATION bin RENAME keyring-locker ${KLK_DEB})
install(FILES ${KLK_DEB_OUT}/keyring-locker.1.gz DESTINATION share/man/man1 ${KLK_DEB})
install(FILES ${KLK_DEB_SRC}/copyright ${KLK_DEB_OUT}/changelog.Debian.gz DESTINATION ${KLK_DEB_DOC} ${KLK_DEB})
install(FILES ${KLK_DEB_GZ_FILES} DESTINATION ${KLK_DEB_DOC} ${KLK_DEB})
install(FILES ${KLK_DEB_SRC}/lintian-overrides DESTINATION share/lintian/overrides RENAME ${KLK_DEB_NAME} ${KLK_DEB})
# Disabled: every line is a comment until the DBA has set up the locker.
install(FILES ${KLK_DEB_SRC}/99-keyring_locker.cnf DESTINATION /etc/mysql/mariadb.conf.d ${KLK_DEB})

set(CPACK_GENERATOR DEB)
set(CPACK_INSTALL_CMAKE_PROJECTS "${CMAKE_BINARY_DIR};${PROJECT_NAME};deb;/")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
# Staged through DESTDIR: the /etc destination stays inside the package root.
set(CPACK_SET_DESTDIR ON)
set(CPACK_PACKAGE_NAME ${KLK_DEB_NAME})
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR})
# Directories 0755 whatever the umask of whoever builds (lintian checks).
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${KLK_DEB_RELEASE})
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${KLK_DEB_ARCH})
set(CPACK_DEBIAN_PACKAGE_SECTION database)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(KLK_DEB_MAINTAINER "keyring_locker maintainers <maintainers@keyring-locker.example>"
    CACHE STRING "Maintainer field of the Debian package")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${KLK_DEB_MAINTAINER})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "MariaDB and MySQL encryption keys kept in a remote key locker")
# The long description (CPack puts the summary above it and indents it; an
# empty line becomes Debian's " ." paragraph break).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "keyring_locker is a MariaDB key management plugin that keeps the keys
InnoDB, Aria, the redo log and the binary log are encrypted with in a
remote key locker (HashiCorp Vault or OpenBao, a KMIP server, or a local
directory store with a key wrapper), reached over verified TLS. Keys are
never written to the database host's disk in plaintext.

This package holds the MariaDB plugin, its allocation helper, the
keyring-locker command line tool and a disabled configuration snippet,
and in /usr/lib/keyring-locker/mysql the MySQL keyring plugin and the
MySQL keyring component, for MySQL 8.0, 8.4 and 9.x.")
# Depends: what dpkg-shlibdeps finds the binaries linked against (libc,
# libstdc++, OpenSSL 3, libcurl).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The server is Enhances, not Recommends or Depends: the CLI is used where no
# server runs (an operator's workstation, a MySQL host), and apt installs
# Recommends by default, so a Recommends would install and start a database
# server there. The plugin needs the DBA to set up a locker before it is
# enabled anyway, so installing the server is always a choice of its own.
# 10.11: the server the plugin is built and tested against.
set(CPACK_DEBIAN_PACKAGE_ENHANCES "mariadb-server (>= 1:10.11)")
# The debug symbols go to keyring-locker-dbgsym (a .ddeb, installed in
# /usr/lib/debug/.build-id/): CPack splits them off the ELF files and strips
# those (the plugin: about 60 MB with symbols, a few MB without).
set(CPACK_DEBIAN_DEBUGINFO_PACKAGE ON)
set(CPACK_KLK_DBGSYM_FILE ${KLK_DEB_NAME}-dbgsym_${KLK_DEB_VERSION}_${KLK_DEB_ARCH}.ddeb)
set(CPACK_POST_BUILD_SCRIPTS ${CMAKE_CURRENT_LIST_DIR}/dbgsym_fixup.cmake)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${KLK_DEB_SRC}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
