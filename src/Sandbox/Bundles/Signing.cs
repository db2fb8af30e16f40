using NSec.Cryptography;

namespace Hlvm.Sandbox.Bundles;

/// <summary>
/// Ed25519 keys and signatures (NSec, over libsodium). A public key is written as <c>ed25519:BASE64</c> (its 32
/// bytes); a private key file holds <c>ed25519-private:BASE64</c> (its 32-byte seed) and should be readable by
/// its owner only.
/// </summary>
public static class Signing
{
    private static readonly SignatureAlgorithm Ed25519 = SignatureAlgorithm.Ed25519;
    private const string PublicPrefix = "ed25519:", PrivatePrefix = "ed25519-private:";

    /// <summary>A new key pair: the private key's text and the public key's.</summary>
    public static (string PrivateKey, string PublicKey) CreateKeyPair()
    {
        using var key = Key.Create(Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        return (PrivatePrefix + Convert.ToBase64String(key.Export(KeyBlobFormat.RawPrivateKey)),
            PublicPrefix + Convert.ToBase64String(key.PublicKey.Export(KeyBlobFormat.RawPublicKey)));
    }

    /// <summary>A signing function for <see cref="BundleFront.Write"/>, from a private key's text.</summary>
    /// <exception cref="FormatException">the text is not a private key</exception>
    public static Func<byte[], (byte[] Key, byte[] Signature)> Signer(string privateKeyText)
    {
        byte[] seed = Decode(privateKeyText.Trim(), PrivatePrefix, "private key");
        return data =>
        {
            using var key = Key.Import(Ed25519, seed, KeyBlobFormat.RawPrivateKey);
            return (key.PublicKey.Export(KeyBlobFormat.RawPublicKey), Ed25519.Sign(key, data));
        };
    }

    /// <summary>The 32 bytes of a public key's text (<c>ed25519:BASE64</c>).</summary>
    /// <exception cref="FormatException">the text is not a public key</exception>
    public static byte[] ParsePublicKey(string text) => Decode(text.Trim(), PublicPrefix, "public key");

    public static string FormatPublicKey(byte[] key) => PublicPrefix + Convert.ToBase64String(key);

    /// <summary>Whether the signature over the front is the key's.</summary>
    public static bool Verify(BundleFront front)
    {
        if (front.PublicKey is null || front.Signature is null) return false;
        if (!PublicKey.TryImport(Ed25519, front.PublicKey, KeyBlobFormat.RawPublicKey, out var key) || key is null) return false;
        return Ed25519.Verify(key, front.SignedBytes, front.Signature);
    }

    private static byte[] Decode(string text, string prefix, string what)
    {
        if (!text.StartsWith(prefix, StringComparison.Ordinal)) throw new FormatException($"not an Ed25519 {what}: it should start with '{prefix}'");
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(text[prefix.Length..]);
        }
        catch (FormatException)
        {
            throw new FormatException($"not an Ed25519 {what}: the text after '{prefix}' is not base64");
        }
        return bytes.Length == 32 ? bytes : throw new FormatException($"not an Ed25519 {what}: {bytes.Length} bytes instead of 32");
    }
}
