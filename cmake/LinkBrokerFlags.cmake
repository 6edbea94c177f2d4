# Warnings as errors everywhere; -Wconversion is added per target in common/ and config/.
if(MSVC)
  # cl.exe (the windows-msvc preset; not built on this project's CI): /W4 /WX
  # for -Wall -Wextra -Werror; /W4 already has the conversion warnings
  # (C4244, C4267) that LB_STRICT_WARNINGS asks GCC for. The "use *_s"
  # deprecations (C4996) are off: scripts/check-banned is this project's list.
  set(LB_WARNINGS /W4 /WX)
  set(LB_STRICT_WARNINGS "")
  add_compile_definitions(_CRT_SECURE_NO_WARNINGS _CRT_NONSTDC_NO_WARNINGS)
  add_compile_options(/utf-8 /guard:cf)
  add_link_options(/guard:cf /DYNAMICBASE /NXCOMPAT /CETCOMPAT)
else()
  set(LB_WARNINGS -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
      -Wformat=2 -Wvla -Wpointer-arith)
  set(LB_STRICT_WARNINGS -Wconversion -Wsign-conversion)
endif()

add_compile_options(${LB_WARNINGS})
if(NOT WIN32)
  add_compile_options(-fstack-protector-strong)
  add_compile_definitions(_FORTIFY_SOURCE=2 _GNU_SOURCE)
endif()
if(WIN32)
  # Unicode APIs only; target Windows 10.
  add_compile_definitions(UNICODE _UNICODE WIN32_LEAN_AND_MEAN _WIN32_WINNT=0x0A00
    __USE_MINGW_ANSI_STDIO=1)  # C99 printf (%zu) whatever msvcrt the machine has
  # Static runtime pieces so the .exe files run without MinGW DLLs next to them
  # (MSVC: CMAKE_MSVC_RUNTIME_LIBRARY and a static vcpkg triplet, in the preset).
  if(NOT MSVC)
    add_link_options(-static -static-libgcc)
  endif()
endif()

if(LB_SANITIZE)
  if(WIN32)
    # MinGW GCC ships no ASan/UBSan runtime: the link would fail later and less clearly.
    message(FATAL_ERROR "LB_SANITIZE is for the native gcc/clang builds; MinGW has no sanitizer runtime")
  endif()
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=all)
endif()

# Fuzzing builds instrument the whole project for coverage, not just the
# fuzz targets (which add -fsanitize=fuzzer for libFuzzer's main).
if(LB_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# lb_unsanitized(TARGET): TARGET without the sanitizers and fuzzing
# instrumentation: what is loaded into other programs (liblinkbroker, the
# LD_PRELOAD shim, a helper that execs tools with the shim preloaded), where
# the ASan runtime would have to come first.
function(lb_unsanitized target)
  foreach(prop COMPILE_OPTIONS LINK_OPTIONS)
    get_target_property(_opts ${target} ${prop})
    if(_opts)
      list(FILTER _opts EXCLUDE REGEX "^-fsanitize|^-fno-sanitize")
      set_property(TARGET ${target} PROPERTY ${prop} ${_opts})
    endif()
  endforeach()
endfunction()
