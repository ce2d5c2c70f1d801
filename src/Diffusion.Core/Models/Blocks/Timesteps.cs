namespace Diffusion.Models.Blocks;

/// <summary>
/// diffusers' <c>Timesteps</c> (<c>src/diffusers/models/embeddings.py</c>): the sinusoidal embedding of each
/// timestep, <see cref="Models.TimestepEmbedding.Diffusers"/> as a module without parameters.
/// </summary>
/// <param name="numChannels">The embedding width.</param>
/// <param name="flipSinToCos">True puts the cosine half first.</param>
/// <param name="downscaleFreqShift">The shift in the frequency exponent's divisor (diffusers' <c>freq_shift</c>).</param>
/// <param name="scale">A factor on t · f before sin and cos.</param>
internal sealed class Timesteps(int numChannels, bool flipSinToCos, double downscaleFreqShift, double scale = 1)
    : nn.Module<Tensor, Tensor>(nameof(Timesteps))
{
    /// <summary>Embeds <paramref name="timesteps"/>.</summary>
    /// <param name="timesteps">A 1-D tensor <c>[N]</c>, integer or floating (fractional values are kept).</param>
    /// <returns>A new float32 tensor <c>[N, numChannels]</c>; the caller owns it.</returns>
    public override Tensor forward(Tensor timesteps) =>
        Models.TimestepEmbedding.Diffusers(timesteps, numChannels, flipSinToCos, downscaleFreqShift, scale);
}
