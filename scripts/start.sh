#!/usr/bin/env bash
# A newcomer's one command: install what is missing, build, start the local network.
set -euo pipefail
HERE="$(dirname "${BASH_SOURCE[0]}")"
bash "$HERE/setup.sh"
bash "$HERE/build.sh"
exec bash "$HERE/local-network.sh"
