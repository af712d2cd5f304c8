#!/usr/bin/env bash
# Strip unneeded symbols from the bundle's own shared libraries (~50 MB off the lean bundle, most of it Essentia's).
# Libraries vendored by auditwheel (numpy.libs/, scipy.libs/, names with a content hash like libgfortran-8f1e9814.so)
# were rewritten by patchelf, and strip breaks those ("ELF load command address/offset not page-aligned"): skipped.
#
#   packaging/strip_bundle.sh [BUNDLE_DIR]
set -euo pipefail
BUNDLE="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/dist/quadfusion-explorer}"
[[ -d "$BUNDLE/_internal" ]] || { echo "no bundle at $BUNDLE" >&2; exit 2; }
command -v strip >/dev/null || { echo "strip (binutils) not found: bundle left unstripped" >&2; exit 0; }
before=$(du -sk "$BUNDLE" | cut -f1)
find "$BUNDLE/_internal" -type f -name '*.so*' ! -path '*.libs/*' ! -name '*-[0-9a-f]*[0-9a-f].so*' \
    ! -name 'libscipy_openblas*' -print0 | xargs -0 -r strip --strip-unneeded
after=$(du -sk "$BUNDLE" | cut -f1)
echo "stripped $BUNDLE: $((before / 1024)) -> $((after / 1024)) MiB"
