#!/usr/bin/env bash
# Runs the BenchmarkDotNet suite (in-process) and files the results, with the machine described, under
# benchmarks/results/<UTC date>-<name>/.
#
# usage: benchmarks/run-benchmarks.sh [--name NAME] [--threads N] [--quick] [--malloc default] [--cpu] [BDN args…]
#   e.g. benchmarks/run-benchmarks.sh --quick --filter '*UNetBenchmarks*'
#        benchmarks/run-benchmarks.sh --threads 2 --filter '*' --anyCategories …
# BDN args default to --filter '*' (everything: about 20–30 minutes on 2 CPU cores; --quick about half).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
name="run"; ours=(); bdn=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --name) name="$2"; shift 2 ;;
    --threads|--malloc) ours+=("$1" "$2"); shift 2 ;;
    --quick|--cpu) ours+=("$1"); shift ;;
    *) bdn+=("$1"); shift ;;
  esac
done
[[ ${#bdn[@]} -gt 0 ]] || bdn=(--filter '*')
out="$here/results/$(date -u +%Y-%m-%d)-$name"
mkdir -p "$out"

dotnet build "$repo/benchmarks/Diffusion.Benchmarks" -c Release -v quiet -nologo >&2
exe="$repo/benchmarks/Diffusion.Benchmarks/bin/Release/net10.0/Diffusion.Benchmarks"

{
  echo "# Machine"
  echo
  echo '```'
  echo "date (UTC): $(date -u +%Y-%m-%dT%H:%M)   commit: $(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet || echo ' (+ local changes)')"
  lscpu | grep -E '^(Model name|CPU\(s\)|Thread\(s\) per core|Core\(s\) per socket|L2 cache|L3 cache|Hypervisor vendor)'
  echo "CPU features: $(grep -o -w -E 'avx2|avx512f|avx512_bf16|amx_bf16|amx_tile' /proc/cpuinfo | sort -u | tr '\n' ' ')"
  free -h | sed -n 1,2p
  echo "load before: $(cat /proc/loadavg)"
  echo "arguments: ${ours[*]:-} ${bdn[*]}"
  dotnet --version | sed 's/^/dotnet SDK: /'
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | sed 's/^/GPU: /' || echo "GPU: none found"
  echo '```'
} > "$out/machine.md"

"$exe" "${ours[@]}" --artifacts "$out" "${bdn[@]}" | tee "$out/console.log"

{
  echo
  echo '```'
  echo "load after: $(cat /proc/loadavg)"
  echo '```'
} >> "$out/machine.md"
# Keep what is worth committing: the markdown and CSV reports, the console (which has BenchmarkDotNet's
# log and our environment line), the machine. BenchmarkDotNet's own log repeats the console.
rm -f "$out"/BenchmarkRun-*.log "$out"/results/*.html
echo "# results in $out" >&2
