using System.Security.Cryptography;
using System.Text;

namespace StratumProxy.Rigs.Whatsminer;

/// <summary>The API v2 token: key = md5crypt(password, salt) body, sign = md5crypt(key + time, newsalt) body, AES key = sha256(key).</summary>
internal sealed record WhatsminerV2Token(string Sign, byte[] AesKey)
{
    public static WhatsminerV2Token Derive(string password, string salt, string newSalt, string time)
    {
        var key = Md5Crypt.Body(password, salt);
        var sign = Md5Crypt.Body(key + time, newSalt);
        return new WhatsminerV2Token(sign, SHA256.HashData(Encoding.UTF8.GetBytes(key)));
    }

#pragma warning disable CA5358 // AES-ECB with NUL padding is what btminer decrypts; the mode is the protocol's, not ours.
    public string Encrypt(string plaintext)
    {
        using var aes = Aes.Create();
        aes.Key = AesKey;
        return Convert.ToBase64String(aes.EncryptEcb(Encoding.UTF8.GetBytes(plaintext), PaddingMode.Zeros));
    }

    public string Decrypt(string base64)
    {
        using var aes = Aes.Create();
        aes.Key = AesKey;
        var plain = aes.DecryptEcb(Convert.FromBase64String(base64), PaddingMode.None);
        return Encoding.UTF8.GetString(plain).TrimEnd('\0');
    }
#pragma warning restore CA5358
}
