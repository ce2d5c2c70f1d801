#!/usr/bin/env bash
# Prepares what benchmarks/gpu/run-on-device.sh needs on a CUDA machine without .NET or network, in the
# git-ignored folder .gpu-carry/ (well under the 64 MiB a device call may carry):
#   bench.tar.xz   Diffusion.Benchmarks published self-contained for linux-x64, WITHOUT libtorch's CPU
#                  libraries (the device's PyTorch provides libtorch, CUDA included, through LD_LIBRARY_PATH)
#   dgai/utils/    the book's unet_util.py and ch15util.py, for the PyTorch side (read at run time, never committed)
# Usage: benchmarks/gpu/publish.sh [DGAI checkout, default /tmp/dgai]
set -euo pipefail
cd "$(dirname "$0")/../.."
DGAI=${1:-/tmp/dgai}
CARRY=.gpu-carry
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT

dotnet publish benchmarks/Diffusion.Benchmarks -c Release -r linux-x64 --self-contained true \
  -p:PublishTrimmed=false -p:DebugType=none -p:GenerateDocumentationFile=false -o "$STAGE/app" -nologo -v q

# libtorch's CPU build (as shipped in libtorch-cpu-linux-x64) must not shadow the device's libtorch.
native=$(find ~/.nuget/packages/libtorch-cpu-linux-x64 -path '*runtimes/linux-x64/native' -type d | sort | tail -1)
for f in "$native"/*; do rm -f "$STAGE/app/$(basename "$f")"; done
rm -f "$STAGE"/app/*.pdb

mkdir -p "$CARRY/dgai/utils"
tar -C "$STAGE/app" -cJf "$CARRY/bench.tar.xz" .
if [ -d "$DGAI/utils" ]; then
  cp "$DGAI/utils/unet_util.py" "$DGAI/utils/ch15util.py" "$CARRY/dgai/utils/"
else
  echo "publish.sh: no $DGAI/utils: the PyTorch side will not run (git clone https://github.com/markhliu/DGAI $DGAI)" >&2
fi
grep -qx '/.gpu-carry/' .git/info/exclude 2>/dev/null || echo '/.gpu-carry/' >> .git/info/exclude
du -sh "$CARRY"/* 
