namespace Diffusion.Models;

/// <summary>How a <see cref="UNet2DModel"/> turns timesteps into features (<c>time_embedding_type</c>).</summary>
public enum TimeEmbeddingType
{
    /// <summary>diffusers' <c>Timesteps</c>: the sinusoidal embedding of t (<c>"positional"</c>, DDPM).</summary>
    Positional,

    /// <summary>diffusers' <c>GaussianFourierProjection</c> of ln t with a fixed random frequency vector, scale 16
    /// (<c>"fourier"</c>, score-SDE models); the output is divided by t.</summary>
    Fourier,

    /// <summary>A learned table with one row per training timestep (<c>"learned"</c>; needs <c>num_train_timesteps</c>).</summary>
    Learned,
}
