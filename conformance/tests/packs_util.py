"""Small helpers shared by the rule packs (U-rules, RFC 5961, options, RST
validation, TIME-WAIT).

They sit on top of the DSL (DSL.md) and only combine what it offers: where
the DUT's numbers are (SND.NXT, RCV.NXT, RCV.WND as the tester can see
them), what a challenge ACK looks like, what "the DUT sent nothing" means in
a state that retransmits its FIN, and segments with hand-made option bytes.

Naming: "tester" is our side of the link, "DUT" the stack under test. The
RFC's variables are always the DUT's (RCV.NXT = what the DUT expects next =
`conn.snd_nxt`).
"""

import subprocess
import time

import pytest

from scapy.layers.inet import TCP
from scapy.packet import Raw

from synfin_conf import seq_add
from synfin_conf.match import ExpectationFailed

# Short quiet periods: the DUT answers within a millisecond on a veth pair,
# and the whole default pack must stay under 90 s (issue 3, "Speed").
QUIET = 0.2

# A reply to a segment comes within a millisecond on the veth pair; half a
# second is a wide margin on a loaded 2-core machine and keeps the expected
# failures (which wait the full time) cheap.
REPLY = 0.5


def dut_frames(conn):
    """Frames the DUT sent on this connection so far, in order."""
    return [p for p in conn.frames() if p.haslayer(TCP) and p["IP"].src == conn.dut.ip]


def last_dut_ack(conn):
    """The last DUT frame that carried an ACK (its window is the DUT's RCV.WND)."""
    for p in reversed(dut_frames(conn)):
        if p[TCP].flags.A:
            return p
    raise AssertionError("no ACK-bearing frame from the DUT on %r yet" % conn)


def dut_rcv_wnd(conn, shift=0):
    """RCV.WND of the DUT as last advertised (RFC 9293 section 3.3.2).

    The right edge a receiver offers is SEG.ACK + SEG.WND of its last ACK.
    Measured from the tester's snd_nxt (the DUT's RCV.NXT), which is where
    that ACK pointed unless the tester sent more since.
    """
    p = last_dut_ack(conn)[TCP]
    edge = seq_add(p.ack, p.window << shift)
    return (edge - conn.snd_nxt) % (1 << 32)


def dut_snd_nxt(conn):
    """SND.NXT of the DUT: past its FIN once it sent one, else conn.rcv_nxt.

    In FIN-WAIT-1, CLOSING and LAST-ACK the state helpers leave
    conn.rcv_nxt at the FIN (so default sends do not ACK it), but the DUT's
    SND.NXT is already one beyond it.
    """
    if conn.dut_fin_seq is not None:
        return seq_add(conn.dut_fin_seq, 1)
    return conn.rcv_nxt


def challenge_ack(conn):
    """Template of <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> (RFC 5961 sections 3.2, 4.2;
    also the reply to an unacceptable segment, RFC 9293 section 3.10.7.4)."""
    return TCP(flags="A", seq=dut_snd_nxt(conn), ack=conn.snd_nxt)


def expect_challenge_ack(conn, timeout=REPLY):
    """Wait for the challenge ACK / duplicate ACK at the DUT's current numbers."""
    return conn.expect(challenge_ack(conn), timeout=timeout)


def _is_retransmission(conn, pkt):
    """True for frames a DUT sends on its own timers in this state: a
    retransmitted SYN (SYN-SENT) or FIN (FIN-WAIT-1, CLOSING, LAST-ACK).
    They are not replies to what the test sent, so silence checks skip them."""
    t = pkt[TCP]
    if t.flags.S and not t.flags.A and not t.flags.R:
        return True
    if t.flags.F and conn.dut_fin_seq is not None and t.seq == conn.dut_fin_seq:
        return True
    if t.flags.S and t.flags.A and conn.irs is not None and t.seq == conn.irs:
        return True
    return False


def expect_silence(conn, timeout=QUIET):
    """The DUT sends no reply on this 4-tuple within `timeout`.

    Its own retransmissions of a SYN, SYN-ACK or FIN do not count: in
    FIN-WAIT-1, CLOSING and LAST-ACK the DUT retransmits its FIN every RTO
    (~200 ms after a handshake on Linux), whatever the test sends.
    """
    conn.expect_none(TCP(), timeout=timeout, where=lambda p: not _is_retransmission(conn, p))


def collect(conn, timeout, tpl=None, where=None):
    """Every DUT frame of this connection matching tpl/where within `timeout`."""
    out = []
    end = time.time() + timeout
    while True:
        left = end - time.time()
        if left <= 0:
            return out
        try:
            out.append(conn.expect(tpl if tpl is not None else TCP(), timeout=left, where=where))
        except ExpectationFailed:
            return out


def has_payload(p):
    return len(bytes(p[TCP].payload)) > 0


def data_segments(conn, quiet, first=1.0):
    """Data-bearing DUT frames, in arrival order: waits up to `first` seconds
    for the first one, then collects until none has come for `quiet` seconds.

    A fixed collection window flaked on a loaded machine (the DUT's first
    segment came after the window closed); waiting for quiet keeps the check
    exact (nothing beyond the window may follow) without a long fixed wait.
    """
    out = []
    wait = first
    while True:
        try:
            out.append(conn.expect(TCP(), timeout=wait, where=has_payload))
        except ExpectationFailed:
            return out
        wait = quiet


def new_bytes(segs, start):
    """Bytes of new sequence space covered by `segs` from `start` on
    (retransmissions counted once)."""
    covered = set()
    for p in segs:
        t = p[TCP]
        n = len(bytes(t.payload))
        off = (t.seq - start) % (1 << 32)
        covered.update(range(off, off + n))
    return len(covered)


def assert_closed(dut, conn):
    """The DUT has no TCB for this 4-tuple any more (RFC 9293 state CLOSED)."""
    st = dut.state_of(conn)
    assert st == "CLOSED", "DUT connection is in %s, expected CLOSED" % st


def probe_is_reset(conn):
    """Wire evidence of CLOSED: an ACK-bearing segment now gets
    <SEQ=SEG.ACK><CTL=RST> (RFC 9293 section 3.10.7.1, or 3.10.7.2 when a
    listener owns the port), not a reply from a live connection."""
    probe_ack = seq_add(conn.rcv_nxt, 0)
    conn.send(TCP(flags="A", ack=probe_ack), update=False)
    conn.expect(TCP(flags="R", seq=probe_ack), timeout=REPLY)


def raw_options(tcp, opt_bytes, payload=b""):
    """A TCP template whose option area is exactly `opt_bytes` (padded with
    zeros to a 32-bit boundary), for options scapy cannot express (illegal
    lengths, odd alignment, bytes after EOL). The option bytes travel as the
    start of the TCP payload with a data offset that covers them, so the
    checksum scapy computes over header + payload stays right."""
    pad = (-len(opt_bytes)) % 4
    ob = bytes(opt_bytes) + b"\x00" * pad
    t = tcp.copy()
    t.dataofs = 5 + len(ob) // 4
    t.options = []
    return t / Raw(ob + bytes(payload))


def option_kinds(pkt):
    """Option kinds present in a DUT frame, parsed from the raw header bytes
    (so that EOL and padding are visible too)."""
    t = pkt[TCP]
    raw = bytes(t)[20:t.dataofs * 4]
    kinds = []
    i = 0
    while i < len(raw):
        k = raw[i]
        kinds.append(k)
        if k == 0:
            break
        if k == 1:
            i += 1
            continue
        if i + 1 >= len(raw) or raw[i + 1] < 2:
            break
        i += raw[i + 1]
    return kinds


def bytes_after_eol(pkt):
    """The option-area bytes that follow an End of Option List, if any."""
    t = pkt[TCP]
    raw = bytes(t)[20:t.dataofs * 4]
    i = 0
    while i < len(raw):
        k = raw[i]
        if k == 0:
            return raw[i + 1:]
        if k == 1:
            i += 1
            continue
        if i + 1 >= len(raw) or raw[i + 1] < 2:
            return b""
        i += raw[i + 1]
    return b""


def require_option(pkt, name, what):
    """Fail, saying so, when the DUT did not take up an optional extension
    (timestamps, SACK, window scaling) that the test is about. A DUT that does
    not implement one declares it with `xfail_on(kind, ...)` on those tests,
    so the cross-check shows the departure with its reason (and a strict
    XPASS the day the extension arrives), never as a silent skip."""
    if get_option(pkt, name) is None:
        pytest.fail("the DUT does not implement %s (no %s option on its SYN-ACK)" % (what, name))


def get_option(pkt, name):
    for k, v in pkt[TCP].options:
        if k == name:
            return v
    return None


def dut_setting(dut, name, value):
    """`with dut_setting(dut, name, value):` a stack-wide tunable, named by
    its Linux sysctl name, has that value for the block, on every DUT kind.

    Only for tunables the RFC itself leaves to the administrator (RFC 5961
    section 7: the challenge ACK rate limit; RFC 1337: the TIME-WAIT
    assassination switch). Linux gets the sysctl of its namespace, the engine
    the same name through the agent's SYSCTL extension (AGENT.md), so both
    DUTs are switched the same way and compared like for like.
    """
    return dut.setting(name, value)


# The name the packs used when only Linux could be switched.
linux_sysctl = dut_setting


def link_mtu(dut):
    """MTU of the tester's end of the link (the DUT's end has the same on a
    veth pair or TAP); RFC 6691 derives the advertised MSS from it."""
    out = subprocess.run(["ip", "-n", dut.lab.tester_ns, "-o", "link", "show", "dev", dut.lab.tester_if],
                         capture_output=True, text=True, check=True).stdout.split()
    return int(out[out.index("mtu") + 1])
