#!/usr/bin/python3
"""Check that a folder written by our UNet2DModel.SavePretrained opens in diffusers' own code and gives our output.

diffusers' real config reader (configuration_utils.py: UNet2DModel.from_config on our config.json, which also
checks _class_name) builds diffusers' own UNet2DModel (src/diffusers/models/unets/unet_2d.py, laid out at
/work/dt113); our diffusion_pytorch_model.safetensors is loaded with load_state_dict(strict=True) (the stubbed
ModelMixin has no from_pretrained; safetensors is read by hand, no package needed); the output for our
io.safetensors inputs is compared with ours.

Make the folder with the C# test that writes it:
  DIFFUSION_EXPORT_UNET2D=/tmp/ours dotnet test tests/Diffusion.Core.Tests --filter FullyQualifiedName~FreshModelSavesAFolder
then: /usr/bin/python3 tools/reference/unet2d_load_ours.py /tmp/ours
"""
import json
import os
import sys

os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = "1"
sys.path[:0] = ["/work/dt113", "/work/dt113/stubs", os.path.dirname(os.path.abspath(__file__))]

import torch  # noqa: E402
from diffusers.models.unets.unet_2d import UNet2DModel  # noqa: E402
from unet_reference import read_safetensors  # noqa: E402

def main(folder):
    torch.set_num_threads(1)
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    model = UNet2DModel.from_config(config).eval()
    weights, metadata = read_safetensors(os.path.join(folder, "diffusion_pytorch_model.safetensors"))
    result = model.load_state_dict(weights, strict=True)
    io, _ = read_safetensors(os.path.join(folder, "io.safetensors"))
    with torch.no_grad():
        ours = io["output"]
        theirs = model(io["sample"], io["timesteps"], class_labels=io.get("class_labels")).sample
    error = (theirs - ours).abs().max().item()
    scale = ours.abs().max().item()
    print(f"config: _class_name={config.get('_class_name')} _diffusers_version={config.get('_diffusers_version')}, "
          f"{len(config)} keys; weights: {len(weights)} tensors, metadata {sorted(metadata)}; load_state_dict: {result}")
    print(f"parameters: {sum(p.numel() for p in model.parameters())}; max |diffusers - ours| = {error:.3e} (max |ours| = {scale:.3f})")
    ok = error <= 2e-5 * scale
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
