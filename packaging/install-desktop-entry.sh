#!/bin/sh
# Add Digitscope to the desktop's application menu (for this user only):
#     ./install-desktop-entry.sh
# Writes ~/.local/share/applications/digitscope.desktop and the icon; run it again
# after moving this folder. Remove those two files to undo.
set -e
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
mkdir -p "$data/applications" "$data/icons/hicolor/256x256/apps"
cp "$here/digitscope.png" "$data/icons/hicolor/256x256/apps/digitscope.png"
sed -e "s|^Exec=.*|Exec=\"$here/Digitscope\"|" -e "s|^Icon=.*|Icon=$data/icons/hicolor/256x256/apps/digitscope.png|" \
    "$here/digitscope.desktop" > "$data/applications/digitscope.desktop"
echo "Digitscope added to the application menu ($data/applications/digitscope.desktop)"
