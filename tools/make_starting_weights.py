#!/usr/bin/env python3
"""Makes samples/Flowers/starting-checkpoint/ from a Flowers run's unet-ema/ folder.

Usage: python3 tools/make_starting_weights.py RUN_OUTPUT_DIR STEPS "COMMAND THAT MADE IT"

Reads RUN_OUTPUT_DIR/unet-ema/ (config.json with the U-Net options and diffusion_pytorch_model.safetensors, float32
EMA weights, written by samples/Flowers with UNet.SavePretrained), stores every tensor as float16 in
diffusion_pytorch_model.fp16.safetensors (half the size; the sample trains on from it in float32), copies config.json
and writes training.json with the step count and the command. Needs only Python 3 (no torch).
"""
import json
import struct
import sys
from array import array
from pathlib import Path


def f32_to_f16(data: bytes) -> bytes:
    values = array("f")
    values.frombytes(data)
    return b"".join(struct.pack("<e", v) for v in values)


def main() -> None:
    run, steps, command = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    folder = run / "unet-ema"
    raw = (folder / "diffusion_pytorch_model.safetensors").read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + header_len])
    data = raw[8 + header_len:]
    metadata = header.pop("__metadata__", {})
    # The SHA-256 that Diffusion.Net records describes the float32 data read here, not the float16 data written
    # below: keep it and the library would refuse the new file as damaged.
    metadata.pop("diffusion.data_sha256", None)
    metadata.setdefault("format", "pt")  # what safetensors.torch.save_file writes and transformers checks
    out_header, chunks, offset = {}, [], 0
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        blob = data[begin:end]
        if entry["dtype"] == "F32":
            blob, dtype = f32_to_f16(blob), "F16"
        else:
            dtype = entry["dtype"]
        out_header[name] = {"dtype": dtype, "shape": entry["shape"], "data_offsets": [offset, offset + len(blob)]}
        chunks.append(blob)
        offset += len(blob)
    out_header["__metadata__"] = metadata
    encoded = json.dumps(out_header, separators=(",", ":")).encode()
    encoded += b" " * ((8 - len(encoded) % 8) % 8)
    target = Path(__file__).resolve().parent.parent / "samples" / "Flowers" / "starting-checkpoint"
    target.mkdir(parents=True, exist_ok=True)
    (target / "diffusion_pytorch_model.fp16.safetensors").write_bytes(struct.pack("<Q", len(encoded)) + encoded + b"".join(chunks))
    (target / "config.json").write_text((folder / "config.json").read_text())
    made = {"Steps": steps, "Command": command}
    (target / "training.json").write_text(json.dumps(made, indent=2) + "\n")


if __name__ == "__main__":
    main()
