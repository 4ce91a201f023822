#!/bin/sh
# Build the project's base image, or reuse the cached one, and print its directory.
#
#   sh tests/image/build.sh [RECIPE]      RECIPE defaults to debian-12
#
# Same cache and key as provisioner/providers/image.c: $SANDBOX_IMAGE_CACHE (default
# /var/lib/sandbox/images as root, else ${XDG_CACHE_HOME:-~/.cache}/sandbox/images), directory
# recipe/<name>-<first 16 hex of sha256(recipe script)>, guarded by a flock on <dir>.lock; the
# build writes into a temp dir that is renamed into place, so a half build never looks complete.
# Recipes are looked up in $SANDBOX_RECIPES, else examples/image of this tree.
# Exit 77 (skip) when not root or debootstrap is missing, with the reason on the last stderr line.
set -eu
name=${1:-debian-12}
top=$(cd "$(dirname "$0")/../.." && pwd)
recipes=${SANDBOX_RECIPES:-$top/examples/image}
script="$recipes/$name.sh"
[ -f "$script" ] || { echo "build.sh: no recipe $script" >&2; exit 1; }
if [ "$(id -u)" -eq 0 ]; then
    cache=${SANDBOX_IMAGE_CACHE:-/var/lib/sandbox/images}
else
    cache=${SANDBOX_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sandbox/images}
fi
key=$(sha256sum "$script" | cut -c1-16)
dir="$cache/recipe/$name-$key"
if [ -f "$dir/manifest" ]; then
    echo "$dir"
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v debootstrap >/dev/null 2>&1; then
    echo "building the image needs root and debootstrap" >&2
    exit 77
fi
mkdir -p "$cache/recipe"
chmod 0755 "$cache" "$cache/recipe" 2>/dev/null || true
exec 9>"$dir.lock"
flock 9
if [ ! -f "$dir/manifest" ]; then
    tmp=$(mktemp -d "$cache/recipe/.build-$name-$key.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    echo "build.sh: building $name into $dir (a few minutes)" >&2
    t0=$(date +%s)
    DEBOOTSTRAP_CACHE=${DEBOOTSTRAP_CACHE:-/var/cache/sandbox/debootstrap} sh "$script" "$tmp"
    [ -f "$tmp/manifest" ] || { echo "build.sh: recipe wrote no manifest" >&2; exit 1; }
    chmod 0755 "$tmp"
    mv "$tmp" "$dir"
    trap - EXIT
    echo "build.sh: built in $(( $(date +%s) - t0 )) s" >&2
fi
echo "$dir"
