# libsodium, inih and cmocka.
# Native: libsodium and cmocka from the system (Debian's -dev packages).
# MinGW: the static builds scripts/deps made under ${LB_DEPS_DIR}/mingw.
# MSVC (not built here): libsodium and cmocka from vcpkg (vcpkg.json, the
# windows-msvc preset), found by header and library name, which does not
# depend on the ports' changing CMake package names.
# All: inih's ini.c compiled in the project with our INI_* options
# (config/CMakeLists.txt), from the Debian source scripts/deps unpacked;
# elsewhere point LB_INIH_DIR at inih r59's ini.c and ini.h (vcpkg's inih
# port is a library built with other options, so it is not used).

set(LB_INIH_DIR "${LB_DEPS_DIR}/inih" CACHE PATH "folder holding inih's ini.c and ini.h")
if(NOT EXISTS "${LB_INIH_DIR}/ini.c" OR NOT EXISTS "${LB_INIH_DIR}/ini.h")
  message(FATAL_ERROR "inih source not found in ${LB_INIH_DIR}: run scripts/deps first, "
    "or set LB_INIH_DIR to a folder with inih r59's ini.c and ini.h (https://github.com/benhoyt/inih, tag r59)")
endif()

if(CMAKE_CROSSCOMPILING AND WIN32)
  set(LB_MINGW_PREFIX "${LB_DEPS_DIR}/mingw")
  if(NOT EXISTS "${LB_MINGW_PREFIX}/lib/libsodium.a")
    message(FATAL_ERROR "MinGW libsodium not found in ${LB_MINGW_PREFIX}: run scripts/deps first")
  endif()
  add_library(lb_sodium STATIC IMPORTED)
  set_target_properties(lb_sodium PROPERTIES
    IMPORTED_LOCATION "${LB_MINGW_PREFIX}/lib/libsodium.a"
    INTERFACE_INCLUDE_DIRECTORIES "${LB_MINGW_PREFIX}/include"
    INTERFACE_COMPILE_DEFINITIONS "SODIUM_STATIC")
  # cmocka 1.1.7 installs lib/cmake/cmocka/cmocka-config.cmake with an
  # imported static cmocka::cmocka. NO_CMAKE_FIND_ROOT_PATH: the toolchain
  # file confines packages to the MinGW sysroot, which would otherwise re-root
  # this path under it.
  find_package(cmocka 1.1.7 CONFIG REQUIRED PATHS "${LB_MINGW_PREFIX}"
    NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH)
  if(TARGET cmocka::cmocka)
    set(LB_CMOCKA cmocka::cmocka)
  else()
    set(LB_CMOCKA cmocka)
  endif()
elseif(MSVC)
  find_path(LB_SODIUM_INCLUDE_DIR sodium.h REQUIRED)
  find_library(LB_SODIUM_LIBRARY NAMES libsodium sodium REQUIRED)
  add_library(lb_sodium INTERFACE)
  # vcpkg's static triplets patch sodium/export.h to mean SODIUM_STATIC.
  target_include_directories(lb_sodium INTERFACE "${LB_SODIUM_INCLUDE_DIR}")
  target_link_libraries(lb_sodium INTERFACE "${LB_SODIUM_LIBRARY}")
  find_path(LB_CMOCKA_INCLUDE_DIR cmocka.h REQUIRED)
  find_library(LB_CMOCKA_LIBRARY NAMES cmocka cmocka-static REQUIRED)
  add_library(lb_cmocka INTERFACE)
  target_include_directories(lb_cmocka INTERFACE "${LB_CMOCKA_INCLUDE_DIR}")
  target_link_libraries(lb_cmocka INTERFACE "${LB_CMOCKA_LIBRARY}")
  set(LB_CMOCKA lb_cmocka)
else()
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
  add_library(lb_sodium INTERFACE)
  target_link_libraries(lb_sodium INTERFACE PkgConfig::SODIUM)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
  set(LB_CMOCKA PkgConfig::CMOCKA)
endif()
