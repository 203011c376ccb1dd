"""RST validation in every state that has a receive window (RFC 9293 section
3.10.7.4 "first/second check", with the RFC 5961 section 3.2 mitigation that
RFC 9293 folds in):

* SEG.SEQ = RCV.NXT exactly: the connection is reset (RFC5961:3.2-b; U-11/U-12
  say what "reset" means per state);
* inside the window but not exact: no reset, a challenge ACK
  <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> instead (RFC5961:3.2-c);
* outside the window: dropped with no reply (RFC5961:3.2-a, U-10).

The matrix is state x offset. The window is the one the DUT last advertised.
SYN-SENT, where the ACK field decides (RFC5961:3.2-d), is at the end.

Profile: RFC 9293 with RFC 5961. In TIME-WAIT an exact RST therefore closes
(RFC 9293), not ignored as RFC 1337 proposes; test_timewait.py covers both.
"""

import pytest

from synfin_conf import TCP, seq_add, xfail_on
from synfin_conf import states

from packs_util import (assert_closed, dut_rcv_wnd, expect_challenge_ack, expect_silence,
                        probe_is_reset)

STATES = ["SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "CLOSING",
          "LAST-ACK", "TIME-WAIT"]

OFFSETS = [
    # id, offset from RCV.NXT ("W" = advertised RCV.WND), expected outcome
    ("exact", 0, "reset"),
    ("in_window", 1, "challenge"),
    ("in_window_last", ("W", -1), "challenge"),
    ("beyond_window", ("W", 1000), "drop"),
    ("below_window", -1000, "drop"),
]

TIME_WAIT_CHALLENGE = xfail_on(
    "linux", req="RFC5961:3.2-c",
    reason="Linux's TIME-WAIT minisocket (tcp_timewait_state_process) keeps no receive "
           "window and drops an RST whose sequence number is not exactly RCV.NXT without "
           "sending a challenge ACK")


def _cases():
    out = []
    for st in STATES:
        for oid, off, outcome in OFFSETS:
            marks = []
            if st == "TIME-WAIT" and outcome == "challenge":
                marks.append(TIME_WAIT_CHALLENGE)
            out.append(pytest.param(st, off, outcome, id="%s-%s" % (st, oid), marks=marks))
    return out


def _offset(conn, spec):
    if isinstance(spec, tuple):
        return dut_rcv_wnd(conn) + spec[1]
    return spec


def _ss(state):
    return {"SYN-RECEIVED": "SYN-RECV", "ESTABLISHED": "ESTAB"}.get(state, state)


def _assert_reset(dut, conn, state):
    """What a valid RST does in each state (U-11, U-12): back to LISTEN for a
    passive SYN-RECEIVED, CLOSED otherwise; either way the 4-tuple has no
    TCB and an ACK for it is answered with an RST."""
    expect_silence(conn)
    if state == "SYN-RECEIVED":
        assert dut.state_of(conn, listener=True) == "LISTEN"
    assert_closed(dut, conn)
    probe_is_reset(conn)


@pytest.mark.req("RFC5961:3.2-a", "RFC5961:3.2-b", "RFC5961:3.2-c", "RFC9293:U-10",
                 "RFC9293:U-11", "RFC9293:U-12")
@pytest.mark.parametrize("state,spec,outcome", _cases())
def test_rst_by_state_and_sequence(dut, state, spec, outcome):
    conn = states.bring_to(dut, state)
    off = _offset(conn, spec)
    conn.send(TCP(flags="R", seq=seq_add(conn.snd_nxt, off), ack=0), update=False)
    if outcome == "reset":
        _assert_reset(dut, conn, state)
        return
    if outcome == "challenge":
        expect_challenge_ack(conn)
    else:
        expect_silence(conn)
    assert dut.state_of(conn) == _ss(state)


# ---------------------------------------------------------------------------
# RST|ACK is validated by its sequence number just the same.

@pytest.mark.req("RFC5961:3.2-b", "RFC5961:3.2-c", "RFC9293:U-12")
@pytest.mark.parametrize("off,outcome", [(0, "reset"), (100, "challenge")], ids=["exact", "in_window"])
def test_established_rst_ack_validated_by_sequence(dut, off, outcome):
    conn = states.established(dut)
    conn.send(TCP(flags="RA", seq=seq_add(conn.snd_nxt, off)), update=False)
    if outcome == "reset":
        _assert_reset(dut, conn, "ESTABLISHED")
    else:
        expect_challenge_ack(conn)
        assert dut.state_of(conn) == "ESTAB"


@pytest.mark.req("RFC5961:3.2-c")
def test_established_challenge_ack_then_exact_rst_resets(dut):
    # RFC 5961 section 3.2: the peer that really lost its state answers the
    # challenge ACK with an RST at exactly the acknowledged number.
    conn = states.established(dut)
    conn.send(TCP(flags="R", seq=seq_add(conn.snd_nxt, 500)), update=False)
    challenge = expect_challenge_ack(conn)
    conn.send(TCP(flags="R", seq=challenge[TCP].ack), update=False)
    _assert_reset(dut, conn, "ESTABLISHED")


# ---------------------------------------------------------------------------
# Window edges where Linux is more lenient than the RFC on purpose.

@pytest.mark.req("RFC5961:3.2-a", "RFC9293:U-10")
@xfail_on("linux", req="RFC5961:3.2-a",
          reason="Linux's tcp_sequence() counts SEG.SEQ = RCV.NXT+RCV.WND as inside the window "
                 "(!after(seq, rcv_nxt + window)), so an RST exactly at the right edge gets a "
                 "challenge ACK instead of being dropped silently")
def test_established_rst_at_right_window_edge_dropped(dut):
    conn = states.established(dut)
    conn.send(TCP(flags="R", seq=seq_add(conn.snd_nxt, dut_rcv_wnd(conn))), update=False)
    expect_silence(conn)
    assert dut.state_of(conn) == "ESTAB"


@pytest.mark.req("RFC5961:3.2-a")
def test_established_rst_just_below_rcv_nxt_dropped(dut):
    conn = states.established(dut)
    conn.send(TCP(flags="R", seq=seq_add(conn.snd_nxt, -1)), update=False)
    expect_silence(conn)
    assert dut.state_of(conn) == "ESTAB"


@pytest.mark.req("RFC5961:3.2-a")
@pytest.mark.parametrize("state", ["CLOSE-WAIT", "CLOSING", "LAST-ACK"])
@xfail_on("linux", req="RFC5961:3.2-a",
          reason="Linux also accepts an RST at RCV.NXT-1 once the peer's FIN was received "
                 "(tcp_reset_check: CLOSE-WAIT, CLOSING, LAST-ACK), on purpose, for peers that "
                 "send their RST with the sequence number of their FIN; the RFC drops it as "
                 "outside the window")
def test_after_peer_fin_rst_at_fin_sequence_dropped(dut, state):
    conn = states.bring_to(dut, state)
    conn.send(TCP(flags="R", seq=seq_add(conn.snd_nxt, -1)), update=False)
    expect_silence(conn)
    assert dut.state_of(conn) == state


# ---------------------------------------------------------------------------
# SYN-SENT: RCV.NXT is not known yet; the ACK field decides (RFC5961:3.2-d,
# RFC 9293 section 3.10.7.3). An RST with an acceptable ACK is taken whatever
# its sequence number; without ACK, or with an unacceptable one, it is dropped.

@pytest.mark.req("RFC5961:3.2-d", "RFC9293:U-7")
@pytest.mark.parametrize("flags,ack_off,outcome",
                         [("RA", 1, "reset"), ("R", None, "drop"), ("RA", 0, "drop"),
                          ("RA", 2, "drop")],
                         ids=["ack_acceptable", "no_ack", "ack_eq_iss", "ack_above_snd_nxt"])
def test_syn_sent_rst_validated_by_ack(dut, flags, ack_off, outcome):
    conn = states.syn_sent(dut)
    ack = 0 if ack_off is None else seq_add(conn.irs, ack_off)
    conn.send(TCP(flags=flags, seq=0x10000, ack=ack), update=False)
    expect_silence(conn)
    if outcome == "reset":
        assert_closed(dut, conn)
    else:
        assert dut.state_of(conn) == "SYN-SENT"
