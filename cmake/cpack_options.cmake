# Read by cpack once per generator: the .deb installs under /usr, the .tar.gz unpacks to
# gemma4-VERSION-Linux/{bin,include,lib,share}, to be moved anywhere.
if(CPACK_GENERATOR STREQUAL "DEB")
  set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
else()
  set(CPACK_PACKAGING_INSTALL_PREFIX /)
endif()
