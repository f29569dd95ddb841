# Cross-compiling the whole epara binary for ARM64: Debian's g++-aarch64-linux-gnu against a sysroot
# of Debian 12's own arm64 packages (LibTorch, gRPC, ... unpacked by mmdebstrap, no emulation:
# scripts/build-arm64.sh makes it). Multiarch cannot hold them beside the amd64 ones: libtorch-dev
# is not Multi-Arch (and pulls python3-dev).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
if(NOT EPARA_ARM64_SYSROOT)
  set(EPARA_ARM64_SYSROOT "$ENV{EPARA_ARM64_SYSROOT}")
endif()
set(CMAKE_SYSROOT "${EPARA_ARM64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH "${EPARA_ARM64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${EPARA_ARM64_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR}
    "${EPARA_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${EPARA_ARM64_SYSROOT}/usr/share/pkgconfig")
