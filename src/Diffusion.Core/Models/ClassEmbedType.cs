namespace Diffusion.Models;

/// <summary>How a <see cref="UNet2DModel"/> embeds class labels (<c>class_embed_type</c>). Without one,
/// <c>num_class_embeds</c> alone gives a learned table of class embeddings.</summary>
public enum ClassEmbedType
{
    /// <summary>Labels go through the time projection and their own <c>TimestepEmbedding</c> MLP (<c>"timestep"</c>).</summary>
    Timestep,

    /// <summary>Labels are already embeddings of the time-embedding width, added as they are (<c>"identity"</c>).</summary>
    Identity,
}
