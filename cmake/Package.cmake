# What `cmake --install` puts where, and the Debian package made from it:
#   cmake --build build && (cd build && cpack -G DEB)   -> build/lbmirror_VERSION_ARCH.deb
# The package holds the binary, the systemd unit, its environment file /etc/default/lbmirror
# (a conffile, mode 0600: it holds secrets), the README and docs/; its dependencies are the shared
# libraries the binary links, as dpkg-shlibdeps finds them.
include(GNUInstallDirs)
install(TARGETS lbmirror RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES deploy/systemd/lbmirror.service DESTINATION lib/systemd/system)
install(FILES deploy/systemd/lbmirror.env DESTINATION /etc/default RENAME lbmirror
        PERMISSIONS OWNER_READ OWNER_WRITE)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES docs/configuration.md docs/operations.md docs/architecture.md docs/tables.md
              docs/deploy.md DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)

set(CPACK_PACKAGE_NAME lbmirror)
set(CPACK_PACKAGE_VENDOR "lbmirror")
set(CPACK_PACKAGE_CONTACT "lbmirror maintainers <lbmirror@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "mirrors a Liveblocks project into MySQL/PlanetScale, Postgres or SQLite")
set(CPACK_PACKAGE_DESCRIPTION
    "lbmirror receives Liveblocks webhooks, records them durably, re-reads the changed data from
the Liveblocks REST API and upserts it into SQL tables: rooms, Storage documents, React Flow
diagrams, Yjs documents, threads, comments, reactions and inbox notifications.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "ca-certificates")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/conffiles ${PROJECT_SOURCE_DIR}/deploy/debian/postinst
    ${PROJECT_SOURCE_DIR}/deploy/debian/prerm ${PROJECT_SOURCE_DIR}/deploy/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_GENERATOR DEB)
include(CPack)
