#!/usr/bin/env bash
# Runs the numeric test projects under every libtorch kernel set this CPU can be forced to
# (ATEN_CPU_CAPABILITY=default|avx2, and the CPU's own choice) with 1 and 2 torch threads, and prints one
# summary line per combination. Tolerances must hold in all of them (issue: CI green on every machine).
# Usage: tools/ci/cpu-matrix.sh [test project ...]   (default: Core, Clip and Training tests)
set -uo pipefail
cd "$(dirname "$0")/../.."
projects=("$@")
[ ${#projects[@]} -eq 0 ] && projects=(tests/Diffusion.Core.Tests tests/Diffusion.Clip.Tests tests/Diffusion.Training.Tests)
for p in "${projects[@]}"; do dotnet build "$p" -v q -nologo >/dev/null || { echo "build failed: $p"; exit 1; }; done
status=0
for capability in native default avx2; do
  for threads in 1 2; do
    for p in "${projects[@]}"; do
      if [ "$capability" = native ]; then unset ATEN_CPU_CAPABILITY; else export ATEN_CPU_CAPABILITY=$capability; fi
      line=$(DIFFUSION_TEST_THREADS=$threads dotnet test "$p" --no-build 2>&1 | grep -E '(Passed|Failed)! +-' | tail -1)
      echo "capability=$capability threads=$threads $(basename "$p"): ${line:-no result}"
      case "$line" in Passed!*) ;; *) status=1 ;; esac
    done
  done
done
unset ATEN_CPU_CAPABILITY
exit $status
