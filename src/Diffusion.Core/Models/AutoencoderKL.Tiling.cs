namespace Diffusion.Models;

/// <summary>Tiled encoding and decoding, as diffusers' <c>_tiled_encode</c> and <c>tiled_decode</c> do them.</summary>
public sealed partial class AutoencoderKL
{
    // diffusers' _tiled_encode: image tiles of TileSampleMinSize, a stride of 3/4 of that, each encoded alone; the
    // latent tiles' overlaps are blended linearly and each tile is cut to its stride.
    private Tensor TiledEncode(Tensor x)
    {
        int overlapSize = (int)(TileSampleMinSize * (1 - TileOverlapFactor));
        int blendExtent = (int)(TileLatentMinSize * TileOverlapFactor);
        return Tiled(x, TileSampleMinSize, overlapSize, blendExtent, TileLatentMinSize - blendExtent, tile =>
        {
            Tensor h = encoder.call(tile);
            return quant_conv is null ? h : quant_conv.call(h);
        });
    }

    // diffusers' tiled_decode: latent tiles of TileLatentMinSize, a stride of 3/4 of that, each decoded alone; the
    // image tiles' overlaps are blended linearly and each tile is cut to its stride.
    private Tensor TiledDecode(Tensor z)
    {
        int overlapSize = (int)(TileLatentMinSize * (1 - TileOverlapFactor));
        int blendExtent = (int)(TileSampleMinSize * TileOverlapFactor);
        return Tiled(z, TileLatentMinSize, overlapSize, blendExtent, TileSampleMinSize - blendExtent, tile =>
        {
            Tensor h = post_quant_conv is null ? tile : post_quant_conv.call(tile);
            return decoder.call(h);
        });
    }

    private Tensor Tiled(Tensor input, int tileSize, int stride, int blendExtent, int rowLimit, Func<Tensor, Tensor> run)
    {
        if (stride < 1 || rowLimit < 1)
        {
            throw new InvalidOperationException(
                $"tiling needs sample_size / 2^(levels − 1) >= 2 (a latent tile of at least 2 so the tiles advance); this model has sample_size {Config.SampleSize} " +
                $"and {Config.BlockOutChannels.Count} levels, giving image tiles of {TileSampleMinSize} and latent tiles of {TileLatentMinSize}. Turn UseTiling off.");
        }

        // 1. every tile on its own, row by row; only the finished tiles are kept, each tile's intermediates go with its scope
        var rows = new List<List<Tensor>>();
        for (long i = 0; i < input.shape[2]; i += stride)
        {
            var row = new List<Tensor>();
            for (long j = 0; j < input.shape[3]; j += stride)
            {
                using var tileScope = NewDisposeScope();
                Tensor tile = input[.., .., TensorIndex.Slice(i, i + tileSize), TensorIndex.Slice(j, j + tileSize)];
                row.Add(run(tile).MoveToOuterDisposeScope());
            }

            rows.Add(row);
        }

        // 2. blend each tile in place with the one above and the one to its left (already blended themselves, as in
        //    diffusers, whose blend_v / blend_h write into the tile), cut it to rowLimit, and join
        var resultRows = new List<Tensor>();
        for (int i = 0; i < rows.Count; i++)
        {
            var resultRow = new List<Tensor>();
            for (int j = 0; j < rows[i].Count; j++)
            {
                Tensor tile = rows[i][j];
                if (i > 0)
                {
                    BlendVertical(rows[i - 1][j], tile, blendExtent);
                }

                if (j > 0)
                {
                    BlendHorizontal(rows[i][j - 1], tile, blendExtent);
                }

                resultRow.Add(tile[.., .., TensorIndex.Slice(stop: rowLimit), TensorIndex.Slice(stop: rowLimit)]);
            }

            resultRows.Add(cat(resultRow, 3));
        }

        return cat(resultRows, 2);
    }

    // diffusers' blend_v: the first rows of b fade in from the last rows of a (the tile above), weight y / extent.
    private static void BlendVertical(Tensor a, Tensor b, int blendExtent) => Blend(a, b, blendExtent, dim: 2);

    // diffusers' blend_h: the first columns of b fade in from the last columns of a (the tile to the left).
    private static void BlendHorizontal(Tensor a, Tensor b, int blendExtent) => Blend(a, b, blendExtent, dim: 3);

    private static void Blend(Tensor a, Tensor b, int blendExtent, int dim)
    {
        long extent = Math.Min(Math.Min(a.shape[dim], b.shape[dim]), blendExtent);
        for (long y = 0; y < extent; y++)
        {
            using var scope = NewDisposeScope();
            double weight = (double)y / extent;
            Tensor target = b.select(dim, y);
            target.copy_(a.select(dim, a.shape[dim] - extent + y) * (1 - weight) + target * weight);
        }
    }
}
