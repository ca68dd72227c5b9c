#!/usr/bin/env bash
# Build local stand-ins for the official images the Dockerfile and compose.yaml use, for machines that cannot
# reach a public registry. All come from one debootstrapped Debian 13 ("trixie") base and use Debian's own
# packages; each copies the part of the official image's interface that compose.yaml uses (README,
# "Production": "Images without a registry").
#
#   docker/standins/build.sh            # prints the variables to export (IMAGEGEN_*_IMAGE=...)
#
# The base image is kept between runs (localhost/imagegen-standin-base); REBUILD_BASE=1 builds it again.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
engine="${CONTAINER_ENGINE:-podman}"
prefix="localhost/imagegen-standin"
mirror="${DEBIAN_MIRROR:-}"

phase() { printf 'standins: %-10s %4ss\n' "$1" "$2" >&2; }

start=$SECONDS
if [ -n "${REBUILD_BASE:-}" ] || ! "$engine" image exists "$prefix-base:trixie"; then
  command -v debootstrap >/dev/null || { echo "standins: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
  rootfs="$(mktemp -d)"
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates trixie "$rootfs" $mirror >/dev/null
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | "$engine" import - "$prefix-base:trixie" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
  phase base $((SECONDS - start))
else
  phase "base" "0 (cached)"
fi

for name in python node nginx postgres redis; do
  t=$SECONDS
  "$engine" build -q --build-arg BASE="$prefix-base:trixie" -t "$prefix-$name:latest" \
    -f "$here/$name.Containerfile" "$here" >/dev/null
  phase "$name" $((SECONDS - t))
done
phase total $((SECONDS - start))
cat <<VARS
IMAGEGEN_PYTHON_IMAGE=$prefix-python:latest
IMAGEGEN_NODE_IMAGE=$prefix-node:latest
IMAGEGEN_NGINX_IMAGE=$prefix-nginx:latest
IMAGEGEN_POSTGRES_IMAGE=$prefix-postgres:latest
IMAGEGEN_REDIS_IMAGE=$prefix-redis:latest
VARS
