# lb_embed_file(FILE HEADER NAME): write HEADER, a C header defining
# `static const unsigned char NAME[]` with FILE's bytes (no NUL added:
# sizeof(NAME) is the file's length). Made at configure time, and again
# whenever FILE changes, so a program can carry a file the packages also
# install (one text for both).
function(lb_embed_file file header name)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${file})
  file(READ ${file} _lb_hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," _lb_bytes "${_lb_hex}")
  set(_lb_row "")   # CMake regexes have no {16}: one row of 16 bytes spelled out
  foreach(_i RANGE 15)
    string(APPEND _lb_row "0x[0-9a-f][0-9a-f],")
  endforeach()
  string(REGEX REPLACE "(${_lb_row})" "\\1\n" _lb_bytes "${_lb_bytes}")
  file(RELATIVE_PATH _lb_rel ${PROJECT_SOURCE_DIR} ${file})
  file(CONFIGURE OUTPUT ${header} CONTENT
"/* Generated from @_lb_rel@ by cmake/LinkBrokerEmbed.cmake. */
static const unsigned char @name@[] = {
@_lb_bytes@
};
" @ONLY)
endfunction()
