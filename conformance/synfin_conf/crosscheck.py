"""The cross-check of several DUTs: which tests diverge between them, whether
each divergence is declared, and what each side sent (a short trace diff).

A test *diverges* when its outcome is not the same on every DUT it ran on.
A divergence is *explained* when every outcome is PASS or XFAIL: the DUT
that departs carries a strict expected failure (`xfail_on(kind, reason,
req)`) with its reason and requirement ID. Anything else (PASS on one side,
FAIL, ERROR, XPASS(strict) or SKIP on the other) is *unexplained*: either
the DUT is wrong, or the test is wrong about one of them, or the departure
is not declared yet. The run fails while one is left.

Frames are kept per test result (raw bytes, both directions, kernel time
stamps) so that the report can show, for each divergence, the frames of
that test on each DUT side by side and write a pcap of each.
"""

import difflib
import os
import re
import struct
from collections import OrderedDict

PASS, XFAIL = "PASS", "XFAIL"

# Frames of one test are at most this many in a trace (a SYN flood test
# sends thousands); the rest is summarized in one line.
MAX_TRACE = 400
# Lines of one trace diff in the report.
MAX_DIFF_LINES = 40


class Divergence:
    """One test whose outcome differs between DUTs."""

    __slots__ = ("base", "row", "explained", "why")

    def __init__(self, base, row, explained, why):
        self.base, self.row, self.explained, self.why = base, row, explained, why


def divergences(results):
    """[Divergence] of every test that ran on two DUTs or more and whose
    outcomes differ, in the order the tests ran."""
    out = []
    for base, row in results.matrix().items():
        ran = {d: r for d, r in row.items() if r.outcome is not None}
        if len(ran) < 2 or len({r.outcome for r in ran.values()}) == 1:
            continue
        explained = all(r.outcome in (PASS, XFAIL) for r in ran.values())
        if explained:
            # The plugin's xfail reason already starts with "<kind>: ".
            why = "; ".join(r.reason for r in ran.values() if r.outcome == XFAIL)
        else:
            why = "; ".join("%s %s" % (d, r.outcome) for d, r in ran.items())
        out.append(Divergence(base, ran, explained, why))
    return out


def counts(results):
    """(tests on 2+ DUTs, agreeing, explained divergences, unexplained divergences)."""
    multi = [row for row in results.matrix().values()
             if len([r for r in row.values() if r.outcome is not None]) >= 2]
    div = divergences(results)
    expl = sum(1 for d in div if d.explained)
    return len(multi), len(multi) - len(div), expl, len(div) - expl


# -- frames and traces ---------------------------------------------------------

def snapshot(wire):
    """The current test's frames of a Wire as (time, outgoing, raw) tuples,
    after reading what is still queued in the socket."""
    try:
        wire.read_available()
    except OSError:
        pass
    return [(f.time, f.outgoing, f.raw) for f in wire.log]


def write_pcap(path, frames):
    """A pcap (LINKTYPE_ETHERNET, microsecond stamps) of (time, outgoing, raw)
    frames. Returns the path, or None when there is nothing to write."""
    if not frames:
        return None
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for t, _out, raw in frames:
            sec = int(t)
            usec = int(round((t - sec) * 1e6))
            if usec >= 1000000:
                sec, usec = sec + 1, usec - 1000000
            f.write(struct.pack("<IIII", sec, usec, len(raw), len(raw)))
            f.write(raw)
    return path


def pcap_name(nodeid):
    return re.sub(r"[^\w.-]+", "_", nodeid.split("/")[-1]).strip("_") + ".pcap"


_FLAG_ORDER = "SFRPAUEC"
_OPT_SHORT = {"MSS": "MSS", "SAckOK": "SACKOK", "SAck": "SACK", "Timestamp": "TS", "WScale": "WS"}


def _flags(tcp):
    f = str(tcp.flags)
    return "".join(c for c in _FLAG_ORDER if c in f) or "."


def _opts(tcp):
    out = []
    for k, v in tcp.options:
        if k in ("NOP", "EOL"):
            continue
        name = _OPT_SHORT.get(k, str(k))
        out.append("%s=%s" % (name, v) if k in ("MSS", "WScale") else name)
    return "<%s>" % ",".join(out) if out else ""


def trace(frames):
    """[(key, display)] of the TCP frames of one test. Connections are named
    c0, c1, ... in order of appearance (4-tuples the DUT speaks on first
    without a SYN are leftovers of earlier tests and left out), sequence numbers are relative to the
    first one seen in each direction (ISNs and ports are random), windows
    and times are shown but not compared (they differ between stacks and
    runs without meaning a different behaviour)."""
    from scapy.layers.inet import ICMP, IP, TCP
    from scapy.layers.l2 import Ether
    conns = OrderedDict()
    stray = set()
    base = {}
    rows = []
    t0 = frames[0][0] if frames else 0.0
    for t, outgoing, raw in frames[:MAX_TRACE]:
        pkt = Ether(raw)
        d = "T>D" if outgoing else "D>T"
        if TCP not in pkt:
            if ICMP in pkt:
                key = "%s ICMP type=%d code=%d" % (d, pkt[ICMP].type, pkt[ICMP].code)
            elif IP in pkt:
                key = "%s IP proto=%d" % (d, pkt[IP].proto)
            else:
                key = "%s %s" % (d, pkt.lastlayer().name)
            rows.append((key, "%7.3fs %s" % (max(t - t0, 0.0), key)))
            continue
        tcp = pkt[TCP]
        tup = (tcp.sport, tcp.dport) if outgoing else (tcp.dport, tcp.sport)
        if tup not in conns and not outgoing and "S" not in str(tcp.flags):
            # The DUT speaks first on a 4-tuple without a SYN: a leftover of
            # an earlier test (an orphan retransmitting its FIN), not part
            # of this one. Leaving it out keeps the diff to the test.
            stray.add(tup)
        if tup in stray:
            continue
        name = conns.setdefault(tup, "c%d" % len(conns))
        mine, other = (name, d), (name, "D>T" if outgoing else "T>D")
        if mine not in base:
            base[mine] = tcp.seq
        seq = (tcp.seq - base[mine]) & 0xffffffff
        if seq >= 1 << 31:
            seq -= 1 << 32
        if "A" in str(tcp.flags):
            if other in base:
                ack = (tcp.ack - base[other]) & 0xffffffff
                ack = str(ack - (1 << 32) if ack >= 1 << 31 else ack)
            else:
                ack = "?"
        else:
            ack = "-"
        n = len(bytes(tcp.payload))
        key = "%s %s %-4s seq=%s ack=%s len=%d %s" % (name, d, _flags(tcp), seq, ack, n, _opts(tcp))
        # A received frame carries the kernel's stamp, a sent one the time
        # of send(): the first may be a hair earlier than the frame before it.
        rows.append((key.rstrip(), "%7.3fs %s win=%d" % (max(t - t0, 0.0), key.rstrip(), tcp.window)))
    if len(frames) > MAX_TRACE:
        rows.append(("... %d more frames" % (len(frames) - MAX_TRACE),
                     "         ... %d more frames not shown" % (len(frames) - MAX_TRACE)))
    return rows


def trace_diff(ref_name, ref_frames, name, frames):
    """Lines of a diff of two sides' traces: '  ' both sent/received it, '-'
    only on the reference DUT, '+' only on the other. Runs of common frames
    are shortened to their ends."""
    a, b = trace(ref_frames or []), trace(frames or [])
    out = ["--- %s (%d frames)" % (ref_name, len(ref_frames or [])),
           "+++ %s (%d frames)" % (name, len(frames or []))]
    sm = difflib.SequenceMatcher(None, [k for k, _ in a], [k for k, _ in b], autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            same = [a[i][1] for i in range(i1, i2)]
            if len(same) > 3:
                same = [same[0], "   ... %d frames alike on both" % (len(same) - 2), same[-1]]
            out += ["  " + s for s in same]
            continue
        out += ["- " + a[i][1] for i in range(i1, i2)]
        out += ["+ " + b[j][1] for j in range(j1, j2)]
    if len(out) > MAX_DIFF_LINES:
        out = out[:MAX_DIFF_LINES] + ["... %d more lines (see the pcaps)" % (len(out) - MAX_DIFF_LINES)]
    return out


def frame_differences(results):
    """[(base, row)] of tests that passed on every DUT although the DUTs did
    not send the same frames (flags, relative numbers, lengths, options; not
    windows or times). Not a failure: the tests allow both, e.g. an extra
    ACK or other SYN options. The report lists them for reading."""
    out = []
    for base, row in results.matrix().items():
        ran = [r for r in row.values() if r.outcome is not None]
        if len(ran) < 2 or any(r.outcome != PASS for r in ran):
            continue
        keys = [[k for k, _ in trace(r.frames)] for r in ran]
        if any(k != keys[0] for k in keys[1:]):
            out.append((base, row))
    return out


def save_divergence_pcaps(results, report_dir):
    """Write a pcap of every divergent test on every DUT (failed tests have
    theirs already)."""
    for div in divergences(results):
        for r in div.row.values():
            if r.pcap is None and r.frames:
                try:
                    r.pcap = write_pcap(os.path.join(report_dir, "pcap", pcap_name(r.nodeid)), r.frames)
                except OSError:
                    r.pcap = None


def terminal_lines(results):
    """The cross-check summary for the terminal; [] with fewer than 2 DUTs."""
    duts = results.duts()
    if len(duts) < 2:
        return []
    multi, agree, expl, unexpl = counts(results)
    lines = ["cross-check %s: %d tests ran on every DUT; %d agree; %d diverge: %d explained "
             "(declared), %d unexplained" % (" vs ".join(duts), multi, agree, expl + unexpl, expl, unexpl)]
    for div in divergences(results):
        lines.append("  %s %s: %s" % ("declared   " if div.explained else "UNEXPLAINED",
                                      div.base.split("::", 1)[-1],
                                      ", ".join("%s %s" % (d, r.outcome) for d, r in div.row.items())))
    return lines


def markdown(results, report_dir):
    """The report's "Cross-check" section, as lines."""
    duts = results.duts()
    if len(duts) < 2:
        return []
    multi, agree, expl, unexpl = counts(results)
    out = ["## Cross-check (%s)" % " vs ".join(duts), "",
           "Tests run on every DUT: **%d**; same result everywhere: **%d**; divergences: **%d**, "
           "of which **%d explained** (a strict expected failure declared for the DUT that departs, "
           "with its reason and requirement) and **%d unexplained**." % (multi, agree, expl + unexpl,
                                                                         expl, unexpl), ""]
    divs = divergences(results)
    if not divs:
        return out + ["No divergence.", ""]
    out += ["| test | " + " | ".join(duts) + " | status | reason | pcaps |",
            "|---|" + "---|" * (len(duts) + 3)]
    for div in divs:
        pcaps = " ".join("[%s](%s)" % (d, os.path.relpath(r.pcap, report_dir))
                         for d, r in div.row.items() if r.pcap)
        out.append("| `%s` | %s | %s | %s | %s |" % (
            div.base, " | ".join(div.row[d].outcome if d in div.row else "-" for d in duts),
            "explained" if div.explained else "**UNEXPLAINED**", div.why.replace("|", "\\|"), pcaps or "-"))
    out.append("")
    out.append("What each side sent: section \"Cross-check: trace diffs\" below.")
    out.append("")
    return out


def markdown_traces(results):
    """The report's section with the trace diff of every divergence."""
    duts = results.duts()
    divs = divergences(results) if len(duts) >= 2 else []
    if not divs:
        return []
    out = ["## Cross-check: trace diffs", "",
           "Frames of the test on each DUT (`T>D` tester to DUT, `D>T` DUT to tester; connections "
           "c0, c1, ... in order of appearance; sequence numbers relative to the first of each "
           "direction; windows and times shown, not compared). `-` only on %s, `+` only on the "
           "other DUT." % duts[0], ""]
    for div in divs:
        ref = div.row.get(duts[0])
        out.append("### `%s`%s" % (div.base, "" if div.explained else " (UNEXPLAINED)"))
        out.append("")
        out.append(", ".join("%s: %s" % (d, r.outcome) for d, r in div.row.items()))
        out += ["", "```diff"]
        for d in duts[1:]:
            r = div.row.get(d)
            if ref is None or r is None:
                continue
            out += trace_diff(duts[0], ref.frames, d, r.frames)
        out += ["```", ""]
    return out


def markdown_frame_differences(results):
    """The report's section on tests that agree in result but not in frames."""
    duts = results.duts()
    if len(duts) < 2:
        return []
    diffs = frame_differences(results)
    out = ["## Same result, different frames", "",
           "%d tests passed on every DUT although the DUTs sent different frames (the tests accept "
           "both; listed for reading, e.g. other SYN options or an extra ACK). Open one to see "
           "the trace diff." % len(diffs), ""]
    for base, row in diffs:
        out += ["<details><summary><code>%s</code></summary>" % base, "", "```diff"]
        ref = row.get(duts[0])
        for d in duts[1:]:
            if ref is not None and d in row:
                out += trace_diff(duts[0], ref.frames, d, row[d].frames)
        out += ["```", "", "</details>", ""]
    return out
