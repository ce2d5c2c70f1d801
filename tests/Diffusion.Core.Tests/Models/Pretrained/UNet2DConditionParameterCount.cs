using Diffusion.Models;

namespace Diffusion.Tests.Models.Pretrained;

/// <summary>
/// The parameter count of a <see cref="UNet2DConditionModel"/> worked out from its configuration, layer by layer as
/// diffusers builds it, so that SD 1.5's 860 M parameters can be checked without allocating 3.4 GB.
/// </summary>
internal static class UNet2DConditionParameterCount
{
    public static long Of(UNet2DConditionModelConfig c)
    {
        IReadOnlyList<int> ch = c.BlockOutChannels;
        int levels = ch.Count, temb = c.TimeEmbeddingDim ?? 4 * ch[0];
        bool scaleShift = c.ResnetTimeScaleShift == ResnetTimeScaleShift.ScaleShift;
        static long Conv(long cin, long cout, long k) => cin * cout * k * k + cout;
        static long Linear(long cin, long cout, bool bias = true) => cin * cout + (bias ? cout : 0);
        long Norm(long channels) => 2 * channels;
        long Resnet(long cin, long cout) =>
            Norm(cin) + Conv(cin, cout, 3) + Linear(temb, scaleShift ? 2 * cout : cout) + Norm(cout) + Conv(cout, cout, 3) + (cin != cout ? Conv(cin, cout, 1) : 0);
        long Transformer(int level, long channels, bool onlyCross)
        {
            long heads = At(c.AttentionHeadDim, level), inner = heads * (channels / heads), cross = At(c.CrossAttentionDim, level);
            long attention1 = Linear(inner, inner, false) + 2 * Linear(onlyCross ? cross : inner, inner, false) + Linear(inner, inner);
            long attention2 = Linear(inner, inner, false) + 2 * Linear(cross, inner, false) + Linear(inner, inner);
            long feedForward = Linear(inner, 8 * inner) + Linear(4 * inner, inner);
            long block = 3 * Norm(inner) + attention1 + attention2 + feedForward;
            long projections = c.UseLinearProjection ? Linear(channels, inner) + Linear(inner, channels) : Conv(channels, inner, 1) + Conv(inner, channels, 1);
            return Norm(channels) + projections + At(c.TransformerLayersPerBlock, level) * block;
        }

        long total = Conv(c.InChannels, ch[0], c.ConvInKernel) + Linear(ch[0], temb) + Linear(temb, temb)
            + Norm(ch[0]) + Conv(ch[0], c.OutChannels, c.ConvOutKernel);
        for (int i = 0; i < levels; i++)
        {
            int layers = At(c.LayersPerBlock, i);
            for (int j = 0; j < layers; j++)
            {
                total += Resnet(j == 0 ? (i == 0 ? ch[0] : ch[i - 1]) : ch[i], ch[i]);
                total += c.DownAttends(i) ? Transformer(i, ch[i], At(c.OnlyCrossAttention, i)) : 0;
            }

            total += i < levels - 1 ? Conv(ch[i], ch[i], 3) : 0;
        }

        if (c.MidBlockType is not null)
        {
            total += 2 * Resnet(ch[^1], ch[^1]) + Transformer(levels - 1, ch[^1], false);
        }

        int outChannel = ch[^1];
        for (int i = 0; i < levels; i++)
        {
            int level = levels - 1 - i, prev = outChannel, layers = At(c.LayersPerBlock, level) + 1;
            outChannel = ch[level];
            int skipIn = ch[Math.Max(level - 1, 0)];
            for (int j = 0; j < layers; j++)
            {
                total += Resnet((j == 0 ? prev : outChannel) + (j == layers - 1 ? skipIn : outChannel), outChannel);
                total += c.UpAttends(i) ? Transformer(level, outChannel, At(c.OnlyCrossAttention, level)) : 0;
            }

            total += i < levels - 1 ? Conv(outChannel, outChannel, 3) : 0;
        }

        return total;
    }

    private static T At<T>(IReadOnlyList<T> values, int level) => values.Count == 1 ? values[0] : values[level];
}
