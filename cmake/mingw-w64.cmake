# Cross-build for 64-bit Windows with Debian's MinGW-w64 GCC; tests run under Wine.
#   cmake -S . -B build-win -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64.cmake
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(LB_MINGW_TRIPLET x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${LB_MINGW_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${LB_MINGW_TRIPLET}-g++)
set(CMAKE_RC_COMPILER ${LB_MINGW_TRIPLET}-windres)

# Libraries, headers and CMake packages come from the MinGW sysroot only (our
# own static deps are found by explicit path, see LinkBrokerDeps.cmake);
# programs (compilers, wine, python) always come from the build machine.
set(CMAKE_FIND_ROOT_PATH /usr/${LB_MINGW_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# ctest and add_custom_command run the .exe files through Wine. The wrapper
# silences Wine and gives each build folder its own WINEPREFIX unless one is
# set already (scripts/lib/wine.sh sets the same one and keeps a server warm).
# Run through /bin/sh so the wrapper's file mode does not matter.
set(CMAKE_CROSSCOMPILING_EMULATOR
    /bin/sh "${CMAKE_CURRENT_LIST_DIR}/wine-exec" "${CMAKE_BINARY_DIR}/wineprefix")
