namespace Diffusion.Schedulers;

/// <summary>What the model predicts (diffusers' <c>prediction_type</c>).</summary>
public enum PredictionType
{
    /// <summary>The added noise ε (<c>"epsilon"</c>).</summary>
    Epsilon,

    /// <summary>The velocity v = √ᾱ·ε − √(1 − ᾱ)·x0 (<c>"v_prediction"</c>).</summary>
    VPrediction,

    /// <summary>The clean sample x0 (<c>"sample"</c>).</summary>
    Sample,
}
