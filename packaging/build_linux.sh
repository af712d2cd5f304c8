#!/usr/bin/env bash
# Turn the PyInstaller one-folder bundle (dist/quadfusion-explorer) into a .deb and a .tar.gz.
#
#   packaging/build_linux.sh [BUNDLE_DIR] [OUT_DIR]
#
# Env: PKG=quadfusion-explorer (lean cpu bundle, default) | quadfusion-explorer-gpu (the torch/CUDA flavour); the two
#      conflict (same /opt folder and commands).
#      DEB_COMPRESS=zstd|gzip|xz (default zstd: dpkg >= 1.21.18, Debian 12 / Ubuntu 21.10+; use gzip for older),
#      DEB_LEVEL (default 1: the bundle is GBs of already-dense shared libraries, higher levels buy little),
#      SKIP_TARBALL=1 to build only the .deb.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BUNDLE="${1:-$ROOT/dist/quadfusion-explorer}"
OUT="${2:-$ROOT/dist}"
PKG="${PKG:-quadfusion-explorer}"
APP=quadfusion-explorer  # desktop entry, icons and install folder are shared by both flavours
PREFIX=/opt/$APP
case "$PKG" in
    quadfusion-explorer) CONFLICTS=quadfusion-explorer-gpu ;;
    quadfusion-explorer-gpu) CONFLICTS=quadfusion-explorer ;;
    *) echo "PKG must be quadfusion-explorer or quadfusion-explorer-gpu" >&2; exit 2 ;;
esac
COMPRESS="${DEB_COMPRESS:-zstd}"
LEVEL="${DEB_LEVEL:-1}"

[[ -x "$BUNDLE/qfx-explorer" && -x "$BUNDLE/qfx" ]] || { echo "no bundle at $BUNDLE: run pyinstaller first" >&2; exit 2; }
VERSION="$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$ROOT/pyproject.toml" | head -1)"
ARCH="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
[[ -n "$VERSION" ]] || { echo "cannot read the version from pyproject.toml" >&2; exit 2; }

STAGE="$ROOT/build/deb-root"
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
         "$STAGE/usr/share/doc/$PKG" "$STAGE/usr/share/icons/hicolor/scalable/apps"

# The bundle: hard links when on the same file system (no GB copy), a real copy otherwise.
cp -al "$BUNDLE" "$STAGE$PREFIX" 2>/dev/null || { rm -rf "$STAGE$PREFIX"; cp -a "$BUNDLE" "$STAGE$PREFIX"; }

# Launchers: wrappers rather than symlinks so the bundle's own path is what the executable sees.
for exe in qfx-explorer qfx; do
    printf '#!/bin/sh\nexec %s/%s "$@"\n' "$PREFIX" "$exe" > "$STAGE/usr/bin/$exe"
    chmod 0755 "$STAGE/usr/bin/$exe"
done

install -m 0644 "$HERE/linux/$APP.desktop" "$STAGE/usr/share/applications/$APP.desktop"
for size in 16 32 48 64 128 256 512; do
    src="$ROOT/resources/icons/$APP-$size.png"
    [[ -f "$src" ]] || continue
    install -D -m 0644 "$src" "$STAGE/usr/share/icons/hicolor/${size}x${size}/apps/$APP.png"
done
install -m 0644 "$ROOT/resources/icons/$APP.svg" "$STAGE/usr/share/icons/hicolor/scalable/apps/$APP.svg"

cat > "$STAGE/usr/share/doc/$PKG/copyright" <<EOF
QuadFusion Explorer $VERSION
License: AGPL-3.0-or-later (it links Essentia, AGPL-3.0).
Bundled: Essentia (AGPL-3.0), ONNX Runtime (MIT), Qt 6/PySide6 (LGPL-3.0), pyqtgraph (MIT),
NumPy/SciPy/scikit-learn (BSD-3-Clause), libsndfile (LGPL-2.1+), libsoxr (LGPL-2.1+), mutagen (GPL-2.0+).
The quadfusion-explorer-gpu package also bundles PyTorch (BSD-3-Clause), transformers/safetensors (Apache-2.0),
MuQ code (MIT) and NVIDIA CUDA runtime libraries (NVIDIA CUDA EULA, redistributable components).
MuQ pretrained weights (CC-BY-NC 4.0) are not shipped.
Demo music: see $PREFIX/_internal/resources/demo/CREDITS.md (GPL-2+ and CC-BY-SA-3.0+/GPL-2+).
EOF

INSTALLED_KB="$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)"
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@INSTALLED_KB@/$INSTALLED_KB/" \
    -e "s/@PACKAGE@/$PKG/" -e "s/@CONFLICTS@/$CONFLICTS/" \
    "$HERE/linux/control.in" > "$STAGE/DEBIAN/control"

cat > "$STAGE/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q /usr/share/applications || true
    command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t /usr/share/icons/hicolor || true
fi
exit 0
EOF
cp "$STAGE/DEBIAN/postinst" "$STAGE/DEBIAN/postrm"
sed -i 's/"\$1" = configure/"$1" = remove/' "$STAGE/DEBIAN/postrm"
chmod 0755 "$STAGE/DEBIAN" "$STAGE/DEBIAN/postinst" "$STAGE/DEBIAN/postrm"

mkdir -p "$OUT"
DEB="$OUT/${PKG}_${VERSION}_${ARCH}.deb"
start=$(date +%s)
dpkg-deb --root-owner-group -Z"$COMPRESS" -z"$LEVEL" --build "$STAGE" "$DEB"
echo "deb: $DEB ($(du -h "$DEB" | cut -f1), installed $((INSTALLED_KB / 1024)) MiB, $(( $(date +%s) - start )) s)"

if [[ "${SKIP_TARBALL:-0}" != 1 ]]; then
    TGZ="$OUT/$PKG-$VERSION-linux-$(uname -m).tar.gz"
    start=$(date +%s)
    GZ="gzip -$LEVEL"
    command -v pigz >/dev/null && GZ="pigz -$LEVEL"
    tar -C "$(dirname "$BUNDLE")" -cf - "$(basename "$BUNDLE")" | $GZ > "$TGZ"
    echo "tarball: $TGZ ($(du -h "$TGZ" | cut -f1), $(( $(date +%s) - start )) s)"
fi
rm -rf "$STAGE"
