#!/usr/bin/env bash
# Installs the Debian packages the app and its tests need, when we are root with apt; otherwise names them.
set -euo pipefail
PKGS="libportaudio2 libopus0 libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 \
libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 \
libxcb-xinerama0 libxcb-xkb1 libxcb-randr0 libasound2-plugins alsa-utils xvfb xdotool x11-apps x11-utils imagemagick \
dbus-daemon libglib2.0-bin desktop-file-utils"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing system packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
  echo "Missing system packages:$missing"
  echo "Install them with: sudo apt-get install$missing"
  exit 1
fi
