#!/usr/bin/env bash
# Unpacks Debian's arm64 builds of the network libraries (libcurl, OpenSSL, cpp-httplib, zlib,
# Brotli) and everything they load into a folder, so the AArch64 cross build can link the hub, the
# server and the gemma4 CLI (cmake -DGEMMA4_CROSS_SYSROOT=FOLDER). Nothing is installed: installing
# the arm64 -dev packages would, through multiarch's same-version rule, move the build machine's
# own libssl/libcurl with them. The C library comes from the cross compiler (/usr/aarch64-linux-gnu).
# Usage: bash scripts/arm64_sysroot.sh [FOLDER]   (default .cache/arm64-sysroot; idempotent)
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${1:-.cache/arm64-sysroot}"
# The -dev packages, then their run-time closure on Debian 12 (apt-cache depends --recurse, less
# what the cross toolchain already has: libc6, libgcc-s1, libstdc++6).
packages=(
  libcurl4-openssl-dev libssl-dev libcpp-httplib-dev zlib1g-dev libbrotli-dev
  libcurl4 libssl3 libcpp-httplib0.11 zlib1g libbrotli1 libnghttp2-14 libidn2-0 librtmp1
  libssh2-1 libpsl5 libgssapi-krb5-2 libkrb5-3 libk5crypto3 libcom-err2 libkrb5support0
  libkeyutils1 libldap-2.5-0 libsasl2-2 libsasl2-modules-db libzstd1 libunistring2 libgnutls30
  libhogweed6 libnettle8 libgmp10 libp11-kit0 libtasn1-6 libffi8 libdb5.3
)
stamp="$dest/.packages"
want="$(printf '%s\n' "${packages[@]}")"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $SUDO dpkg --add-architecture arm64
  $SUDO apt-get update -qq
elif ! apt-cache show libcurl4:arm64 >/dev/null 2>&1; then
  $SUDO apt-get update -qq
fi

# apt drops privileges to _apt while downloading: the folder must be writable by it.
debs="$(mktemp -d)"
trap 'rm -rf "$debs"' EXIT
chmod 777 "$debs"
(cd "$debs" && apt-get download -qq "${packages[@]/%/:arm64}")

rm -rf "$dest"
mkdir -p "$dest"
for deb in "$debs"/*.deb; do
  dpkg-deb -x "$deb" "$dest"
done
# Debian's development links point at absolute paths (/lib/aarch64-linux-gnu/...), which would
# resolve to the build machine's x86-64 files: point them inside the folder.
root="$(cd "$dest" && pwd)"
find "$root" -type l | while read -r link; do
  target="$(readlink "$link")"
  case "$target" in
    /*) ln -sfn "$root$target" "$link" ;;
  esac
done
# Merged /usr: what a package ships under /lib is found under /usr/lib too.
if [ -d "$root/lib/aarch64-linux-gnu" ]; then
  cp -an "$root/lib/aarch64-linux-gnu/." "$root/usr/lib/aarch64-linux-gnu/"
fi
printf '%s\n' "$want" > "$stamp"
echo "arm64_sysroot: ${#packages[@]} packages in $dest"
