namespace StratumProxy.Stratum.Mining;

/// <summary>
/// BIP310 version rolling: the miner may change only the version bits inside the negotiated mask, and submits
/// them as a 6th <c>mining.submit</c> parameter.
/// </summary>
public static class VersionRolling
{
    /// <summary>The mask BIP320 reserves for general-purpose version bits (bits 13–28), and the usual pool offer.</summary>
    public const uint Bip320Mask = 0x1FFFE000;

    /// <summary>The header version: <c>(jobVersion &amp; ~mask) | (versionBits &amp; mask)</c>.</summary>
    public static uint Apply(uint jobVersion, uint versionBits, uint mask) => (jobVersion & ~mask) | (versionBits & mask);

    /// <summary>
    /// True when the submitted bits change nothing outside the mask. Miners send either the rolled bits alone
    /// (cgminer, ckpool clients) or a whole version whose bits outside the mask equal the job's: both are accepted.
    /// </summary>
    public static bool IsWithinMask(uint versionBits, uint mask) => (versionBits & ~mask) == 0;

    /// <summary>
    /// Validates a submitted version-bits value against the job and mask, and gives the header version. Accepts
    /// bits that lie inside the mask, or a full version that differs from the job's only inside the mask.
    /// </summary>
    public static bool TryApply(uint jobVersion, uint versionBits, uint mask, out uint headerVersion)
    {
        if (IsWithinMask(versionBits, mask) || ((versionBits ^ jobVersion) & ~mask) == 0)
        {
            headerVersion = Apply(jobVersion, versionBits, mask);
            return true;
        }

        headerVersion = jobVersion;
        return false;
    }

    /// <summary>The mask both sides can roll: what the miner asked for within what the pool allows.</summary>
    public static uint Negotiate(uint poolMask, uint minerRequestedMask) => poolMask & minerRequestedMask;
}
