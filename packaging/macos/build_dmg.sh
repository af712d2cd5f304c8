#!/usr/bin/env bash
# macOS recipe (run on a Mac with the project's venv; not buildable on Linux):
#   1. icon:  packaging/macos/build_dmg.sh icon    -> resources/icons/quadfusion-explorer.icns (sips + iconutil)
#   2. app:   .venv/bin/pyinstaller --noconfirm pyinstaller.spec
#             -> dist/QuadFusion Explorer.app (the spec's BUNDLE step runs on darwin; qfx is inside
#                Contents/MacOS next to qfx-explorer)
#   3. dmg:   packaging/macos/build_dmg.sh dmg     -> dist/QuadFusion-Explorer-<version>.dmg
# `packaging/macos/build_dmg.sh` with no argument runs all three.
# Signing/notarisation (needed for Gatekeeper on other Macs) is optional: set CODESIGN_ID to a
# "Developer ID Application: ..." identity and the app is signed with the hardened runtime before packing.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ICONS="$ROOT/resources/icons"
APP="$ROOT/dist/QuadFusion Explorer.app"
VERSION="$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$ROOT/pyproject.toml" | head -1)"

make_icns() {
    local set="$ROOT/build/quadfusion-explorer.iconset"
    rm -rf "$set" && mkdir -p "$set"
    for size in 16 32 128 256 512; do
        sips -z $size $size "$ICONS/quadfusion-explorer-512.png" --out "$set/icon_${size}x${size}.png" >/dev/null
        sips -z $((size * 2)) $((size * 2)) "$ICONS/quadfusion-explorer-512.png" \
            --out "$set/icon_${size}x${size}@2x.png" >/dev/null
    done
    iconutil -c icns "$set" -o "$ICONS/quadfusion-explorer.icns"
}

build_app() {
    (cd "$ROOT" && .venv/bin/pyinstaller --noconfirm pyinstaller.spec)
    if [[ -n "${CODESIGN_ID:-}" ]]; then
        codesign --force --deep --options runtime --timestamp --sign "$CODESIGN_ID" "$APP"
    fi
}

make_dmg() {
    [[ -d "$APP" ]] || { echo "no app at $APP: build it first" >&2; exit 2; }
    local stage="$ROOT/build/dmg-stage" dmg="$ROOT/dist/QuadFusion-Explorer-$VERSION.dmg"
    rm -rf "$stage" "$dmg" && mkdir -p "$stage"
    cp -R "$APP" "$stage/"
    ln -s /Applications "$stage/Applications"
    cp "$ROOT/packaging/windows/LICENSE-NOTICE.txt" "$stage/LICENSE.txt"
    hdiutil create -volname "QuadFusion Explorer" -srcfolder "$stage" -fs HFS+ -format UDZO \
        -imagekey zlib-level=6 -ov "$dmg"
    rm -rf "$stage"
    echo "dmg: $dmg"
}

case "${1:-all}" in
    icon) make_icns ;;
    app) build_app ;;
    dmg) make_dmg ;;
    all) make_icns; build_app; make_dmg ;;
    *) echo "usage: $0 [icon|app|dmg|all]" >&2; exit 2 ;;
esac
