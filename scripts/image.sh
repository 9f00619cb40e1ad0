#!/usr/bin/env bash
# Builds the container image from Containerfile with podman, also where no registry is
# reachable: the two Debian 12 bases are made from Debian's packages (mmdebstrap, with this
# machine's Debian apt sources) and imported under localhost/lbmirror-base/ once; then
# `podman build --pull=never` builds the Containerfile from them (its stages install their
# packages with apt, over the host's network). Prints the image's size.
#   scripts/image.sh [TAG]          default localhost/lbmirror:VERSION
#   LBMIRROR_WERROR=ON              compiler warnings are errors in the builder stage
#   LBMIRROR_REBUILD_BASES=1        make the bases anew (they are kept between runs)
#   LBMIRROR_IMAGE_NO_CACHE=1       build every step anew (podman keeps the layers otherwise)
# Needs podman, buildah, runc and mmdebstrap (scripts/install-deps.sh --test installs them).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/podman-env.sh"
version=$(sed -n 's/^project(lbmirror VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
revision=$(git -C "$root" rev-parse HEAD 2> /dev/null || echo unknown)
source_url=$(git -C "$root" remote get-url origin 2> /dev/null || echo unknown)
tag=${1:-localhost/lbmirror:$version}
builder_base=localhost/lbmirror-base/debian:bookworm
runtime_base=localhost/lbmirror-base/debian:bookworm-slim

# This machine's apt sources for Debian 12, which the bases keep (as debian:bookworm does).
sources=()
for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -f "$file" ] && grep -v '^\s*#' "$file" | grep -qw bookworm && sources+=("$file")
done
if [ ${#sources[@]} -eq 0 ]; then
  echo "image.sh: no apt source for Debian 12 (bookworm) on this machine" >&2
  exit 1
fi

make_base() {  # make_base NAME [mmdebstrap options...]: a minimal Debian 12 image
  local name=$1
  shift
  if [ "${LBMIRROR_REBUILD_BASES:-0}" != 1 ] && podman image exists "$name"; then return; fi
  local dir
  dir=$(mktemp -d)
  echo "making the base image $name with mmdebstrap"
  mmdebstrap --quiet --variant=minbase --mode=root --format=tar \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --aptopt='APT::Install-Recommends "false"' "$@" bookworm "$dir/base.tar" "${sources[@]}"
  podman import --quiet --change 'CMD ["/bin/bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$dir/base.tar" "$name" > /dev/null
  rm -rf "$dir"
}
make_base "$builder_base"
# Like debian:bookworm-slim: no manuals, documentation (but the copyrights) or translations.
make_base "$runtime_base" --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/lintian/*'

cache=()
[ "${LBMIRROR_IMAGE_NO_CACHE:-0}" = 1 ] && cache=(--no-cache)
podman build --pull=never --network=host --format docker --layers "${cache[@]}" \
  --build-arg BUILDER_IMAGE="$builder_base" --build-arg RUNTIME_IMAGE="$runtime_base" \
  --build-arg VERSION="$version" --build-arg REVISION="$revision" \
  --build-arg SOURCE="$source_url" --build-arg WERROR="${LBMIRROR_WERROR:-OFF}" \
  -f "$root/Containerfile" -t "$tag" "$root"
# Earlier builds' leftovers (untagged stages) go after a day; today's stay as the build cache.
podman image prune -f --filter until=24h > /dev/null
size=$(podman image inspect --format '{{.Size}}' "$tag")
echo "image $tag: $((size / 1000000)) MB ($size bytes)"
