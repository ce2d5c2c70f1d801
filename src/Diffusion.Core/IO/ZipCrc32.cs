using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Diffusion.IO;

/// <summary>
/// The CRC-32 zip archives record for each entry (IEEE 802.3 polynomial, reflected, 0xEDB88320). System.IO.Compression
/// does not check it when reading, and the hardware CRC32 instruction computes another polynomial (Castagnoli), so the
/// check lives here: 64 bytes at a time by carry-less multiplication where the CPU has it (folding as in Intel's "Fast
/// CRC Computation for Generic Polynomials Using PCLMULQDQ", the constants being powers of x modulo the polynomial),
/// and eight bytes at a time from tables ("slicing-by-8") for the rest.
/// </summary>
internal static class ZipCrc32
{
    private static readonly uint[] Table = BuildTable();

    /// <summary>Continues a CRC over <paramref name="bytes"/>; start from 0 and pass the previous result to continue.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> bytes)
    {
        uint c = ~crc;
        if (Pclmulqdq.IsSupported && bytes.Length >= 64)
        {
            int folded = bytes.Length & ~15;
            c = Fold(c, bytes[..folded]);
            bytes = bytes[folded..];
        }

        return ~Slice8(c, bytes);
    }

    /// <summary>The table-driven CRC alone (tests compare it with the folded one).</summary>
    internal static uint AppendWithTables(uint crc, ReadOnlySpan<byte> bytes) => ~Slice8(~crc, bytes);

    // c is the running CRC register (not inverted); returns the register after the bytes.
    private static uint Slice8(uint c, ReadOnlySpan<byte> bytes)
    {
        ReadOnlySpan<uint> t = Table;
        while (bytes.Length >= 8)
        {
            uint one = BinaryPrimitives.ReadUInt32LittleEndian(bytes) ^ c;
            uint two = BinaryPrimitives.ReadUInt32LittleEndian(bytes[4..]);
            c = t[(7 * 256) + (int)(one & 0xff)] ^ t[(6 * 256) + (int)((one >> 8) & 0xff)] ^
                t[(5 * 256) + (int)((one >> 16) & 0xff)] ^ t[(4 * 256) + (int)(one >> 24)] ^
                t[(3 * 256) + (int)(two & 0xff)] ^ t[(2 * 256) + (int)((two >> 8) & 0xff)] ^
                t[256 + (int)((two >> 16) & 0xff)] ^ t[(int)(two >> 24)];
            bytes = bytes[8..];
        }

        foreach (byte b in bytes)
        {
            c = t[(int)((c ^ b) & 0xff)] ^ (c >> 8);
        }

        return c;
    }

    // Four 128-bit lanes are folded forward 512 bits at a time, then into one lane, which is reduced to 64 and then,
    // by Barrett reduction, to 32 bits. bytes.Length is a multiple of 16 and at least 64.
    private static uint Fold(uint c, ReadOnlySpan<byte> bytes)
    {
        Vector128<ulong> k1k2 = Vector128.Create(0x0154442bd4UL, 0x01c6e41596UL); // x^(4*128+32) and x^(4*128-32) mod P
        Vector128<ulong> k3k4 = Vector128.Create(0x01751997d0UL, 0x00ccaa009eUL); // x^(128+32) and x^(128-32) mod P
        Vector128<ulong> k5 = Vector128.Create(0x0163cd6124UL, 0UL);              // x^64 mod P
        Vector128<ulong> poly = Vector128.Create(0x01db710641UL, 0x01f7011641UL);  // P and floor(x^64 / P), bit-reflected
        Vector128<ulong> low32 = Vector128.Create(~0u, 0u, ~0u, 0u).AsUInt64();

        Vector128<ulong> x1 = Load(bytes, 0) ^ Vector128.CreateScalar(c).AsUInt64();
        Vector128<ulong> x2 = Load(bytes, 16);
        Vector128<ulong> x3 = Load(bytes, 32);
        Vector128<ulong> x4 = Load(bytes, 48);
        int at = 64;
        for (; bytes.Length - at >= 64; at += 64)
        {
            x1 = FoldOnce(x1, k1k2) ^ Load(bytes, at);
            x2 = FoldOnce(x2, k1k2) ^ Load(bytes, at + 16);
            x3 = FoldOnce(x3, k1k2) ^ Load(bytes, at + 32);
            x4 = FoldOnce(x4, k1k2) ^ Load(bytes, at + 48);
        }

        x1 = FoldOnce(x1, k3k4) ^ x2;
        x1 = FoldOnce(x1, k3k4) ^ x3;
        x1 = FoldOnce(x1, k3k4) ^ x4;
        for (; bytes.Length - at >= 16; at += 16)
        {
            x1 = FoldOnce(x1, k3k4) ^ Load(bytes, at);
        }

        // 128 bits to 64.
        x1 = Sse2.ShiftRightLogical128BitLane(x1, 8) ^ Pclmulqdq.CarrylessMultiply(x1, k3k4, 0x10);
        x1 = Pclmulqdq.CarrylessMultiply(x1 & low32, k5, 0x00) ^ Sse2.ShiftRightLogical128BitLane(x1, 4);

        // Barrett reduction to 32 bits.
        Vector128<ulong> t = Pclmulqdq.CarrylessMultiply(x1 & low32, poly, 0x10) & low32;
        x1 ^= Pclmulqdq.CarrylessMultiply(t, poly, 0x00);
        return x1.AsUInt32().GetElement(1);
    }

    private static Vector128<ulong> FoldOnce(Vector128<ulong> x, Vector128<ulong> k) =>
        Pclmulqdq.CarrylessMultiply(x, k, 0x00) ^ Pclmulqdq.CarrylessMultiply(x, k, 0x11);

    private static Vector128<ulong> Load(ReadOnlySpan<byte> bytes, int at) => MemoryMarshal.Read<Vector128<ulong>>(bytes[at..]);

    // Table k holds the CRC of a byte followed by k zero bytes.
    private static uint[] BuildTable()
    {
        uint[] table = new uint[8 * 256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            }

            table[i] = c;
        }

        for (int i = 0; i < 256; i++)
        {
            for (int k = 1; k < 8; k++)
            {
                uint previous = table[((k - 1) * 256) + i];
                table[(k * 256) + i] = table[(int)(previous & 0xff)] ^ (previous >> 8);
            }
        }

        return table;
    }
}
