#!/usr/bin/env bash
# End-to-end check of the built .deb: unpack it into a scratch root (no root rights, nothing installed) and run the
# BUNDLED executables offscreen in a clean environment (no venv, no PYTHONPATH) on a copy of the demo library:
#   1. package layout (launchers, .desktop entry, icons, bundle)
#   2. qfx self-test: Essentia + libsndfile decoding, features, the default model on ONNX Runtime (lean: no torch)
#   3. qfx index  (multi-process forkserver workers inside the frozen app)
#   4. qfx map --out map.png
#   5. qfx-explorer with QFX_SMOKE_TEST on a fresh cache: the GUI starts, indexes the library in the background
#      (forkserver workers of the frozen GUI), shows its 20 tracks and quits by itself
# Exits non-zero at the first failure. Takes a few minutes, so it is not part of `make test`.
#
#   packaging/package_test.sh [DEB]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
DEB="${1:-$(ls -t "$ROOT"/dist/quadfusion-explorer_*.deb 2>/dev/null | head -1)}"  # the lean one by default
[[ -f "$DEB" ]] || { echo "no .deb found: run make package first" >&2; exit 2; }

SCRATCH="$ROOT/build/package-test"
rm -rf "$SCRATCH" && mkdir -p "$SCRATCH"
FS="$SCRATCH/root"
step() { printf '\n== %s\n' "$*"; }
fail() { echo "package-test: FAILED: $*" >&2; exit 1; }

step "unpack $(basename "$DEB") ($(du -h "$DEB" | cut -f1))"
dpkg-deb --info "$DEB" | sed -n '/Package:/,/Depends:/p'
dpkg-deb -x "$DEB" "$FS"
APPDIR="$FS/opt/quadfusion-explorer"
for f in usr/bin/qfx-explorer usr/bin/qfx opt/quadfusion-explorer/qfx-explorer opt/quadfusion-explorer/qfx; do
    [[ -x "$FS/$f" ]] || fail "missing executable /$f"
done
grep -q '^exec /opt/quadfusion-explorer/qfx-explorer "\$@"' "$FS/usr/bin/qfx-explorer" || fail "launcher does not exec the bundle"
[[ -f "$FS/usr/share/applications/quadfusion-explorer.desktop" ]] || fail "no .desktop entry"
for s in 48x48 128x128 256x256 scalable; do
    ls "$FS/usr/share/icons/hicolor/$s/apps/quadfusion-explorer."* >/dev/null || fail "no $s icon"
done
[[ -f "$APPDIR/_internal/resources/demo/CREDITS.md" ]] || fail "resources not bundled"
if [[ "$(basename "$DEB")" == quadfusion-explorer_* ]]; then  # the lean flavour must be lean
    [[ ! -e "$APPDIR/_internal/torch" ]] || fail "the lean bundle carries torch"
    ls "$APPDIR"/_internal/onnxruntime >/dev/null || fail "no onnxruntime in the bundle"
    [[ -f "$APPDIR/_internal/resources/models/default/model.onnx" ]] || fail "no ONNX graph of the default model"
fi
echo "layout ok; bundle $(du -sh "$APPDIR" | cut -f1), .deb $(du -h "$DEB" | cut -f1)"

# A clean environment: nothing from the build venv or the checkout can leak in.
LIB="$SCRATCH/library"
cp -r "$ROOT/resources/demo" "$LIB"
run() {
    env -i PATH=/usr/bin:/bin HOME="$SCRATCH/home" LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen \
        XDG_RUNTIME_DIR="$SCRATCH/xdg" QFX_LOG_DIR="$SCRATCH/logs" OMP_NUM_THREADS=1 "$@"
}
mkdir -p "$SCRATCH/home" "$SCRATCH/xdg" && chmod 700 "$SCRATCH/xdg"
check_log() {  # no Python traceback may reach the console
    if grep -q "Traceback (most recent call last)" "$1"; then cat "$1"; fail "$2 printed a traceback"; fi
}

step "bundled qfx self-test"
run QFX_SELF_TEST=1 "$APPDIR/qfx" 2>&1 | tee "$SCRATCH/selftest.log"
grep -q "self-test: ok" "$SCRATCH/selftest.log" || fail "self-test"

step "bundled qfx index (demo copy, 2 workers)"
start=$(date +%s)
run "$APPDIR/qfx" index "$LIB" --cache "$SCRATCH/cache" --workers 2 --quiet 2>&1 | tee "$SCRATCH/index.log"
check_log "$SCRATCH/index.log" "qfx index"
grep -Eq "^20 analysed .* 0 failed" "$SCRATCH/index.log" || fail "index summary does not report 20 analysed, 0 failed"
echo "indexed in $(( $(date +%s) - start )) s"

step "bundled qfx map --out map.png"
run "$APPDIR/qfx" map "$LIB" --cache "$SCRATCH/cache" --out "$SCRATCH/map.png" --size 800x600 2>&1 | tee "$SCRATCH/map.log"
check_log "$SCRATCH/map.log" "qfx map"
[[ "$(head -c 8 "$SCRATCH/map.png" | od -An -tx1 | tr -d ' \n')" == 89504e470d0a1a0a ]] || fail "map.png is not a PNG"
[[ $(stat -c %s "$SCRATCH/map.png") -gt 10000 ]] || fail "map.png is suspiciously small"
echo "map.png $(stat -c %s "$SCRATCH/map.png") bytes"

step "bundled qfx-explorer (offscreen, fresh cache: indexes in the background, quits once 20 tracks are shown)"
set +e
start=$(date +%s)
run QFX_SMOKE_TEST=150 QFX_SMOKE_TRACKS=20 timeout 200 "$APPDIR/qfx-explorer" "$LIB" --cache "$SCRATCH/gui-cache" \
    > "$SCRATCH/gui.log" 2>&1
rc=$?
set -e
grep -v propagateSizeHints "$SCRATCH/gui.log" | tail -20
check_log "$SCRATCH/gui.log" "qfx-explorer"
[[ $rc -eq 0 ]] || fail "qfx-explorer exited with $rc"
grep -q "smoke-test: main window up: .*tracks=20" "$SCRATCH/gui.log" || fail "the GUI did not show the 20 demo tracks"
echo "GUI indexed and showed the library in $(( $(date +%s) - start )) s"

printf '\npackage-test: ok (%s)\n' "$(basename "$DEB")"
