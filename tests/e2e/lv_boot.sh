#!/bin/sh
# One real VM through the libvirt provider (tests/integration/test_lv_boot.c with SBX_LV_BOOT=1):
# builds or reuses the recipe image first. Skips (77) when not root, without /dev/kvm-less QEMU
# tools, or when the image cannot be built here.
set -u
top=${SBX_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${SBX_BIN:-$top/build/asan}/tests/integration/test_lv_boot
[ "$(id -u)" -eq 0 ] || { echo "lv_boot needs root (qemu:///system)" >&2; exit 77; }
[ -x "$bin" ] || { echo "lv_boot: $bin is not built" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null 2>&1 || { echo "lv_boot: no qemu-system-x86_64" >&2; exit 77; }
sh "$top/tests/libvirt-up.sh" >&2 || exit 1
dir=$(sh "$top/tests/image/build.sh") || exit $?
echo "lv_boot: image $dir" >&2
SBX_LV_BOOT=1 SANDBOX_RECIPES="$top/examples/image" exec "$bin"
