# Installs the plugin SDK's pkg-config file, so that an out-of-tree plugin
# builds with
#   cc -shared -fPIC $(pkg-config --cflags siphon) my.c -o my.so
# The binary (core/), the header (root) and the built-in plugins
# (siphon_add_plugin) install themselves.

# The ABI the installed header speaks, read from the header so that the
# two cannot disagree.
file(STRINGS ${PROJECT_SOURCE_DIR}/include/siphon/plugin.h _siphon_abi_lines
     REGEX "^#define SIPHON_ABI_M(AJ|IN)OR [0-9]+")
string(REGEX REPLACE ".*SIPHON_ABI_MAJOR ([0-9]+).*" "\\1" _siphon_abi_major "${_siphon_abi_lines}")
string(REGEX REPLACE ".*SIPHON_ABI_MINOR ([0-9]+).*" "\\1" _siphon_abi_minor "${_siphon_abi_lines}")
set(SIPHON_PC_ABI "${_siphon_abi_major}.${_siphon_abi_minor}")

# pkg-config paths relative to the .pc file (${pcfiledir}), not the
# configure-time prefix: `cmake --install --prefix P` and DESTDIR staging
# then give a working .pc without reconfiguring. The libdir may be "lib"
# or, with a /usr prefix on Debian, "lib/x86_64-linux-gnu": the way back
# up is computed, not assumed.
set(_siphon_pcdir "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  # An absolute libdir pins the install; so does the .pc then.
  set(SIPHON_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(SIPHON_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  file(RELATIVE_PATH _siphon_up "/p/${_siphon_pcdir}" "/p")
  string(REGEX REPLACE "/$" "" _siphon_up "${_siphon_up}")
  set(SIPHON_PC_PREFIX "\${pcfiledir}/${_siphon_up}")
  set(SIPHON_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(SIPHON_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(SIPHON_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# Where `pkg-config --variable=plugindir siphon` tells plugin authors to
# install, the directory the installed binary searches.
set(SIPHON_PC_PLUGINDIR "${SIPHON_PC_LIBDIR}/siphon/plugins")

configure_file(${CMAKE_CURRENT_LIST_DIR}/siphon.pc.in ${CMAKE_BINARY_DIR}/siphon.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/siphon.pc DESTINATION ${_siphon_pcdir})
