#!/usr/bin/env bash
# Ours against PyTorch on the book's U-Net (or, with --model unet2d, diffusers' UNet2DModel at
# google/ddpm-cifar10-32; with --model unet2dcond, diffusers' UNet2DConditionModel at a quarter of Stable
# Diffusion 1.5's widths), on this machine, in one run.
#
# Both sides run the same model (the book's code in PyTorch 1.13 from Debian, loaded from a DGAI checkout at
# run time; ours is Diffusion.Models.UNet), with the same weights (exported by the PyTorch side, loaded by
# ours), the same batch and the same thread count, one process per measurement, alternating sides round by
# round (ABBA order) so that drifting load from other work hits both. It prints a table of
# ours/PyTorch time ratios for a forward pass and for a training step (forward + L1 + backward + AdamW),
# GFLOP/s against each side's measured matrix-multiply peak, and images/s.
#
# usage: benchmarks/compare.sh --dgai DIR | --model unet2d | --model unet2dcond [--hidden-dims 64,128,256,512] [--image-size 64] [--batch 4]
#            [--threads 1] [--steps 3] [--warmup 1] [--rounds 3] [--modes forward,train]
#            [--dtypes float32,bfloat16] [--malloc keep|default] [--out DIR] [--ours-bin DIR] [--save DIR]
#
#   --dgai DIR   a checkout of https://github.com/markhliu/DGAI (only utils/ is read), e.g.
#                git clone --depth 1 https://github.com/markhliu/DGAI /tmp/dgai
#   --model      book (default): the book's U-Net from --dgai, L1 loss; unet2d: diffusers' own UNet2DModel
#                (models/unets/unet_2d.py from --diffusers, default /work/dt113, laid out for PyTorch 1.13 by
#                shared/tools/diffusers-torch113) against our Diffusion.Models.UNet2DModel, in the
#                google/ddpm-cifar10-32 config ([128,256,256,256]@32, 35.7 M parameters), MSE loss and DDPM noise as
#                diffusers' train_unconditional.py; PyTorch exports a diffusers folder that ours loads with
#                FromPretrained. --hidden-dims is ignored; float32 only; defaults: --image-size 32 --batch 8.
#                unet2dcond: diffusers' own UNet2DConditionModel (models/unets/unet_2d_condition.py from --diffusers)
#                against our Diffusion.Models.UNet2DConditionModel, SD 1.5's unet config with block_out_channels
#                [80,160,320,320] and 2 heads (SD 1.5's head widths; 57 M parameters), 4-channel latents and fixed 77×768 text states; forward passes
#                only, float32; defaults: --image-size 32 (latents) --batch 2.
#   --malloc     keep (default): both sides keep freed memory in glibc's malloc (ours: mallopt at start-up,
#                PyTorch: the same settings as MALLOC_* variables); default: both leave malloc alone.
#   --out        working folder (weights, inputs, raw results); default: a new folder under /tmp
#   --save       also copy machine.txt, results.jsonl and summary.md there (e.g. benchmarks/results/…)
#   --ours-bin   a folder holding an already built Diffusion.Benchmarks (e.g. a copy of an older build, to
#                compare two versions of ours); default: build this checkout in Release.
#
# COMPARE_PYTHON: the PyTorch side's interpreter (default /usr/bin/python3, Debian's PyTorch 1.13); e.g. python3 on a
# GPU machine whose pip PyTorch is the only one (benchmarks/results/2026-12-04-xeon-cpu-compare/).
#
# Installs what it needs: Debian's python3-torch (apt-get) when `import torch` fails, and OpenBLAS for the
# PyTorch side when the system's libblas.so.3 is the reference BLAS (Debian's default): the package is
# downloaded and unpacked into a cache folder and used through LD_LIBRARY_PATH for the PyTorch process
# only, so the system's BLAS choice is left as it is.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
dgai="${DGAI_DIR:-}"; model=book; diffusers="${DIFFUSERS_DT113:-/work/dt113}"; size_set=""; batch_set=""
dims="64,128,256,512"; size=64; batch=4; threads=1; steps=3; warmup=1; rounds=3
modes="forward,train"; dtypes="float32,bfloat16"; malloc=keep; out=""; ours_bin=""; save=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dgai) dgai="$2"; shift 2 ;;
    --hidden-dims) dims="$2"; shift 2 ;;
    --image-size) size="$2"; size_set=1; shift 2 ;;
    --batch) batch="$2"; batch_set=1; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --diffusers) diffusers="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --modes) modes="$2"; shift 2 ;;
    --dtypes) dtypes="$2"; shift 2 ;;
    --malloc) malloc="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --ours-bin) ours_bin="$2"; shift 2 ;;
    --save) save="$2"; shift 2 ;;
    -h|--help) sed -n '2,42p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
if [[ "$model" == unet2d || "$model" == unet2dcond ]]; then
  [[ -n "$size_set" ]] || size=32
  [[ -n "$batch_set" ]] || batch=$([[ $model == unet2d ]] && echo 8 || echo 2)
  dtypes=float32
  [[ "$model" == unet2dcond ]] && modes=forward
  file="$([[ $model == unet2d ]] && echo unet_2d.py || echo unet_2d_condition.py)"
  if [[ ! -f "$diffusers/diffusers/models/unets/$file" ]]; then
    echo "compare.sh: --diffusers must name diffusers laid out for PyTorch 1.13 (diffusers/models/unets/$file); got $diffusers" >&2
    exit 2
  fi
elif [[ "$model" != book ]]; then
  echo "compare.sh: --model must be book, unet2d or unet2dcond; got $model" >&2
  exit 2
elif [[ -z "$dgai" || ! -f "$dgai/utils/unet_util.py" || ! -f "$dgai/utils/ch15util.py" ]]; then
  echo "compare.sh: --dgai must name a checkout of markhliu/DGAI with utils/unet_util.py and utils/ch15util.py" >&2
  echo "  e.g. git clone --depth 1 https://github.com/markhliu/DGAI /tmp/dgai" >&2
  exit 2
fi
out="${out:-$(mktemp -d /tmp/diffusion-compare.XXXXXX)}"
mkdir -p "$out"
python="${COMPARE_PYTHON:-/usr/bin/python3}"
sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"

# --- what the PyTorch side needs ------------------------------------------------------------------
if ! "$python" -c 'import torch' 2>/dev/null; then
  if [[ "$python" != /usr/bin/python3 ]]; then
    echo "compare.sh: COMPARE_PYTHON=$python cannot import torch" >&2
    exit 2
  fi
  echo "# installing Debian's python3-torch" >&2
  $sudo apt-get install -y python3-torch >&2
fi
blas_env=()
# Debian's PyTorch calls the system BLAS; a pip wheel carries its own (MKL), and the system's is left alone for it.
debian_torch=$("$python" -c 'import torch; print(int(torch.__file__.startswith("/usr/lib/python3/")))')
if [[ "$debian_torch" == 1 ]] && ! readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 | grep -qi openblas; then
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/diffusion-net/openblas"
  lib="$cache/root/usr/lib/x86_64-linux-gnu/openblas-pthread"
  if [[ ! -f "$lib/libblas.so.3" ]]; then
    echo "# the system BLAS is the reference BLAS; fetching OpenBLAS for the PyTorch side into $cache" >&2
    mkdir -p "$cache"
    (cd "$cache" && apt-get download libopenblas0-pthread >&2 && dpkg -x libopenblas0-pthread_*.deb root)
  fi
  blas_env=("LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
fi
common_env=("OMP_NUM_THREADS=$threads" "OPENBLAS_NUM_THREADS=$threads" "OMP_WAIT_POLICY=PASSIVE")
py_malloc=()
if [[ "$malloc" == keep ]]; then
  py_malloc=("MALLOC_MMAP_MAX_=0" "MALLOC_TRIM_THRESHOLD_=100000000000" "MALLOC_TOP_PAD_=1000000000")
fi

# --- our side --------------------------------------------------------------------------------------
if [[ -z "$ours_bin" ]]; then
  echo "# building benchmarks/Diffusion.Benchmarks (Release)" >&2
  dotnet build "$repo/benchmarks/Diffusion.Benchmarks" -c Release -v quiet -nologo >&2
  ours_bin="$repo/benchmarks/Diffusion.Benchmarks/bin/Release/net10.0"
fi
ours="$ours_bin/Diffusion.Benchmarks"

shape=(--model "$model" --hidden-dims "$dims" --image-size "$size" --batch "$batch" --threads "$threads")
pyrun() { env "${common_env[@]}" "${blas_env[@]}" "${py_malloc[@]}" "$python" "$here/pytorch/compare.py" --dgai "${dgai:-/tmp/dgai}" --diffusers "$diffusers" "$@"; }
ourrun() { env "${common_env[@]}" "$ours" compare "$@" --malloc "$malloc"; }
results="$out/results.jsonl"
: > "$results"
record() { # round, then the command; keeps the RESULT line with the round added
  local round="$1"; shift
  local line
  line="$("$@" | grep '^RESULT ' | tail -1 | sed 's/^RESULT //' || true)"
  if [[ -z "$line" ]]; then echo "compare.sh: no RESULT from: $* (left out of the table)" >&2; return 0; fi
  "$python" -c 'import json,sys; d=json.loads(sys.argv[1]); d["round"]=int(sys.argv[2]); print(json.dumps(d))' "$line" "$round" >> "$results"
  "$python" -c 'import json,sys; d=json.loads(sys.argv[1]); print("#", d["side"], d["mode"], d.get("dtype",""), "median", round(d.get("ms_median", d.get("gflops_best", 0)), 1), "load", d.get("load",""))' "$line" >&2
}

{
  echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -r)"
  lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|Socket|L2|L3|Flags)' | sed 's/^Flags: *\(.*\)/Flags (avx512\/amx): \1/' | \
    awk '/^Flags/ { n=split($0, f, " "); s=""; for (i=1;i<=n;i++) if (f[i] ~ /avx512f|avx512_bf16|amx/) s=s" "f[i]; print "Flags:" s; next } { print }'
  free -g | sed -n 2p | awk '{ print "Memory: " $2 " GiB" }'
  case "$model" in
    unet2d) echo "Model: unet2d (diffusers UNet2DModel, google/ddpm-cifar10-32, from $diffusers)"; shown="[128,256,256,256]" ;;
    unet2dcond) echo "Model: unet2dcond (diffusers UNet2DConditionModel, SD 1.5 at [80,160,320,320] with 2 heads, 77x768 text states, from $diffusers)"; shown="[80,160,320,320]" ;;
    *) echo "Model: $model"; shown="[$dims]" ;;
  esac
  echo "Threads: $threads, batch $batch, $shown@$size, malloc $malloc, load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  "$python" -c 'import torch; print("PyTorch", torch.__version__)'
  echo "ours: $(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet -- src || echo ' + local changes in src/')${ours_bin:+ (prebuilt: $ours_bin)}"
} | tee "$out/machine.txt" >&2

echo "# exporting the $model model, weights and inputs, and counting FLOPs (PyTorch)" >&2
config="$dims@${size}x$batch/seed0"
[[ "$model" == unet2d ]] && config="unet2d:google/ddpm-cifar10-32@${size}x$batch/seed0"
[[ "$model" == unet2dcond ]] && config="unet2dcond:sd15-quarter-2heads@${size}x$batch/seed0"
if [[ -f "$out/flops.json" ]] && grep -q "\"config\": \"$config\"" "$out/flops.json"; then
  echo "# reusing the export in $out" >&2
  record 0 sed 's/^/RESULT /' "$out/flops.json"
else
  record 0 pyrun "${shape[@]}" export --out "$out"
fi
record 0 pyrun --threads "$threads" --steps 5 --warmup 1 peak --size 2048
record 0 ourrun --mode peak --threads "$threads" --steps 5 --warmup 1 --size 2048
if [[ ",$dtypes," == *,bfloat16,* ]]; then # without AMX/oneDNN a bfloat16 2048² product can take minutes
  record 0 pyrun --threads "$threads" --steps 5 --warmup 1 --dtype bfloat16 peak --size 2048
  record 0 ourrun --mode peak --threads "$threads" --steps 5 --warmup 1 --size 2048 --dtype bfloat16
fi

IFS=, read -ra mode_list <<< "$modes"
IFS=, read -ra dtype_list <<< "$dtypes"
for ((r = 1; r <= rounds; r++)); do
  for mode in "${mode_list[@]}"; do
    for dtype in "${dtype_list[@]}"; do
      py=(record "$r" pyrun "${shape[@]}" --steps "$steps" --warmup "$warmup" --dtype "$dtype" run --weights "$out" --mode "$mode")
      me=(record "$r" ourrun --mode "$mode" "${shape[@]}" --steps "$steps" --warmup "$warmup" --dtype "$dtype" --weights "$out")
      if (( r % 2 == 1 )); then "${py[@]}"; "${me[@]}"; else "${me[@]}"; "${py[@]}"; fi
    done
  done
done

echo "# load at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/machine.txt" >&2
"$python" "$here/pytorch/compare.py" summarize --results "$results" | tee "$out/summary.md"
echo "# raw results: $results" >&2
if [[ -n "$save" ]]; then
  mkdir -p "$save"
  cp "$out/machine.txt" "$results" "$out/summary.md" "$save/"
  echo "# saved to $save" >&2
fi
