#!/usr/bin/env bash
# Runs on a CUDA machine that has PyTorch (with CUDA) but no .NET and no network: our benchmarks as a
# self-contained publish (benchmarks/gpu/publish.sh) on PyTorch's own libtorch, and the book's model in that
# PyTorch, on the same GPU.
#
#   benchmarks/gpu/publish.sh                      # here: .gpu-carry/bench.tar.xz and .gpu-carry/dgai/utils
#   benchmarks/gpu/run-on-device.sh [OUT]          # there: writes OUT/{machine.txt,symbols.txt,ours-check.log,ours.jsonl,pytorch.jsonl}
#   PARTS="check bdn" benchmarks/gpu/run-on-device.sh OUT   # choose parts: check bench sample pytorch bdn
#
# TorchSharp 0.107's libLibTorchSharp.so is built against libtorch 2.10; the machine's PyTorch may be newer.
# symbols.txt lists what LibTorchSharp needs that the machine's libtorch does not define, so a refusal to load
# is explained rather than guessed at. The PyTorch side runs whatever happens to ours.
set -u
OUT=${1:-${OUT:-/tmp/gpu-out}}
mkdir -p "$OUT"
CARRY=${CARRY:-.gpu-carry}
PY=${PYTHON:-python3}
TORCHLIB=$($PY -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')

{
  date -u +%FT%TZ
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader
  $PY -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version(), torch.cuda.get_device_name())'
  lscpu | grep -E "^Model name|^CPU\(s\)"
  echo "libtorch: $TORCHLIB"
} > "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

APP=/tmp/diffusion-bench
rm -rf "$APP" && mkdir -p "$APP" && tar -xJf "$CARRY/bench.tar.xz" -C "$APP"

# What LibTorchSharp needs from libtorch that this libtorch lacks (unversioned symbols only: the versioned
# ones are glibc's and libstdc++'s).
nm -D --undefined-only "$APP/libLibTorchSharp.so" | awk '{print $2}' | grep -v '@' | sort -u > /tmp/needed
for lib in "$TORCHLIB"/libtorch*.so "$TORCHLIB"/libc10*.so; do nm -D --defined-only "$lib" | awk '{print $3}'; done | sed 's/@.*//' | sort -u > /tmp/defined
comm -23 /tmp/needed /tmp/defined > /tmp/missing
{
  echo "LibTorchSharp needs $(wc -l < /tmp/needed) libtorch symbols; $(wc -l < /tmp/missing) are not defined by $TORCHLIB:"
  c++filt < /tmp/missing | head -200
} > "$OUT/symbols.txt"
head -20 "$OUT/symbols.txt"

export LD_LIBRARY_PATH="$TORCHLIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export DOTNET_gcServer=0
PARTS=${PARTS:-check bench sample pytorch}   # also: bdn (the BenchmarkDotNet suite's U-Net and sampling classes),
# sd (SD 1.5 text-to-image, ours vs diffusers) and flowers (trains the Flowers sample's starting weights on the GPU)
has() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
ours() { ( cd "$APP" && timeout "$1" ./Diffusion.Benchmarks "${@:2}" ); }

if has check; then
  ( cd "$APP" && timeout 150 ./Diffusion.Benchmarks gpu check ) > "$OUT/ours-check.log" 2>&1
  echo "ours gpu check: exit $?" | tee -a "$OUT/ours-check.log"
  grep '^CHECK' "$OUT/ours-check.log" | cut -c1-300
fi
if has bdn; then   # the BenchmarkDotNet classes themselves, unchanged, on the CUDA backend
  ( cd "$APP" && timeout 300 ./Diffusion.Benchmarks --quick --threads "$(nproc)" --artifacts /tmp/bdn \
      --filter '*UNetBenchmarks*' '*SamplingBenchmarks*' ) > "$OUT/bdn-console.log" 2>&1
  echo "BenchmarkDotNet: exit $?"
  cp /tmp/bdn/results/*-report-github.md "$OUT/" 2>/dev/null
  grep -E '^\|' /tmp/bdn/results/*-report-github.md | cut -c1-250 | head -40
fi
if { has bench || has sample; } && { ! has check || grep -q '^CHECK {"name":"cuda available","ok":true' "$OUT/ours-check.log"; }; then
  : > "$OUT/ours.jsonl"
  run_parts() {   # $1: the variant written into every result line
    if has bench; then
      ours 180 gpu bench --steps 10 2>&1 | tee -a "$OUT/ours-bench.log" | grep '^RESULT' | sed "s/^RESULT {/{\"variant\":\"$1\",/" >> "$OUT/ours.jsonl"
    fi
    if has sample; then
      ours 90 gpu sample --steps 20 2>&1 | grep '^RESULT' | sed "s/^RESULT {/{\"variant\":\"$1\",/" >> "$OUT/ours.jsonl"
    fi
  }
  run_parts new
  # A/B on the same machine: the same program with earlier builds of our assemblies from $CARRY/old/*.dll.
  if ls "$CARRY"/old/*.dll > /dev/null 2>&1; then
    mkdir -p /tmp/new-dlls && for f in "$CARRY"/old/*.dll; do cp "$APP/$(basename "$f")" /tmp/new-dlls/ && cp "$f" "$APP/"; done
    run_parts old
    cp /tmp/new-dlls/*.dll "$APP/"
  fi
fi

if has sd; then   # a 512x512, 30-step SD 1.5 text-to-image call, random weights, fp16: ours, then diffusers' models
  mkdir -p /tmp/dt113 && tar -xJf "$CARRY/dt113.tar.xz" -C /tmp/dt113
  peak_gpu() {   # $1: label; runs the rest as a command while nvidia-smi samples the memory in use
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 > /tmp/smi.txt & local smi=$!
    "${@:2}"; local rc=$?
    kill $smi; wait $smi 2>/dev/null
    echo "$1: exit $rc, peak GPU memory in use $(sort -n /tmp/smi.txt | tail -1) MiB (nvidia-smi, whole GPU)"
  }
  { peak_gpu "ours sd" ours ${SD_TIMEOUT:-110} gpu sd --steps 30 --size 512 --repeats 3
    peak_gpu "pytorch sd" env PYTHONUNBUFFERED=1 timeout ${SD_TIMEOUT:-110} $PY benchmarks/pytorch/sd_gpu.py --diffusers /tmp/dt113 --steps 30 --size 512 --repeats 3
  } > "$OUT/sd.log" 2>&1
  grep -E '^RESULT|exit' "$OUT/sd.log" | cut -c1-600
fi
if has flowers; then   # trains on from the committed starting weights; returns the float32 EMA weights in parts
  ln -sfn "$PWD/samples/Flowers/starting-checkpoint" "$APP/starting-checkpoint"
  # float32: a bfloat16 run (batch 256, lr 1e-3) made the EMA weights worse on the held-out loss, the float32 one at
  # 2e-4 much better (benchmarks/results/2026-12-04-gpu-h200/README.md)
  FLOWERS_ARGS=${FLOWERS_ARGS:---minutes 4.5 --batch-size 128 --lr 2e-4 --bf16 off --dataset-size 262144}
  ( cd "$APP" && timeout ${FLOWERS_TIMEOUT:-400} ./Flowers --device cuda $FLOWERS_ARGS --quality-samples 0 --output /tmp/flowers ) > "$OUT/flowers.log" 2>&1
  echo "flowers: exit $?"; tr '\r' '\n' < "$OUT/flowers.log" | grep -vE '^\s*$|[0-9]%' | tail -14
  if [ -f /tmp/flowers/unet-ema/diffusion_pytorch_model.safetensors ]; then
    split -b 15M -d /tmp/flowers/unet-ema/diffusion_pytorch_model.safetensors "$OUT/ema.safetensors.part"
    tar -C /tmp/flowers -czf "$OUT/flowers-files.tgz" unet-ema/config.json loss-history.csv $(cd /tmp/flowers && ls *.png 2>/dev/null)
    ls -la "$OUT"
  fi
fi

if has pytorch; then
  PYTHONUNBUFFERED=1 timeout 180 $PY benchmarks/pytorch/compare.py --dgai "$CARRY/dgai" --steps 10 gpubench 2>&1 \
    | tee "$OUT/pytorch-bench.log" | grep '^RESULT' | sed 's/^RESULT //' > "$OUT/pytorch.jsonl"
  echo "pytorch gpubench: $(wc -l < "$OUT/pytorch.jsonl") results"
fi
