// Placeholder main job until the sampling pipeline lands: trains a tiny denoiser on coloured discs
// for a few seconds, then writes what it produces from noise to output/samples.png.
using Diffusion.Runtime;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

TorchRuntime.EnsureAvailable();
string outputDir = args.Length > 0 ? args[0] : "output";
Directory.CreateDirectory(outputDir);
manual_seed(0);

const int Size = 16;
var model = nn.Sequential(
    nn.Conv2d(3, 16, 3, padding: 1), nn.SiLU(),
    nn.Conv2d(16, 16, 3, padding: 1), nn.SiLU(),
    nn.Conv2d(16, 3, 3, padding: 1));
var optimizer = optim.AdamW(model.parameters(), lr: 3e-3);

Tensor MakeDiscs(int n)
{
    Tensor yy = arange(Size).view(1, 1, Size, 1).to(float32);
    Tensor xx = arange(Size).view(1, 1, 1, Size).to(float32);
    Tensor centre = rand(n, 2, 1, 1) * 8 + 4;
    Tensor inside = ((yy - centre[.., 0..1]).square() + (xx - centre[.., 1..2]).square()).lt(16).to(float32);
    Tensor colour = rand(n, 3, 1, 1);
    return inside * colour * 2 - 1;
}

for (int step = 1; step <= 300; step++)
{
    using var scope = NewDisposeScope();
    Tensor clean = MakeDiscs(32);
    Tensor noisy = clean + 0.5f * randn_like(clean);
    Tensor loss = nn.functional.l1_loss(model.forward(noisy), clean);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    if (step % 100 == 0)
    {
        Console.WriteLine($"step {step}, loss {loss.item<float>():F4}");
    }
}

using (no_grad())
using (var scope = NewDisposeScope())
{
    Tensor images = ((model.forward(MakeDiscs(8) + 0.5f * randn(8, 3, Size, Size)).clamp(-1, 1) + 1) * 127.5).to(uint8);
    using var bitmap = new SKBitmap(8 * Size, Size);
    for (int i = 0; i < 8; i++)
    {
        for (int y = 0; y < Size; y++)
        {
            for (int x = 0; x < Size; x++)
            {
                bitmap.SetPixel(i * Size + x, y, new SKColor(images[i, 0, y, x].item<byte>(), images[i, 1, y, x].item<byte>(), images[i, 2, y, x].item<byte>()));
            }
        }
    }

    string path = Path.Combine(outputDir, "samples.png");
    using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
    File.WriteAllBytes(path, data.ToArray());
    Console.WriteLine($"wrote {path}");
}
