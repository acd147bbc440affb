#!/usr/bin/env bash
# Package the built gravity-node into the images deploy/compose.yaml runs.
#   deploy/build-image.sh [TAG]       (default tag: local)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
tag="${1:-local}"
bin="$CARGO_TARGET_DIR/release/gravity-node"
[ -x "$bin" ] || { echo "build-image: no $bin: run scripts/build.sh first" >&2; exit 1; }
command -v docker >/dev/null || { echo "build-image: docker is not installed" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "build-image: the docker daemon is not reachable (start it, or add yourself to the docker group)" >&2; exit 1; }
mkdir -p deploy/bin
cp "$bin" deploy/bin/gravity-node
docker build -f deploy/Dockerfile --target node -t "gravity-node:$tag" .
docker build -f deploy/Dockerfile --target prometheus -t "gravity-prometheus:$tag" .
echo "built gravity-node:$tag and gravity-prometheus:$tag"
