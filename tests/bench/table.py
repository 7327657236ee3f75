#!/usr/bin/env python3
"""Print the data-path benchmark table from vm-bench.sh's JSON lines.

Only ratios within one run mean anything (the VM is emulated), so every
sloop figure is set against veth, WireGuard, IPsec and the AEAD's own speed
measured in the same boot, and the issue's targets are checked on them.
"""
import json
import statistics
import sys


def load(path):
    """Records per path (one per round), tcrypt bytes/s lists, vCPUs."""
    paths, tcrypt, vcpus = {}, {}, 1
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            rec = json.loads(line)
            if "path" in rec:
                paths.setdefault(rec["path"], []).append(rec)
            elif "tcrypt" in rec:
                tcrypt.setdefault(rec["tcrypt"], []).append(rec["bytes_per_s"])
            elif "vcpus" in rec:
                vcpus = rec["vcpus"]
    return paths, tcrypt, vcpus


def median(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def field(paths, name, key):
    """The median of one field over a path's rounds."""
    return median(r.get(key) for r in paths.get(name, []))


def round_ratio(paths, a, b):
    """The median over rounds of a/b, each round's pair measured minutes
    apart at most, so that drift in the host's speed cancels out."""
    by_round = {r.get("round"): r.get("mbit") for r in paths.get(b, [])}
    return median(ratio(r.get("mbit"), by_round.get(r.get("round")))
                  for r in paths.get(a, []))


def ratio(a, b):
    if a is None or b in (None, 0):
        return None
    return a / b


def fmt(x, spec="%.2f"):
    return "n/a" if x is None else spec % x


def aead_mbit(tcrypt, prefix):
    """Mean of encryption and decryption bytes/s on one vCPU, in Mbit/s,
    over the tcrypt runs before and after the rounds."""
    vals = [v for k, vs in tcrypt.items() if k.startswith(prefix) for v in vs]
    if not vals:
        return None
    return sum(vals) / len(vals) * 8 / 1e6


WG, ESP = "wireguard", "ipsec-esp-udp-aes256gcm"
NAMES = ("veth", WG, ESP, "sloop-aes256gcm", "sloop-chacha20poly1305")


def spread(paths, name):
    vals = [r.get("mbit") for r in paths.get(name, []) if r.get("mbit") is not None]
    if len(vals) < 2:
        return ""
    return "%.0f-%.0f" % (min(vals), max(vals))


def print_paths(paths):
    rounds = max((len(v) for v in paths.values()), default=0)
    print()
    print("medians over %d rounds; ratios are medians of per-round ratios" % rounds)
    print("%-26s %10s %8s %8s %8s %9s %6s  %s" % ("path", "Mbit/s", "/veth", "/WG", "/IPsec",
                                                "ping ms", "busy", "range"))
    for name in NAMES:
        print("%-26s %10s %8s %8s %8s %9s %6s  %s" % (
            name, fmt(field(paths, name, "mbit"), "%.1f"),
            fmt(round_ratio(paths, name, "veth")), fmt(round_ratio(paths, name, WG)),
            fmt(round_ratio(paths, name, ESP)), fmt(field(paths, name, "ping_ms"), "%.3f"),
            fmt(field(paths, name, "busy"), "%.0f%%"), spread(paths, name)))


def main():
    paths, tcrypt, vcpus = load(sys.argv[1])
    mb = lambda p: field(paths, p, "mbit")
    print_paths(paths)

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
    for name, rate in (("sloop-aes256gcm", gcm), (WG, chacha),
                       ("sloop-chacha20poly1305", chacha)):
        m, busy = mb(name), field(paths, name, "busy")
        if m and rate and busy:
            share = 2 * m / rate / (vcpus * busy / 100)
            print("%s: AEAD at least %.0f%% of the busy CPU time" % (name, 100 * share))

    targets = [
        ("ChaCha20-Poly1305 >= 1.0x WireGuard",
         round_ratio(paths, "sloop-chacha20poly1305", WG), 1.0),
        ("AES-256-GCM >= 3x IPsec ESP", round_ratio(paths, "sloop-aes256gcm", ESP), 3.0),
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
