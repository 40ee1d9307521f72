#!/usr/bin/env bash
# lab/systemd-matrix.sh - the larger bcvk #90 matrix on the lab's systemd guest (not run in CI): N healthy boots per
# cache mode (default 4; interleaved never, metadata, never, ...) through the bcvk test double, real Rust virtiofsd
# 1.13.2, kernel 7.3, QEMU TCG, one VM at a time. Each boot takes 60-150 s here: N=4 is ~15-20 min.
#
#   lab/systemd-matrix.sh [N] [--compare DIM]...      default: --compare cache=never,metadata
#   OUT=docs/examples/systemd-cache-matrix REPORTS=/var/tmp/vfs-matrix lab/systemd-matrix.sh 4
#
# Writes $OUT.md and $OUT.html (the comparison: requests per boot, time to goal, outcome rates with their intervals,
# the tests between variants) and prints the terminal table; the run records stay in $REPORTS/runs (compare them
# again with `vfs-analyze compare $REPORTS`). Needs lab/provision.sh + lab/build-systemd-root.sh, and root.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=4
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then N=$1; shift; fi
[ $# -gt 0 ] || set -- --compare cache=never,metadata
OUT=${OUT:-$REPO/docs/examples/systemd-cache-matrix}
REPORTS=${REPORTS:-$(mktemp -d /var/tmp/vfs-matrix.XXXXXX)}
CACHE=${LAB_CACHE:-$REPO/.lab-cache}
# shellcheck source=/dev/null
. "$CACHE/env.sh"
mkdir -p "$(dirname "$OUT")"
STATE=$(mktemp -d /tmp/bd-XXXXXX)
trap 'rm -rf "$STATE"' EXIT
export BCVK_DOUBLE_STATE=$STATE BCVK_DOUBLE_MAX_SECS=600
export VFS_REAL_VIRTIOFSD="[\"$LAB_RUST_LD\",\"--library-path\",\"$LAB_RUST_LIB\",\"$LAB_RUST_BIN\"]"
[ -f "$REPO/dist/cli/main.js" ] || (cd "$REPO" && npm run build --silent)
node "$REPO/bin/vfs-analyze.js" run localhost/lab-systemd "$@" --runs "$N" --timeout 420 \
  --bcvk "$REPO/lab/bcvk-double/bcvk" --podman "$REPO/lab/bcvk-double/podman" --reports "$REPORTS" \
  --report "md=$OUT.md" --report "html=$OUT.html"
echo "records: $REPORTS/runs; reports: $OUT.md $OUT.html" >&2
