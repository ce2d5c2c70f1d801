namespace Diffusion.Models.Blocks;

/// <summary>One block of a diffusers U-Net's channel plan (<see cref="UNet2DBody.DownPlan"/>, <see cref="UNet2DBody.UpPlan"/>).</summary>
/// <param name="Index">The block's position in <c>down_blocks</c> or <c>up_blocks</c>.</param>
/// <param name="Level">The resolution level whose per-level settings apply (an up block's is reversed).</param>
/// <param name="InChannels">A down block's input channels; an up block's <c>in_channels</c> (its last skip's).</param>
/// <param name="OutChannels">The block's output channels.</param>
/// <param name="PrevOutputChannels">An up block's input, the previous block's output channels; 0 for a down block.</param>
/// <param name="IsLast">True for the last block of its list, which has no down- or upsampler.</param>
internal readonly record struct UNetBlockChannels(int Index, int Level, int InChannels, int OutChannels, int PrevOutputChannels, bool IsLast);
