#!/usr/bin/env python3
"""Print the data-path benchmark table from vm-bench.sh's JSON lines.

Only ratios within one run mean anything (the VM is emulated), so every
sloop figure is set against veth, WireGuard, IPsec and the AEAD's own speed
measured in the same boot, and the issue's targets are checked on them.
"""
import json
import sys


def load(path):
    paths, tcrypt, vcpus = {}, {}, 1
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            rec = json.loads(line)
            if "path" in rec:
                paths[rec["path"]] = rec
            elif "tcrypt" in rec:
                tcrypt[rec["tcrypt"]] = rec["bytes_per_s"]
            elif "vcpus" in rec:
                vcpus = rec["vcpus"]
    return paths, tcrypt, vcpus


def ratio(a, b):
    if a is None or b in (None, 0):
        return None
    return a / b


def fmt(x, spec="%.2f"):
    return "n/a" if x is None else spec % x


def aead_mbit(tcrypt, prefix):
    """Mean of encryption and decryption bytes/s on one vCPU, in Mbit/s."""
    vals = [v for k, v in tcrypt.items() if k.startswith(prefix)]
    if not vals:
        return None
    return sum(vals) / len(vals) * 8 / 1e6


def main():
    paths, tcrypt, vcpus = load(sys.argv[1])
    mb = lambda p: paths.get(p, {}).get("mbit")
    veth, wg, esp = mb("veth"), mb("wireguard"), mb("ipsec-esp-udp-aes256gcm")
    print()
    print("%-26s %10s %8s %8s %8s %9s %6s" % ("path", "Mbit/s", "/veth", "/WG", "/IPsec",
                                            "ping ms", "busy"))
    for name in ("veth", "wireguard", "ipsec-esp-udp-aes256gcm",
                 "sloop-aes256gcm", "sloop-chacha20poly1305"):
        rec = paths.get(name, {})
        m = rec.get("mbit")
        print("%-26s %10s %8s %8s %8s %9s %6s" % (
            name, fmt(m, "%.1f"), fmt(ratio(m, veth)), fmt(ratio(m, wg)),
            fmt(ratio(m, esp)), fmt(rec.get("ping_ms"), "%.3f"),
            fmt(rec.get("busy"), "%.0f%%")))

    gcm = aead_mbit(tcrypt, "gcm(aes) 256")
    chacha = aead_mbit(tcrypt, "rfc7539esp(chacha20,poly1305) 288")
    print()
    print("tcrypt, 1420-byte blocks, one vCPU: gcm(aes)-256 %s Mbit/s, "
          "chacha20poly1305 %s Mbit/s; %d vCPUs" % (fmt(gcm, "%.0f"), fmt(chacha, "%.0f"), vcpus))
    # Both ends encrypt and decrypt inside the one VM: half the vCPUs' worth.
    bound = gcm * vcpus / 2 if gcm else None
    print("AEAD-bound limit for AES-256-GCM (tcrypt x vCPUs / 2): %s Mbit/s" % fmt(bound, "%.0f"))

    # Where the CPU went: each byte is sealed once and opened once, each
    # at tcrypt's speed at best, so 2 x throughput / tcrypt is the vCPUs'
    # worth spent in the AEAD; the rest of the busy time is everything else.
    for name, rate in (("sloop-aes256gcm", gcm), ("wireguard", chacha),
                       ("sloop-chacha20poly1305", chacha)):
        m, busy = mb(name), paths.get(name, {}).get("busy")
        if m and rate and busy:
            share = 2 * m / rate / (vcpus * busy / 100)
            print("%s: AEAD at least %.0f%% of the busy CPU time" % (name, 100 * share))

    targets = [
        ("ChaCha20-Poly1305 >= 1.0x WireGuard", ratio(mb("sloop-chacha20poly1305"), wg), 1.0),
        ("AES-256-GCM >= 3x IPsec ESP", ratio(mb("sloop-aes256gcm"), esp), 3.0),
        ("AES-256-GCM >= 70% of AEAD bound", ratio(mb("sloop-aes256gcm"), bound), 0.70),
    ]
    print()
    for name, value, want in targets:
        if value is None:
            verdict = "not measured"
        else:
            verdict = "met" if value >= want else "NOT met"
        print("target %-38s %8s  %s" % (name, fmt(value), verdict))


if __name__ == "__main__":
    main()
