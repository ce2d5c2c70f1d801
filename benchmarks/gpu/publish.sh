#!/usr/bin/env bash
# Prepares what benchmarks/gpu/run-on-device.sh needs on a CUDA machine without .NET or network, in the
# git-ignored folder .gpu-carry/ (well under the 64 MiB a device call may carry):
#   bench.tar.xz   Diffusion.Benchmarks published self-contained for linux-x64, WITHOUT libtorch's CPU
#                  libraries (the device's PyTorch provides libtorch, CUDA included, through LD_LIBRARY_PATH)
#                  and the Flowers sample beside it
#   dgai/utils/    the book's unet_util.py and ch15util.py, for the PyTorch side (read at run time, never committed)
#   dt113.tar.xz   diffusers' model and scheduler files laid out by shared/tools/diffusers-torch113/extract.sh, for
#                  benchmarks/pytorch/sd_gpu.py (given as DT113=dir; never committed)
# Usage: benchmarks/gpu/publish.sh [DGAI checkout, default /tmp/dgai]
set -euo pipefail
cd "$(dirname "$0")/../.."
DGAI=${1:-/tmp/dgai}
CARRY=.gpu-carry
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT

publish() {
  dotnet publish "$1" -c Release -r linux-x64 --self-contained true \
    -p:PublishTrimmed=false -p:DebugType=none -p:GenerateDocumentationFile=false -o "$2" -nologo -v q
}
publish benchmarks/Diffusion.Benchmarks "$STAGE/app"
# The Flowers sample in the same folder (the files both publishes hold are byte-identical: one runtime, one copy of
# our assemblies), so run-on-device.sh can train the committed starting weights on the GPU (its "flowers" part).
publish samples/Flowers "$STAGE/flowers"
for f in $(cd "$STAGE/flowers" && find . -type f); do
  if [ -e "$STAGE/app/$f" ] && ! cmp -s "$STAGE/flowers/$f" "$STAGE/app/$f"; then echo "publish.sh: $f differs between the two publishes" >&2; exit 1; fi
done
cp -rn "$STAGE/flowers/." "$STAGE/app/"
# The starting weights travel in the working tree already (run-on-device.sh links them in); BenchmarkDotNet's code
# generation and disassembly (Roslyn, capstone, TraceEvent) are never used by the gpu commands. Even so the archive
# (about 33 MB) and the tracked tree (about 37 MB, 14 MB of it tests/reference/) exceed the 64 MiB a device call
# carries: for the call, take tests/reference/ out of the index and ignore it, then put it back afterwards:
#   git rm -r --cached -q tests/reference && echo /tests/reference/ >> .git/info/exclude
#   git reset -q tests/reference && sed -i '\|^/tests/reference/$|d' .git/info/exclude
rm -rf "$STAGE/app/starting-checkpoint" "$STAGE/app/clip-flowers" "$STAGE/app/amd64"
rm -f "$STAGE"/app/Microsoft.CodeAnalysis*.dll "$STAGE"/app/Microsoft.Diagnostics*.dll "$STAGE/app/libcapstone.so" "$STAGE/app/Iced.dll" "$STAGE"/app/Gee*.dll

# libtorch's CPU build (as shipped in libtorch-cpu-linux-x64) must not shadow the device's libtorch.
native=$(find ~/.nuget/packages/libtorch-cpu-linux-x64 -path '*runtimes/linux-x64/native' -type d | sort | tail -1)
for f in "$native"/*; do rm -f "$STAGE/app/$(basename "$f")"; done
rm -f "$STAGE"/app/*.pdb

mkdir -p "$CARRY/dgai/utils"
if [ -n "${DT113:-}" ]; then tar -C "$DT113" --exclude=__pycache__ -cJf "$CARRY/dt113.tar.xz" .; fi
tar -C "$STAGE/app" -cJf "$CARRY/bench.tar.xz" .
if [ -d "$DGAI/utils" ]; then
  cp "$DGAI/utils/unet_util.py" "$DGAI/utils/ch15util.py" "$CARRY/dgai/utils/"
else
  echo "publish.sh: no $DGAI/utils: the PyTorch side will not run (git clone https://github.com/markhliu/DGAI $DGAI)" >&2
fi
grep -qx '/.gpu-carry/' .git/info/exclude 2>/dev/null || echo '/.gpu-carry/' >> .git/info/exclude
du -sh "$CARRY"/* 
