using System.Buffers.Binary;
using Hlvm.Runtime.Bytecode;

namespace Hlvm.Tests;

/// <summary>Builds raw function code for tests, with no checks at all, so that invalid code can be written too.</summary>
public static class Asm
{
    /// <summary>Encodes a sequence of opcodes, each followed by its operands (as ints, longs or doubles).</summary>
    public static byte[] Code(params object[] items)
    {
        var bytes = new List<byte>();
        int i = 0;
        while (i < items.Length)
        {
            var op = (Opcode)items[i++];
            bytes.Add((byte)op);
            foreach (var kind in OpcodeInfo.All[(int)op].Operands)
            {
                object v = items[i++];
                long bits = v is double d ? BitConverter.DoubleToInt64Bits(d) : Convert.ToInt64(v);
                var buffer = new byte[8];
                switch (OpcodeInfo.Width(kind))
                {
                    case 2: BinaryPrimitives.WriteUInt16LittleEndian(buffer, (ushort)bits); break;
                    case 4: BinaryPrimitives.WriteUInt32LittleEndian(buffer, (uint)bits); break;
                    default: BinaryPrimitives.WriteInt64LittleEndian(buffer, bits); break;
                }
                bytes.AddRange(buffer.Take(OpcodeInfo.Width(kind)));
            }
        }
        return [.. bytes];
    }

    /// <summary>A module whose only function is <c>main</c> (or <paramref name="name"/>) with the given code.</summary>
    public static Module Module(byte[] code, VmType? ret = null, VmType[]? locals = null, int maxStack = 8, string name = "main", VmType[]? parameters = null)
    {
        var m = new Module { Name = "test", SourceFile = "test.hl" };
        m.Strings.Add("hello");
        m.Types.Add(VmType.ArrayOf(VmType.Int));
        m.Types.Add(VmType.ArrayOf(VmType.String));
        m.Types.Add(VmType.MapOf(VmType.Int, VmType.Int));
        m.Natives.Add(new NativeImport("println", [VmType.String], VmType.Void));
        m.Functions.Add(new FunctionDef
        {
            Name = name,
            Params = parameters ?? [],
            Return = ret ?? VmType.Int,
            Locals = locals ?? parameters ?? [],
            MaxStack = maxStack,
            Code = code,
            Lines = [new LineEntry(0, 1)],
        });
        m.EntryFunction = name == "main" ? 0 : -1;
        return m;
    }
}
