#!/usr/bin/python3
"""The order in which diffusers' own UNet2DModel and UNet2DConditionModel register their top-level modules.

Builds tiny models with huggingface/diffusers' own unets/unet_2d.py and unets/unet_2d_condition.py (laid out at
/work/dt113 by shared/tools/diffusers-torch113; nothing upstream is committed) under Debian's PyTorch 1.13 and
prints named_children(). The U-Net tests assert the same order for ours (UNet2DModelLoadingTests,
UNet2DConditionModelLoadingTests). Note: diffusers assigns mid_block = None before the up blocks' list and the real
mid block after it, so mid_block comes after up_blocks.

Usage: /usr/bin/python3 tools/reference/module_order.py
"""
import sys

DT113 = "/work/dt113"
sys.path[:0] = [DT113, DT113 + "/stubs"]

from diffusers.models.unets.unet_2d import UNet2DModel  # noqa: E402
from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel  # noqa: E402

pixel = UNet2DModel(sample_size=8, block_out_channels=(8, 16), norm_num_groups=4, num_class_embeds=3,
                    down_block_types=("DownBlock2D", "AttnDownBlock2D"), up_block_types=("AttnUpBlock2D", "UpBlock2D"))
print("UNet2DModel:", [name for name, _ in pixel.named_children()])

latent = UNet2DConditionModel(sample_size=8, block_out_channels=(8, 16), norm_num_groups=4, cross_attention_dim=8,
                              attention_head_dim=2, layers_per_block=1,
                              down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                              up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"))
print("UNet2DConditionModel:", [name for name, _ in latent.named_children()])
