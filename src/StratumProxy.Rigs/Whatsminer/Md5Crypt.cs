using System.Security.Cryptography;
using System.Text;

namespace StratumProxy.Rigs.Whatsminer;

/// <summary>
/// FreeBSD md5crypt ("$1$", what <c>openssl passwd -1 -salt</c> prints): Whatsminer API v2 derives its token and AES key
/// from it. The protocol fixes the algorithm; it protects nothing on our side.
/// </summary>
internal static class Md5Crypt
{
    private const string Alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// <summary>The full "$1$salt$hash" string.</summary>
    public static string Hash(string password, string salt)
    {
        var pw = Encoding.UTF8.GetBytes(password);
        var saltText = salt.Split('$')[0];
        if (saltText.Length > 8)
        {
            saltText = saltText[..8];
        }

        var saltBytes = Encoding.UTF8.GetBytes(saltText);
        var magic = "$1$"u8.ToArray();

        var alternate = Md5([.. pw, .. saltBytes, .. pw]);
        var context = new List<byte>(pw.Length * 4 + 64);
        context.AddRange(pw);
        context.AddRange(magic);
        context.AddRange(saltBytes);
        for (var remaining = pw.Length; remaining > 0; remaining -= 16)
        {
            context.AddRange(alternate.AsSpan(0, Math.Min(remaining, 16)));
        }

        for (var i = pw.Length; i != 0; i >>= 1)
        {
            context.Add((i & 1) != 0 ? (byte)0 : (pw.Length > 0 ? pw[0] : (byte)0));
        }

        var final = Md5([.. context]);
        for (var round = 0; round < 1000; round++)
        {
            var step = new List<byte>(pw.Length * 2 + saltBytes.Length + 32);
            step.AddRange((round & 1) != 0 ? pw : final);
            if (round % 3 != 0)
            {
                step.AddRange(saltBytes);
            }

            if (round % 7 != 0)
            {
                step.AddRange(pw);
            }

            step.AddRange((round & 1) != 0 ? final : pw);
            final = Md5([.. step]);
        }

        var output = new StringBuilder("$1$").Append(saltText).Append('$');
        Encode(output, final[0], final[6], final[12], 4);
        Encode(output, final[1], final[7], final[13], 4);
        Encode(output, final[2], final[8], final[14], 4);
        Encode(output, final[3], final[9], final[15], 4);
        Encode(output, final[4], final[10], final[5], 4);
        Encode(output, 0, 0, final[11], 2);
        return output.ToString();
    }

    /// <summary>The part after the third '$': what Whatsminer calls the key or the sign.</summary>
    public static string Body(string password, string salt)
    {
        var full = Hash(password, salt);
        return full[(full.LastIndexOf('$') + 1)..];
    }

#pragma warning disable CA5351 // md5crypt is mandated by the Whatsminer v2 token scheme, not chosen by us.
    private static byte[] Md5(byte[] data) => MD5.HashData(data);
#pragma warning restore CA5351

    private static void Encode(StringBuilder output, byte high, byte middle, byte low, int characters)
    {
        var value = (high << 16) | (middle << 8) | low;
        for (var i = 0; i < characters; i++)
        {
            output.Append(Alphabet[value & 0x3f]);
            value >>= 6;
        }
    }
}
