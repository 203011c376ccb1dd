"""RFC 5961 (blind in-window attacks), as RFC 9293 section 3.10.7.4 takes it in:

* section 4.2 / U-13: a SYN in any synchronized state, whatever its sequence
  number, gets a challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and is
  dropped; the connection goes on, and a later valid RST still ends it;
* section 5.2: SEG.ACK is acceptable only within
  (SND.UNA - MAX.SND.WND) =< SEG.ACK =< SND.NXT; outside it the segment is
  dropped and an ACK is sent;
* section 7: challenge ACKs are rate-limited (example: 10 in any 5 s).

The RST rules of section 3.2 are in test_rst_validation.py.
"""

import time

import pytest

from synfin_conf import DutError, TCP, seq_add
from synfin_conf import states

from packs_util import (QUIET, REPLY, assert_closed, challenge_ack, collect, dut_rcv_wnd,
                        dut_snd_nxt, expect_challenge_ack, has_payload, dut_setting,
                        probe_is_reset)

SYNCHRONIZED = ["ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK",
                "TIME-WAIT"]


def _ss(state):
    return {"ESTABLISHED": "ESTAB"}.get(state, state)


# ---------------------------------------------------------------------------
# Section 4.2: SYN in a synchronized state.

@pytest.mark.req("RFC5961:4.2", "RFC9293:U-13")
@pytest.mark.parametrize("state", SYNCHRONIZED)
def test_syn_at_rcv_nxt_gets_challenge_ack_and_no_reset(dut, state):
    conn = states.bring_to(dut, state)
    conn.send(TCP(flags="S", ack=0, options=[("MSS", 1460)]), update=False)
    expect_challenge_ack(conn)
    conn.expect_none(TCP(), where=lambda p: p[TCP].flags.R, timeout=QUIET)
    assert dut.state_of(conn) == _ss(state)


SYN_OFFSETS = [("in_window", 100), ("beyond_window", ("W", 1000)), ("below_window", -1000)]


@pytest.mark.req("RFC5961:4.2", "RFC9293:U-13")
@pytest.mark.parametrize("spec", [o[1] for o in SYN_OFFSETS], ids=[o[0] for o in SYN_OFFSETS])
def test_established_syn_anywhere_gets_challenge_ack(dut, spec):
    conn = states.established(dut)
    off = dut_rcv_wnd(conn) + spec[1] if isinstance(spec, tuple) else spec
    conn.send(TCP(flags="S", seq=seq_add(conn.snd_nxt, off), ack=0), update=False)
    expect_challenge_ack(conn)
    assert dut.state_of(conn) == "ESTAB"


@pytest.mark.req("RFC5961:4.2", "RFC9293:U-13")
def test_established_syn_ack_gets_challenge_ack(dut):
    conn = states.established(dut)
    conn.send(TCP(flags="SA", seq=seq_add(conn.snd_nxt, 10)), update=False)
    expect_challenge_ack(conn)
    assert dut.state_of(conn) == "ESTAB"


@pytest.mark.req("RFC5961:4.2")
def test_established_after_syn_challenge_data_still_flows(dut):
    conn = states.established(dut)
    conn.send(TCP(flags="S", ack=0), update=False)
    expect_challenge_ack(conn)
    conn.send(TCP(flags="PA"), payload=b"still here")
    conn.expect(TCP(flags="A", ack=conn.snd_nxt), timeout=REPLY)
    assert dut.recv(conn.sock, timeout=REPLY) == b"still here"
    assert dut.send(conn.sock, b"and you") == 7
    conn.expect(TCP(), payload=b"and you", timeout=REPLY)


@pytest.mark.req("RFC5961:4.2", "RFC5961:3.2-b")
def test_established_syn_challenge_answered_by_rst_resets(dut):
    # The section 4.2 scenario: a peer that rebooted sends a SYN; the
    # challenge ACK makes it send an RST at exactly the acknowledged number.
    conn = states.established(dut)
    conn.send(TCP(flags="S", seq=0x12345678, ack=0), update=False)
    challenge = expect_challenge_ack(conn)
    conn.send(TCP(flags="R", seq=challenge[TCP].ack, ack=0), update=False)
    conn.expect_none(TCP(), timeout=QUIET)
    assert_closed(dut, conn)
    probe_is_reset(conn)


# ---------------------------------------------------------------------------
# Section 5.2: the ACK range check.

def _established_small_window(dut, window=2000, sent=3000):
    """ESTABLISHED with MAX.SND.WND = `window` (the tester never offers more)
    after the DUT sent `sent` bytes that the tester acknowledged, so that
    SND.UNA - MAX.SND.WND acknowledges real data."""
    conn = states.listening(dut)
    conn.handshake(window=window)
    conn.sock, _ = dut.accept(conn.listen_sock, timeout=REPLY)
    assert dut.send(conn.sock, b"m" * sent) == sent
    start = conn.rcv_nxt
    end = seq_add(start, sent)
    deadline = time.time() + 3.0
    while conn.rcv_nxt != end:
        assert time.time() < deadline, "the DUT did not send its %d bytes" % sent
        conn.expect(TCP(), where=has_payload, timeout=REPLY)
        conn.send(TCP(flags="A", window=window))
    return conn


@pytest.mark.req("RFC5961:5.2")
def test_established_ack_at_lower_bound_of_range_ignored(dut):
    conn = _established_small_window(dut)
    conn.send(TCP(flags="A", ack=seq_add(conn.rcv_nxt, -2000), window=2000), update=False)
    conn.expect_none(TCP(), timeout=QUIET)


@pytest.mark.req("RFC5961:5.2")
def test_established_ack_below_range_gets_ack(dut):
    conn = _established_small_window(dut)
    conn.send(TCP(flags="A", ack=seq_add(conn.rcv_nxt, -2001), window=2000), update=False)
    expect_challenge_ack(conn)


@pytest.mark.req("RFC5961:5.2")
def test_established_data_with_ack_below_range_dropped(dut):
    conn = _established_small_window(dut)
    rcv_nxt = conn.snd_nxt
    conn.send(TCP(flags="PA", ack=seq_add(conn.rcv_nxt, -5000), window=2000), payload=b"i" * 10,
              update=False)
    conn.expect(TCP(flags="A", ack=rcv_nxt), timeout=REPLY)
    with pytest.raises(DutError, match="EAGAIN"):
        dut.recv(conn.sock, timeout=0.05)


@pytest.mark.req("RFC5961:5.2", "RFC9293:U-15")
@pytest.mark.parametrize("state", ["ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT",
                                   "CLOSING", "LAST-ACK"])
def test_ack_above_snd_nxt_gets_ack(dut, state):
    conn = states.bring_to(dut, state)
    conn.send(TCP(flags="A", ack=seq_add(dut_snd_nxt(conn), 1)), update=False)
    expect_challenge_ack(conn)
    assert dut.state_of(conn) == _ss(state)


@pytest.mark.req("RFC5961:5.2")
def test_established_ack_at_snd_nxt_accepted(dut):
    conn = states.established(dut)
    assert dut.send(conn.sock, b"k" * 100) == 100
    conn.expect(TCP(), payload=b"k" * 100, timeout=REPLY)
    conn.send(TCP(flags="A"))      # SEG.ACK = SND.NXT: the upper bound is acceptable
    conn.expect_none(TCP(), timeout=QUIET)    # acknowledged, so never retransmitted


# ---------------------------------------------------------------------------
# Section 7: challenge ACK throttling. The RFC leaves count and interval to
# the administrator; the lab turns Linux's per-socket limit off for the other
# packs (net.ipv4.tcp_invalid_ratelimit=0), so these tests put back Linux's
# default (one challenge ACK per 500 ms per socket, i.e. at most 10 per 5 s,
# the RFC's own example) for their duration.

BURST = 30


def _count_challenges(conn, send_one, settle=0.4):
    tpl = challenge_ack(conn)
    for i in range(BURST):
        send_one(i)
    return len(collect(conn, settle, tpl=tpl))


@pytest.mark.req("RFC5961:7")
def test_established_rst_burst_challenge_acks_rate_limited(dut):
    with dut_setting(dut, "net.ipv4.tcp_invalid_ratelimit", 500):
        conn = states.established(dut)
        n = _count_challenges(conn, lambda i: conn.send(
            TCP(flags="R", seq=seq_add(conn.snd_nxt, 100 + i)), update=False))
        assert 1 <= n <= 10, "%d challenge ACKs for %d in-window RSTs within 0.4 s" % (n, BURST)
        assert dut.state_of(conn) == "ESTAB"


@pytest.mark.req("RFC5961:7")
def test_established_syn_burst_challenge_acks_rate_limited(dut):
    with dut_setting(dut, "net.ipv4.tcp_invalid_ratelimit", 500):
        conn = states.established(dut)
        n = _count_challenges(conn, lambda i: conn.send(
            TCP(flags="S", seq=seq_add(conn.snd_nxt, 100 + i), ack=0), update=False))
        assert 1 <= n <= 10, "%d challenge ACKs for %d SYNs within 0.4 s" % (n, BURST)
        assert dut.state_of(conn) == "ESTAB"


@pytest.mark.req("RFC5961:7", "RFC5961:3.2-b")
def test_established_exact_rst_resets_while_challenges_are_throttled(dut):
    # Throttling limits the replies, never the validation: an exact RST
    # right after a burst still resets.
    with dut_setting(dut, "net.ipv4.tcp_invalid_ratelimit", 500):
        conn = states.established(dut)
        _count_challenges(conn, lambda i: conn.send(
            TCP(flags="R", seq=seq_add(conn.snd_nxt, 100 + i)), update=False), settle=0.05)
        conn.send(TCP(flags="R"))
        dut.wait_state(conn, "CLOSED", timeout=REPLY)
