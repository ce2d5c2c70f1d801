using System.Buffers.Binary;

namespace Diffusion.IO;

/// <summary>
/// The CRC-32 zip archives record for each entry (IEEE 802.3 polynomial, reflected, 0xEDB88320), computed eight bytes
/// at a time ("slicing-by-8"). System.IO.Compression does not check it when reading, and the hardware CRC32
/// instructions compute another polynomial (Castagnoli), so the check lives here.
/// </summary>
internal static class ZipCrc32
{
    private static readonly uint[] Table = BuildTable();

    /// <summary>Continues a CRC over <paramref name="bytes"/>; start from 0 and pass the previous result to continue.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> bytes)
    {
        uint c = ~crc;
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

        return ~c;
    }

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
