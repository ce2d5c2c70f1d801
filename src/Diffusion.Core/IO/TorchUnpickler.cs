using System.Buffers.Binary;
using System.Text;

namespace Diffusion.IO;

/// <summary>
/// An allowlist interpreter for the pickles <c>torch.save</c> writes (<c>data.pkl</c>, protocol 2; the protocol 4
/// opcodes that differ are accepted too). It executes nothing: the only callables are a fixed set of globals
/// (<see cref="Globals"/>) whose effect is re-implemented here as plain data (an ordered dict, a tensor record), and
/// any other global, any other opcode, a value of the wrong kind in a call is an <see cref="InvalidDataException"/>
/// naming the file. Every count is bounded (stack, memo, marks, string and line lengths by the bytes left), nothing
/// recurses, and no tensor memory is touched: tensors are records checked against their storage's declared size.
/// </summary>
internal sealed partial class TorchUnpickler
{
    /// <summary>Most values on the stack, and most memo entries; a state dict of 100,000 tensors needs about a million memo entries.</summary>
    public const int MaxValues = 1 << 22;

    private const int MaxLine = 256;  // GLOBAL's module and name lines

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly byte[] data;
    private readonly string path;
    private readonly List<object?> stack = [];
    private readonly List<int> marks = [];
    private readonly Dictionary<long, object?> memo = [];
    private readonly Dictionary<string, TorchStorageRef> storages = new(StringComparer.Ordinal);
    private int position;
    private int opcodeAt;

    private TorchUnpickler(byte[] data, string path)
    {
        this.data = data;
        this.path = path;
    }

    /// <summary>Interprets <paramref name="pickle"/> (the bytes of <c>data.pkl</c>) and returns the value it builds.</summary>
    /// <returns>null, bool, long, double, string, byte[], object?[] (tuples), List&lt;object?&gt;, <see cref="PickleDict"/>,
    /// <see cref="TorchGlobal"/>, <see cref="TorchStorageRef"/> or <see cref="TorchTensorRecord"/>, and containers of these.</returns>
    public static object? Load(byte[] pickle, string path) => new TorchUnpickler(pickle, path).Run();

    private object? Run()
    {
        while (true)
        {
            opcodeAt = position;
            byte op = ReadByte();
            switch (op)
            {
                case 0x80: // PROTO
                    {
                        byte protocol = ReadByte();
                        if (protocol > 5)
                        {
                            throw Invalid($"pickle protocol {protocol} is newer than 5");
                        }

                        break;
                    }

                case 0x95: // FRAME: a length prefix for buffering; the bytes follow inline
                    {
                        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(Read(8));
                        if (length > (ulong)(data.Length - position))
                        {
                            throw Invalid($"a frame of {length} bytes runs past the end of the pickle");
                        }

                        break;
                    }

                case (byte)'.': // STOP
                    return Pop();
                case (byte)'}': // EMPTY_DICT
                    Push(new PickleDict());
                    break;
                case (byte)']': // EMPTY_LIST
                    Push(new List<object?>());
                    break;
                case (byte)')': // EMPTY_TUPLE
                    Push(Array.Empty<object?>());
                    break;
                case (byte)'(': // MARK
                    if (marks.Count >= MaxValues)
                    {
                        throw Invalid($"more than {MaxValues} marks");
                    }

                    marks.Add(stack.Count);
                    break;
                case (byte)'0': // POP
                    Pop();
                    break;
                case (byte)'1': // POP_MARK
                    PopMark();
                    break;
                case (byte)'X': // BINUNICODE
                    Push(ReadString(BinaryPrimitives.ReadUInt32LittleEndian(Read(4))));
                    break;
                case 0x8c: // SHORT_BINUNICODE
                    Push(ReadString(ReadByte()));
                    break;
                case 0x8d: // BINUNICODE8
                    Push(ReadString(BinaryPrimitives.ReadUInt64LittleEndian(Read(8))));
                    break;
                case (byte)'B': // BINBYTES
                    Push(Read(CheckLength(BinaryPrimitives.ReadUInt32LittleEndian(Read(4)))).ToArray());
                    break;
                case (byte)'C': // SHORT_BINBYTES
                    Push(Read(ReadByte()).ToArray());
                    break;
                case (byte)'J': // BININT
                    Push((long)BinaryPrimitives.ReadInt32LittleEndian(Read(4)));
                    break;
                case (byte)'K': // BININT1
                    Push((long)ReadByte());
                    break;
                case (byte)'M': // BININT2
                    Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Read(2)));
                    break;
                case 0x8a: // LONG1
                    Push(ReadLong(ReadByte()));
                    break;
                case 0x8b: // LONG4
                    Push(ReadLong(CheckLength(BinaryPrimitives.ReadUInt32LittleEndian(Read(4)))));
                    break;
                case (byte)'G': // BINFLOAT (big-endian)
                    Push(BinaryPrimitives.ReadDoubleBigEndian(Read(8)));
                    break;
                case (byte)'N': // NONE
                    Push(null);
                    break;
                case 0x88: // NEWTRUE
                    Push(true);
                    break;
                case 0x89: // NEWFALSE
                    Push(false);
                    break;
                case (byte)'c': // GLOBAL module\nname\n
                    {
                        string module = ReadLine();
                        string name = ReadLine();
                        Push(ResolveGlobal(module, name));
                        break;
                    }

                case 0x93: // STACK_GLOBAL
                    {
                        object? name = Pop();
                        object? module = Pop();
                        if (module is not string m || name is not string n)
                        {
                            throw Invalid($"STACK_GLOBAL needs two strings; got {Kind(module)} and {Kind(name)}");
                        }

                        Push(ResolveGlobal(m, n));
                        break;
                    }

                case (byte)'Q': // BINPERSID
                    Push(ResolvePersistentId(Pop()));
                    break;
                case (byte)'R': // REDUCE
                    {
                        object? args = Pop();
                        object? callable = Pop();
                        Push(Call(callable, args));
                        break;
                    }

                case (byte)'b': // BUILD
                    {
                        object? state = Pop();
                        Build(Peek(), state);
                        break;
                    }

                case (byte)'s': // SETITEM
                    {
                        object? value = Pop();
                        object? key = Pop();
                        SetItem(Peek(), key, value);
                        break;
                    }

                case (byte)'u': // SETITEMS
                    {
                        object?[] items = PopMark();
                        if (items.Length % 2 != 0)
                        {
                            throw Invalid($"SETITEMS with an odd number of values ({items.Length})");
                        }

                        object? dict = Peek();
                        for (int i = 0; i < items.Length; i += 2)
                        {
                            SetItem(dict, items[i], items[i + 1]);
                        }

                        break;
                    }

                case (byte)'a': // APPEND
                    {
                        object? value = Pop();
                        AsList(Peek()).Add(value);
                        break;
                    }

                case (byte)'e': // APPENDS
                    {
                        object?[] items = PopMark();
                        AsList(Peek()).AddRange(items);
                        break;
                    }

                case 0x85: // TUPLE1
                    Push(new[] { Pop() });
                    break;
                case 0x86: // TUPLE2
                    {
                        object? b = Pop();
                        object? a = Pop();
                        Push(new[] { a, b });
                        break;
                    }

                case 0x87: // TUPLE3
                    {
                        object? c = Pop();
                        object? b = Pop();
                        object? a = Pop();
                        Push(new[] { a, b, c });
                        break;
                    }

                case (byte)'t': // TUPLE
                    Push(PopMark());
                    break;
                case (byte)'q': // BINPUT
                    Memoize(ReadByte());
                    break;
                case (byte)'r': // LONG_BINPUT
                    Memoize(BinaryPrimitives.ReadUInt32LittleEndian(Read(4)));
                    break;
                case 0x94: // MEMOIZE
                    Memoize(memo.Count);
                    break;
                case (byte)'h': // BINGET
                    Push(Recall(ReadByte()));
                    break;
                case (byte)'j': // LONG_BINGET
                    Push(Recall(BinaryPrimitives.ReadUInt32LittleEndian(Read(4))));
                    break;
                default:
                    string shown = op is >= 0x20 and < 0x7f ? $" ('{(char)op}')" : string.Empty;
                    throw Invalid($"opcode 0x{op:x2}{shown} is not one torch.save uses for a state dict; the file is damaged or was not written by torch.save");
            }
        }
    }

    private void SetItem(object? dict, object? key, object? value)
    {
        if (dict is not PickleDict d)
        {
            throw Invalid($"SETITEM on {Kind(dict)}");
        }

        if (key is not (string or long or bool or double))
        {
            throw Invalid($"a dict key must be a string or a number; got {Kind(key)}");
        }

        d.Set(key, value);
    }

    private List<object?> AsList(object? value) => value as List<object?> ?? throw Invalid($"APPEND on {Kind(value)}");

    private void Memoize(long index)
    {
        if (stack.Count == 0)
        {
            throw Invalid("memo store with an empty stack");
        }

        if (memo.Count >= MaxValues && !memo.ContainsKey(index))
        {
            throw Invalid($"more than {MaxValues} memo entries");
        }

        memo[index] = stack[^1];
    }

    private object? Recall(long index) =>
        memo.TryGetValue(index, out object? value) ? value : throw Invalid($"memo entry {index} is read before it is written");

    private void Push(object? value)
    {
        if (stack.Count >= MaxValues)
        {
            throw Invalid($"more than {MaxValues} values on the stack");
        }

        stack.Add(value);
    }

    private object? Pop()
    {
        if (stack.Count == 0 || (marks.Count > 0 && marks[^1] == stack.Count))
        {
            throw Invalid("the stack is empty");
        }

        object? value = stack[^1];
        stack.RemoveAt(stack.Count - 1);
        return value;
    }

    private object? Peek() =>
        stack.Count == 0 || (marks.Count > 0 && marks[^1] == stack.Count) ? throw Invalid("the stack is empty") : stack[^1];

    private object?[] PopMark()
    {
        if (marks.Count == 0)
        {
            throw Invalid("no mark to pop to");
        }

        int start = marks[^1];
        marks.RemoveAt(marks.Count - 1);
        object?[] items = [.. stack.GetRange(start, stack.Count - start)];
        stack.RemoveRange(start, stack.Count - start);
        return items;
    }

    private byte ReadByte() =>
        position < data.Length ? data[position++] : throw Invalid("the pickle ends before its STOP opcode");

    private ReadOnlySpan<byte> Read(int count)
    {
        if (count > data.Length - position)
        {
            throw Invalid($"the pickle ends inside a value ({count} bytes wanted, {data.Length - position} left)");
        }

        var span = new ReadOnlySpan<byte>(data, position, count);
        position += count;
        return span;
    }

    private int CheckLength(ulong length) =>
        length <= (ulong)(data.Length - position) ? (int)length : throw Invalid($"a value of {length} bytes runs past the end of the pickle");

    private string ReadString(ulong length)
    {
        ReadOnlySpan<byte> bytes = Read(CheckLength(length));
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Invalid("a string is not valid UTF-8");
        }
    }

    private string ReadLine()
    {
        int end = Array.IndexOf(data, (byte)'\n', position, Math.Min(MaxLine, data.Length - position));
        if (end < 0)
        {
            throw Invalid($"a GLOBAL name is not ended by a newline within {MaxLine} bytes");
        }

        ReadOnlySpan<byte> line = Read(end - position);
        position++; // the newline
        foreach (byte b in line)
        {
            if (b is < 0x20 or >= 0x7f)
            {
                throw Invalid("a GLOBAL name has a byte that is not printable ASCII");
            }
        }

        return Encoding.ASCII.GetString(line);
    }

    // LONG1/LONG4: a little-endian two's-complement integer of n bytes; storage sizes and offsets fit in 64 bits.
    private long ReadLong(int n)
    {
        if (n > 8)
        {
            throw Invalid($"an integer of {n} bytes is wider than 64 bits");
        }

        ReadOnlySpan<byte> bytes = Read(n);
        long value = 0;
        for (int i = n - 1; i >= 0; i--)
        {
            value = (value << 8) | bytes[i];
        }

        if (n is > 0 and < 8 && (bytes[n - 1] & 0x80) != 0)
        {
            value -= 1L << (8 * n); // sign-extend
        }

        return value;
    }

    private InvalidDataException Invalid(string what) => new($"{path}: invalid PyTorch pickle: {what} (pickle byte {opcodeAt}).");

    private static string Kind(object? value) => value switch
    {
        null => "None",
        string s => s.Length <= 40 ? $"'{s}'" : $"a string of {s.Length} characters",
        long l => l.ToString(System.Globalization.CultureInfo.InvariantCulture),
        bool b => b ? "True" : "False",
        double => "a float",
        byte[] => "bytes",
        object?[] t => $"a tuple of {t.Length}",
        List<object?> => "a list",
        PickleDict => "a dict",
        TorchGlobal g => g.ToString(),
        TorchStorageRef s => $"storage '{s.Key}'",
        TorchTensorRecord => "a tensor",
        _ => value.GetType().Name,
    };

    private static string Describe(object?[] values) => "(" + string.Join(", ", values.Take(8).Select(Kind)) + (values.Length > 8 ? ", …" : string.Empty) + ")";
}
