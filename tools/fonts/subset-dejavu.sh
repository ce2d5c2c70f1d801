#!/bin/sh
# Makes src/Diffusion.Core/IO/Fonts/DejaVuSans-Plot.ttf, the font LossPlot draws its text with, so that plots
# have text on machines without any font installed (SkiaSharp's NoDependencies native library finds no
# system fonts at all).
#
# Source: DejaVuSans.ttf 2.37 from Debian 12's fonts-dejavu-core package (/usr/share/fonts/truetype/dejavu/).
# Licence: Bitstream Vera Fonts licence (DejaVu's changes are public domain), see DejaVu-LICENSE.txt beside
# the font. It allows modified copies whose names contain neither "Bitstream" nor "Vera"; "DejaVu Sans"
# qualifies. The subset keeps every name-table record (copyright and licence included).
#
# Kept: printable ASCII plus × − – … · µ ² ³ ⁻ (numbers, labels, titles). About 25 KB instead of 740 KB.
# Needs fonttools: apt-get install python3-fonttools
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
/usr/bin/python3 -m fontTools.subset /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf \
  --unicodes="U+0020-007E,U+00D7,U+2212,U+2013,U+2026,U+00B7,U+00B5,U+00B2,U+00B3,U+207B" \
  --name-IDs='*' --name-languages='*' --layout-features='kern,liga' --hinting \
  --output-file="$root/src/Diffusion.Core/IO/Fonts/DejaVuSans-Plot.ttf"
