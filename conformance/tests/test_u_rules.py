"""RFC 9293 section 3.10.7 event processing: the Appendix U rules U-1..U-18
of shared/rfc/requirements.md, one block per rule, table-driven where the
rule is a matrix (flags x sequence offsets x states).

Each test sends crafted segments from the tester, then checks what the DUT
sends back (or that it sends nothing) and, through the agent, the state of
its socket. RST handling per state is in test_rst_validation.py and SYNs in
synchronized states in test_rfc5961.py; both carry U-tags as well.
"""

import pytest

from synfin_conf import DutError, TCP, seq_add, xfail_on
from synfin_conf import states

from packs_util import (QUIET, REPLY, assert_closed, collect, dut_rcv_wnd, expect_challenge_ack,
                        expect_silence, get_option, new_bytes, probe_is_reset, require_option)

MSS_SACK = [("MSS", 1460), ("SAckOK", b"")]

# The tests below that observe queueing through SACK blocks cannot observe it
# on a DUT without SACK; the engine has none yet (core/README.md, "Data").
ENGINE_NO_SACK = xfail_on("engine", req="RFC2018:4-b",
                          reason="the engine does not implement SACK (RFC 2018), so these tests "
                                 "cannot see what it queued; it keeps no out-of-order data yet "
                                 "(dropped and answered with an ACK for RCV.NXT)")


def _listener_unchanged(dut, conn):
    """The listener is still listening and holds no half-open entry
    (RFC 9293 section 3.10.7.2: a segment that is not a SYN creates nothing)."""
    assert dut.state_of(conn, listener=True) == "LISTEN"
    assert dut.count_state("SYN-RECV", lport=conn.dut_port) == 0


def _listener_still_answers(conn):
    """A fresh SYN from another tester port still gets a SYN-ACK."""
    other = conn.dut.conn(dut_port=conn.dut_port)
    other.send(TCP(flags="S", options=[("MSS", 1460)]))
    other.expect(TCP(flags="SA", ack=seq_add(other.iss, 1)), timeout=REPLY)


# ---------------------------------------------------------------------------
# U-1: no TCB (CLOSED). An RST is dropped; anything else gets an RST built
# from the segment: <SEQ=SEG.ACK><CTL=RST> if it had ACK set, otherwise
# <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> (RFC 9293 sections 3.5.2, 3.10.7.1).

CLOSED_CASES = [
    # id, flags, payload bytes, answer: "rst_seq_ack" | "rst_ack_len" | None
    ("syn", "S", 0, "rst_ack_len"),
    ("syn_data", "S", 10, "rst_ack_len"),
    ("ack", "A", 0, "rst_seq_ack"),
    ("data_ack", "PA", 10, "rst_seq_ack"),
    ("fin", "F", 0, "rst_ack_len"),
    ("fin_ack", "FA", 0, "rst_seq_ack"),
    ("syn_ack", "SA", 0, "rst_seq_ack"),
    ("no_flags", "", 0, "rst_ack_len"),
    ("data_no_ack", "P", 10, "rst_ack_len"),
    ("rst", "R", 0, None),
    ("rst_ack", "RA", 0, None),
]


@pytest.mark.req("RFC9293:U-1")
@pytest.mark.parametrize("flags,plen,answer", [c[1:] for c in CLOSED_CASES],
                         ids=[c[0] for c in CLOSED_CASES])
def test_closed_segment_answered_per_rst_rules(dut, flags, plen, answer):
    conn = dut.conn(dut_port=dut.new_port())    # nobody listens on this port
    seg_ack = 0x5A5A0000 + plen
    sent = conn.send(TCP(flags=flags, ack=seg_ack), payload=b"c" * plen)
    t = sent[TCP]
    seg_len = plen + (1 if "S" in flags else 0) + (1 if "F" in flags else 0)
    if answer == "rst_seq_ack":
        conn.expect(TCP(flags="R", seq=seg_ack), timeout=REPLY)
    elif answer == "rst_ack_len":
        conn.expect(TCP(flags="RA", seq=0, ack=seq_add(t.seq, seg_len)), timeout=REPLY)
    else:
        conn.expect_none(TCP(), timeout=QUIET)


# ---------------------------------------------------------------------------
# U-2: LISTEN ignores an RST (checked before the ACK bit, so RST|ACK too).

@pytest.mark.req("RFC9293:U-2")
@pytest.mark.parametrize("flags", ["R", "RA"])
def test_listen_rst_ignored(dut, flags):
    conn = states.listening(dut)
    conn.send(TCP(flags=flags, ack=12345))
    conn.expect_none(TCP(), timeout=QUIET)
    _listener_unchanged(dut, conn)
    _listener_still_answers(conn)


# ---------------------------------------------------------------------------
# U-3: LISTEN answers any segment with ACK set by <SEQ=SEG.ACK><CTL=RST> and
# stays as it was.

@pytest.mark.req("RFC9293:U-3")
@pytest.mark.parametrize("flags,plen", [("A", 0), ("PA", 10), ("FA", 0), ("SA", 0)],
                         ids=["ack", "data_ack", "fin_ack", "syn_ack"])
def test_listen_ack_answered_with_rst_seq_seg_ack(dut, flags, plen):
    conn = states.listening(dut)
    seg_ack = 0x12340000
    conn.send(TCP(flags=flags, ack=seg_ack), payload=b"l" * plen)
    conn.expect(TCP(flags="R", seq=seg_ack), timeout=REPLY)
    _listener_unchanged(dut, conn)


# ---------------------------------------------------------------------------
# U-4: LISTEN + SYN: IRS=SEG.SEQ, RCV.NXT=SEG.SEQ+1, SYN-ACK, SYN-RECEIVED.

@pytest.mark.req("RFC9293:U-4", "RFC9293:MUST-10")
def test_listen_syn_at_sequence_wrap_gets_synack_acking_zero(dut):
    # SEG.SEQ = 2**32 - 1: RCV.NXT wraps to 0 (sequence arithmetic is modulo 2**32).
    conn = states.listening(dut)
    conn.iss = conn.snd_nxt = 0xFFFFFFFF
    conn.send(TCP(flags="S", options=[("MSS", 1460)]))
    conn.expect(TCP(flags="SA", ack=0), timeout=REPLY)
    dut.wait_state(conn, "SYN-RECV")
    conn.send(TCP(flags="A"))
    conn.sock, _ = dut.accept(conn.listen_sock, timeout=REPLY)
    conn.send(TCP(flags="PA"), payload=b"wrapped")
    assert dut.recv(conn.sock, timeout=REPLY) == b"wrapped"


@pytest.mark.req("RFC9293:U-4")
@xfail_on("linux", req="RFC9293:U-4",
          reason="Linux drops data carried on a SYN unless a TCP Fast Open cookie (RFC 7413) "
                 "validates it, so that spoofed SYNs cannot make it hold data; the SYN-ACK "
                 "acknowledges only the SYN and the peer must send the data again")
def test_listen_syn_with_data_queues_the_data(dut):
    conn = states.listening(dut)
    conn.send(TCP(flags="S", options=[("MSS", 1460)]), payload=b"early")
    conn.expect(TCP(flags="SA", ack=seq_add(conn.iss, 1)), timeout=REPLY)
    # RFC 9293 3.10.7.2: the text is queued and processed once ESTABLISHED.
    conn.send(TCP(flags="A", seq=seq_add(conn.iss, 1)), update=False)
    conn.sock, _ = dut.accept(conn.listen_sock, timeout=REPLY)
    assert dut.recv(conn.sock, timeout=0.3) == b"early"


# ---------------------------------------------------------------------------
# U-5: LISTEN drops a segment with none of SYN, ACK, RST, silently.

@pytest.mark.req("RFC9293:U-5", "RFC9293:U-17")
@pytest.mark.parametrize("flags,plen", [("F", 0), ("", 0), ("P", 10), ("U", 1)],
                         ids=["fin", "no_flags", "data_no_ack", "urg"])
def test_listen_segment_without_syn_ack_rst_dropped(dut, flags, plen):
    conn = states.listening(dut)
    conn.send(TCP(flags=flags), payload=b"x" * plen)
    conn.expect_none(TCP(), timeout=QUIET)
    _listener_unchanged(dut, conn)


# ---------------------------------------------------------------------------
# U-6: SYN-SENT + ACK with SEG.ACK =< ISS or SEG.ACK > SND.NXT: reply
# <SEQ=SEG.ACK><CTL=RST> and drop it; if it carries RST, just drop it.

BAD_ACKS = [("ack_eq_iss", 0), ("ack_below_iss", -1000), ("ack_above_snd_nxt", 2),
            ("ack_far_above", 100000)]


@pytest.mark.req("RFC9293:U-6")
@pytest.mark.parametrize("ack_off", [b[1] for b in BAD_ACKS], ids=[b[0] for b in BAD_ACKS])
def test_syn_sent_unacceptable_ack_gets_rst_seq_seg_ack(dut, ack_off):
    conn = states.syn_sent(dut)
    seg_ack = seq_add(conn.irs, ack_off)        # irs = the DUT's ISS
    conn.send(TCP(flags="A", ack=seg_ack), update=False)
    conn.expect(TCP(flags="R", seq=seg_ack), timeout=REPLY)
    assert dut.state_of(conn) == "SYN-SENT"


@pytest.mark.req("RFC9293:U-6")
def test_syn_sent_synack_with_unacceptable_ack_gets_rst(dut):
    conn = states.syn_sent(dut)
    seg_ack = seq_add(conn.irs, 5)
    conn.send(TCP(flags="SA", ack=seg_ack, options=[("MSS", 1460)]), update=False)
    conn.expect(TCP(flags="R", seq=seg_ack), timeout=REPLY)
    assert dut.state_of(conn) == "SYN-SENT"


@pytest.mark.req("RFC9293:U-6", "RFC5961:3.2-d")
@pytest.mark.parametrize("ack_off", [0, 2], ids=["ack_eq_iss", "ack_above_snd_nxt"])
def test_syn_sent_rst_with_unacceptable_ack_dropped(dut, ack_off):
    conn = states.syn_sent(dut)
    conn.send(TCP(flags="RA", ack=seq_add(conn.irs, ack_off)))
    conn.expect_none(TCP(), where=lambda p: p[TCP].flags.R, timeout=QUIET)
    assert dut.state_of(conn) == "SYN-SENT"


# ---------------------------------------------------------------------------
# U-7: SYN-SENT + RST with an acceptable ACK: "connection reset", CLOSED.
# An RST without ACK is dropped.

@pytest.mark.req("RFC9293:U-7", "RFC5961:3.2-d")
def test_syn_sent_rst_with_acceptable_ack_refuses_connect(dut):
    conn = states.syn_sent(dut)
    conn.send(TCP(flags="RA", ack=conn.rcv_nxt))
    expect_silence(conn)
    assert_closed(dut, conn)
    assert dut.getsockopt(conn.sock, "SO_ERROR") == "ECONNREFUSED"


@pytest.mark.req("RFC9293:U-7", "RFC5961:3.2-d")
def test_syn_sent_rst_without_ack_dropped(dut):
    conn = states.syn_sent(dut)
    conn.send(TCP(flags="R", ack=0))
    expect_silence(conn)
    assert dut.state_of(conn) == "SYN-SENT"
    # The connection still completes with a proper SYN-ACK.
    conn.send(TCP(flags="SA", options=[("MSS", 1460)]))
    conn.expect(TCP(flags="A", seq=conn.rcv_nxt, ack=conn.snd_nxt), timeout=REPLY)
    dut.wait_state(conn, "ESTAB")


# ---------------------------------------------------------------------------
# U-8: SYN-SENT + SYN whose ACK covers our SYN: ESTABLISHED, answered by
# <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. A SYN without ACK: SYN-RECEIVED,
# answered by <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>. Data on a SYN is legal.

@pytest.mark.req("RFC9293:U-8")
def test_syn_sent_synack_establishes_and_is_acked(dut):
    conn = states.syn_sent(dut)
    conn.send(TCP(flags="SA", options=[("MSS", 1460)]))
    conn.expect(TCP(flags="A", seq=seq_add(conn.irs, 1), ack=seq_add(conn.iss, 1)), timeout=REPLY)
    dut.wait_state(conn, "ESTAB")
    assert dut.getsockopt(conn.sock, "SO_ERROR") == 0


@pytest.mark.req("RFC9293:U-8")
def test_syn_sent_bare_syn_moves_to_syn_received_with_synack_seq_iss(dut):
    conn = states.syn_sent(dut)
    conn.send(TCP(flags="S", options=[("MSS", 1460)], ack=0))
    conn.expect(TCP(flags="SA", seq=conn.irs, ack=seq_add(conn.iss, 1)), timeout=REPLY)
    dut.wait_state(conn, "SYN-RECV")


@pytest.mark.req("RFC9293:U-8")
@xfail_on("linux", req="RFC9293:U-8",
          reason="Linux discards data carried on a SYN-ACK unless the connection used TCP Fast "
                 "Open (tcp_rcv_synsent_state_process frees the segment after the SYN); its ACK "
                 "covers only the SYN and the peer has to retransmit the data")
def test_syn_sent_synack_with_data_acks_and_delivers_the_data(dut):
    conn = states.syn_sent(dut)
    conn.send(TCP(flags="SA", options=[("MSS", 1460)]), payload=b"hello")
    conn.expect(TCP(flags="A", ack=seq_add(conn.iss, 6)), timeout=REPLY)
    assert dut.recv(conn.sock, timeout=0.3) == b"hello"


# ---------------------------------------------------------------------------
# U-9: SYN-SENT drops a segment with neither SYN nor RST (U-17: a FIN too).

@pytest.mark.req("RFC9293:U-9", "RFC9293:U-17")
@pytest.mark.parametrize("flags,plen,acceptable_ack",
                         [("A", 0, True), ("PA", 10, True), ("F", 0, False), ("FA", 0, True)],
                         ids=["ack", "data_ack", "fin", "fin_ack"])
def test_syn_sent_segment_without_syn_or_rst_dropped(dut, flags, plen, acceptable_ack):
    conn = states.syn_sent(dut)
    ack = conn.rcv_nxt if acceptable_ack else 0     # rcv_nxt = DUT ISS + 1: acceptable
    conn.send(TCP(flags=flags, ack=ack), payload=b"d" * plen)
    expect_silence(conn)
    assert dut.state_of(conn) == "SYN-SENT"


# ---------------------------------------------------------------------------
# U-10: the sequence acceptability test of RFC 9293 section 3.10.7.4,
# Table 6, in ESTABLISHED. Offsets are from RCV.NXT; W is the DUT's RCV.WND
# as it advertised it. A failing non-RST segment is answered with
# <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and dropped; an acceptable one is
# processed (a pure ACK then needs no reply).

ZERO_LEN_CASES = [
    # id, offset ("W" = RCV.WND), acceptable
    ("at_rcv_nxt", 0, True),
    ("inside", 1, True),
    ("last_in_window", ("W", -1), True),
    ("right_edge", ("W", 0), False),
    ("beyond_window", ("W", 1000), False),
    ("just_below", -1, False),
    ("far_below", -1000, False),
]


def _offset(conn, spec):
    if isinstance(spec, tuple):
        return dut_rcv_wnd(conn) + spec[1]
    return spec


@pytest.mark.req("RFC9293:U-10")
@pytest.mark.parametrize("spec,acceptable",
                         [pytest.param(c[1], c[2], id=c[0], marks=(
                             [xfail_on("linux", req="RFC9293:U-10",
                                       reason="Linux's tcp_sequence() accepts a segment whose "
                                              "SEG.SEQ is exactly RCV.NXT+RCV.WND (it tests "
                                              "!after(seq, rcv_nxt + window)), so a zero-length "
                                              "segment at the right edge is taken as in-window")]
                             if c[0] == "right_edge" else []))
                          for c in ZERO_LEN_CASES])
def test_established_zero_length_segment_acceptability(dut, spec, acceptable):
    conn = states.established(dut)
    off = _offset(conn, spec)
    conn.send(TCP(flags="A", seq=seq_add(conn.snd_nxt, off)), update=False)
    if acceptable:
        expect_silence(conn)
    else:
        expect_challenge_ack(conn)
    assert dut.state_of(conn) == "ESTAB"


@pytest.mark.req("RFC9293:U-10")
@pytest.mark.parametrize("off,taken", [(0, 10), (-5, 5)],
                         ids=["at_rcv_nxt", "first_octet_below_last_inside"])
def test_established_data_overlapping_rcv_nxt_accepted(dut, off, taken):
    conn = states.established(dut)
    rcv_nxt = conn.snd_nxt
    conn.send(TCP(flags="PA", seq=seq_add(rcv_nxt, off)), payload=bytes(range(10)), update=False)
    conn.expect(TCP(flags="A", ack=seq_add(rcv_nxt, taken)), timeout=REPLY)
    assert dut.recv(conn.sock, timeout=REPLY) == bytes(range(10))[10 - taken:]


@pytest.mark.req("RFC9293:U-10")
def test_established_data_entirely_below_rcv_nxt_gets_dup_ack(dut):
    conn = states.established(dut)
    conn.send(TCP(flags="PA", seq=seq_add(conn.snd_nxt, -10)), payload=b"o" * 10, update=False)
    expect_challenge_ack(conn)
    with pytest.raises(DutError, match="EAGAIN"):
        dut.recv(conn.sock, timeout=0.1)


def _sack_blocks(pkt):
    v = get_option(pkt, "SAck")
    return list(zip(v[0::2], v[1::2])) if v else []


@ENGINE_NO_SACK
@pytest.mark.req("RFC9293:U-10", "RFC2018:4-b")
def test_established_data_inside_window_is_queued(dut):
    # An out-of-order segment inside the window is acceptable and held: the
    # duplicate ACK reports it in a SACK block, and filling the gap acknowledges both.
    conn = states.listening(dut)
    require_option(conn.handshake(options=MSS_SACK), "SAckOK", "SACK (RFC 2018)")
    conn.sock, _ = dut.accept(conn.listen_sock, timeout=REPLY)
    rcv_nxt = conn.snd_nxt
    conn.send(TCP(flags="PA", seq=seq_add(rcv_nxt, 100)), payload=b"b" * 10, update=False)
    dup = conn.expect(TCP(flags="A", ack=rcv_nxt), timeout=REPLY)
    assert (seq_add(rcv_nxt, 100), seq_add(rcv_nxt, 110)) in _sack_blocks(dup)
    conn.send(TCP(flags="PA"), payload=b"a" * 100)
    conn.expect(TCP(flags="A", ack=seq_add(rcv_nxt, 110)), timeout=REPLY)


@ENGINE_NO_SACK
@pytest.mark.req("RFC9293:U-10", "RFC2018:4-b")
def test_established_data_with_first_octet_at_window_end_is_kept(dut):
    # First octet inside (RCV.NXT+W-5), last octets beyond: acceptable
    # ("the first or the last octet in the window"); the part beyond may be trimmed.
    conn = states.listening(dut)
    require_option(conn.handshake(options=MSS_SACK), "SAckOK", "SACK (RFC 2018)")
    conn.sock, _ = dut.accept(conn.listen_sock, timeout=REPLY)
    rcv_nxt, w = conn.snd_nxt, dut_rcv_wnd(conn)
    start = seq_add(rcv_nxt, w - 5)
    conn.send(TCP(flags="PA", seq=start), payload=b"e" * 10, update=False)
    dup = conn.expect(TCP(flags="A", ack=rcv_nxt), timeout=REPLY)
    assert any(left == start for left, _right in _sack_blocks(dup)), \
        "no SACK block starts at RCV.NXT+RCV.WND-5: the acceptable segment was dropped"


@ENGINE_NO_SACK
@pytest.mark.req("RFC9293:U-10", "RFC2018:4-b")
@pytest.mark.parametrize("beyond", [0, 1000], ids=["at_right_edge", "far_beyond"])
def test_established_data_beyond_window_dropped_with_ack(dut, beyond):
    conn = states.listening(dut)
    require_option(conn.handshake(options=MSS_SACK), "SAckOK", "SACK (RFC 2018)")
    conn.sock, _ = dut.accept(conn.listen_sock, timeout=REPLY)
    rcv_nxt, w = conn.snd_nxt, dut_rcv_wnd(conn)
    conn.send(TCP(flags="PA", seq=seq_add(rcv_nxt, w + beyond)), payload=b"f" * 10, update=False)
    dup = expect_challenge_ack(conn)
    assert _sack_blocks(dup) == [], "a segment outside the window was queued: %s" % _sack_blocks(dup)


def _zero_window(dut):
    """An ESTABLISHED connection whose DUT receive window is 0: a small
    receive buffer that the tester fills while the application reads nothing."""
    conn = states.listening(dut)
    dut.setsockopt(conn.listen_sock, "SO_RCVBUF", 2048)
    conn.handshake(options=[("MSS", 536)])
    conn.sock, _ = dut.accept(conn.listen_sock, timeout=REPLY)
    for _ in range(64):
        if dut_rcv_wnd(conn) == 0:
            return conn
        n = min(256, dut_rcv_wnd(conn))
        conn.send(TCP(flags="PA"), payload=b"z" * n)
        conn.expect(TCP(flags="A", ack=conn.snd_nxt), timeout=REPLY)
    raise AssertionError("the DUT never advertised a zero window (last %d)" % dut_rcv_wnd(conn))


@pytest.mark.req("RFC9293:U-10", "RFC9293:MUST-34")
@pytest.mark.parametrize("flags,off,plen,acceptable",
                         [("A", 0, 0, True), ("A", 1, 0, False), ("PA", 0, 1, False)],
                         ids=["zero_length_at_rcv_nxt", "zero_length_above", "data_at_rcv_nxt"])
def test_established_zero_window_segment_acceptability(dut, flags, off, plen, acceptable):
    conn = _zero_window(dut)
    rcv_nxt = conn.snd_nxt
    conn.send(TCP(flags=flags, seq=seq_add(rcv_nxt, off)), payload=b"q" * plen, update=False)
    if acceptable:
        expect_silence(conn)
    else:
        # Unacceptable: an ACK that does not move RCV.NXT (MUST-34: a
        # zero window still answers with the current numbers).
        conn.expect(TCP(flags="A", ack=rcv_nxt), timeout=REPLY)


# ---------------------------------------------------------------------------
# U-11: SYN-RECEIVED + valid RST: back to LISTEN (passive open), or CLOSED
# with "connection refused" (active open).

@pytest.mark.req("RFC9293:U-11", "RFC5961:3.2-b")
def test_syn_received_passive_rst_returns_to_listen(dut):
    conn = states.syn_received(dut)
    conn.send(TCP(flags="R"))
    expect_silence(conn)
    _listener_unchanged(dut, conn)
    with pytest.raises(DutError, match="EAGAIN"):
        dut.accept(conn.listen_sock, timeout=0.05)
    # The half-open connection is gone: its third ACK now meets the listener (U-3).
    probe_is_reset(conn)


def _simultaneous_open(dut):
    conn = states.syn_sent(dut)
    conn.send(TCP(flags="S", options=[("MSS", 1460)], ack=0))
    conn.expect(TCP(flags="SA", seq=conn.irs, ack=conn.snd_nxt), timeout=REPLY)
    dut.wait_state(conn, "SYN-RECV")
    return conn


@pytest.mark.req("RFC9293:U-11", "RFC5961:3.2-b")
def test_syn_received_active_rst_closes(dut):
    conn = _simultaneous_open(dut)
    conn.send(TCP(flags="R"))
    expect_silence(conn)
    assert_closed(dut, conn)


@pytest.mark.req("RFC9293:U-11")
@xfail_on("linux", req="RFC9293:U-11",
          reason="Linux's tcp_reset() reports ECONNREFUSED only in SYN-SENT; after a "
                 "simultaneous open the socket is in SYN-RECV and the error is ECONNRESET")
def test_syn_received_active_rst_reports_connection_refused(dut):
    conn = _simultaneous_open(dut)
    conn.send(TCP(flags="R"))
    dut.wait_state(conn, "CLOSED")
    assert dut.getsockopt(conn.sock, "SO_ERROR") == "ECONNREFUSED"


# ---------------------------------------------------------------------------
# U-12: valid RST in ESTABLISHED / FIN-WAIT-1/2 / CLOSE-WAIT: pending calls
# fail with "reset", queues are flushed, CLOSED. (Each state's RST checks,
# CLOSING/LAST-ACK/TIME-WAIT included, are in test_rst_validation.py.)

@pytest.mark.req("RFC9293:U-12", "RFC5961:3.2-b")
def test_established_valid_rst_fails_recv_with_reset(dut):
    conn = states.established(dut)
    conn.send(TCP(flags="R"))
    dut.wait_state(conn, "CLOSED")
    with pytest.raises(DutError, match="ECONNRESET"):
        dut.recv(conn.sock, timeout=0.2)


@pytest.mark.req("RFC9293:U-12")
def test_established_valid_rst_flushes_retransmission_queue(dut):
    conn = states.established(dut)
    assert dut.send(conn.sock, b"u" * 100) == 100
    conn.expect(TCP(flags="PA"), payload=b"u" * 100, timeout=REPLY)
    # Not acknowledged: without the reset it would be retransmitted after one RTO.
    conn.send(TCP(flags="R"))
    conn.expect_none(TCP(), timeout=0.6)
    assert_closed(dut, conn)


@pytest.mark.req("RFC9293:U-12")
def test_fin_wait_2_valid_rst_fails_recv_with_reset(dut):
    conn = states.fin_wait_2(dut)       # shutdown(WR): the application still reads
    conn.send(TCP(flags="R"))
    dut.wait_state(conn, "CLOSED")
    with pytest.raises(DutError, match="ECONNRESET"):
        dut.recv(conn.sock, timeout=0.2)


# ---------------------------------------------------------------------------
# U-13 (SYN-RECEIVED part): a SYN on a connection that came from LISTEN
# returns it to LISTEN. (Synchronized states: test_rfc5961.py.)

@pytest.mark.req("RFC9293:U-13")
def test_syn_received_passive_in_window_syn_returns_to_listen(dut):
    conn = states.syn_received(dut)
    conn.send(TCP(flags="S", seq=seq_add(conn.snd_nxt, 100), ack=0), update=False)
    # Whatever the DUT answers, the half-open connection must be gone.
    collect(conn, 0.15)
    _listener_unchanged(dut, conn)
    probe_is_reset(conn)


# ---------------------------------------------------------------------------
# U-14: once the RST and SYN checks pass, a segment without ACK is dropped.

@pytest.mark.req("RFC9293:U-14")
@pytest.mark.parametrize("flags,plen", [("P", 10), ("F", 0), ("", 0)],
                         ids=["data", "fin", "no_flags"])
def test_established_segment_without_ack_dropped(dut, flags, plen):
    conn = states.established(dut)
    conn.send(TCP(flags=flags), payload=b"n" * plen, update=False)
    expect_silence(conn)
    assert dut.state_of(conn) == "ESTAB"
    with pytest.raises(DutError, match="EAGAIN"):
        dut.recv(conn.sock, timeout=0.05)


@pytest.mark.req("RFC9293:U-14")
def test_syn_received_data_without_ack_dropped(dut):
    conn = states.syn_received(dut)
    conn.send(TCP(flags="P"), payload=b"n" * 10, update=False)
    expect_silence(conn)
    assert dut.count_state("SYN-RECV", lport=conn.dut_port) == 1
    conn.send(TCP(flags="A"))
    conn.sock, _ = dut.accept(conn.listen_sock, timeout=REPLY)
    with pytest.raises(DutError, match="EAGAIN"):
        dut.recv(conn.sock, timeout=0.05)


# ---------------------------------------------------------------------------
# U-15: ACK checks. SYN-RECEIVED: only SND.UNA < SEG.ACK =< SND.NXT
# establishes; any other ACK gets <SEQ=SEG.ACK><CTL=RST>. ESTABLISHED and
# later: SEG.ACK > SND.NXT gets an ACK and the segment is dropped; a
# duplicate ACK (SEG.ACK < SND.UNA) is ignored while the text is processed.

@pytest.mark.req("RFC9293:U-15")
@pytest.mark.parametrize("ack_off", [0, 2, 1000], ids=["ack_eq_iss", "ack_above_snd_nxt", "ack_far_above"])
def test_syn_received_unacceptable_ack_gets_rst_and_stays(dut, ack_off):
    conn = states.syn_received(dut)
    seg_ack = seq_add(conn.irs, ack_off)
    conn.send(TCP(flags="A", ack=seg_ack), update=False)
    conn.expect(TCP(flags="R", seq=seg_ack), timeout=REPLY)
    # The connection itself is untouched: the right ACK still completes it.
    conn.send(TCP(flags="A"))
    conn.sock, _ = dut.accept(conn.listen_sock, timeout=REPLY)


@pytest.mark.req("RFC9293:U-15", "RFC5961:5.2")
def test_established_ack_above_snd_nxt_acked_and_data_dropped(dut):
    conn = states.established(dut)
    rcv_nxt = conn.snd_nxt
    conn.send(TCP(flags="PA", ack=seq_add(conn.rcv_nxt, 1000)), payload=b"x" * 10, update=False)
    conn.expect(TCP(flags="A", seq=conn.rcv_nxt, ack=rcv_nxt), timeout=REPLY)
    with pytest.raises(DutError, match="EAGAIN"):
        dut.recv(conn.sock, timeout=0.05)


def _established_with_acked_data(dut, n=3000):
    """ESTABLISHED after the DUT sent n bytes that the tester acknowledged,
    so that SND.UNA - n .. SND.UNA are acknowledgments of real data."""
    conn = states.established(dut)
    assert dut.send(conn.sock, b"s" * n) == n
    got = 0
    while got < n:
        p = conn.expect(TCP(), where=lambda p: len(bytes(p[TCP].payload)) > 0, timeout=REPLY)
        got += len(bytes(p[TCP].payload))
    conn.send(TCP(flags="A"))
    return conn


@pytest.mark.req("RFC9293:U-15", "RFC5961:5.2")
def test_established_duplicate_ack_ignored_and_text_processed(dut):
    conn = _established_with_acked_data(dut)
    old_ack = seq_add(conn.rcv_nxt, -1000)     # within SND.UNA - MAX.SND.WND .. SND.UNA
    conn.send(TCP(flags="A", ack=old_ack), update=False)
    expect_silence(conn)
    conn.send(TCP(flags="PA", ack=old_ack), payload=b"y" * 10)
    conn.expect(TCP(flags="A", ack=conn.snd_nxt), timeout=REPLY)
    assert dut.recv(conn.sock, timeout=REPLY) == b"y" * 10


# ---------------------------------------------------------------------------
# U-16: the send window is taken only from newer segments: SND.WL1 < SEG.SEQ,
# or SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK.

@pytest.mark.req("RFC9293:U-16")
def test_established_old_segment_does_not_open_send_window(dut):
    conn = states.established(dut)
    conn.send(TCP(flags="A", window=0))                 # SND.WND = 0, SND.WL1 = RCV.NXT
    conn.send(TCP(flags="PA", window=0), payload=b"1" * 10)
    conn.send(TCP(flags="PA", window=0), payload=b"2" * 10)   # SND.WL1 = RCV.NXT + 10
    conn.expect(TCP(flags="A", ack=conn.snd_nxt), timeout=REPLY)
    assert dut.send(conn.sock, b"w" * 100) == 100
    # An older segment (SEG.SEQ < SND.WL1) that still brings 5 new octets and
    # offers a big window: its text is taken, its window is not.
    old_seq = seq_add(conn.snd_nxt, -15)
    conn.send(TCP(flags="PA", seq=old_seq, window=60000), payload=b"3" * 20, update=False)
    conn.snd_nxt = seq_add(old_seq, 20)
    conn.expect(TCP(flags="A", ack=conn.snd_nxt), timeout=REPLY)
    conn.expect_none(TCP(), where=lambda p: len(bytes(p[TCP].payload)) > 0, timeout=QUIET)
    # A newer segment (SEG.SEQ > SND.WL1) does open it.
    conn.send(TCP(flags="A", window=60000))
    conn.expect(TCP(), payload=b"w" * 100, timeout=REPLY)


@pytest.mark.req("RFC9293:U-16")
@xfail_on("linux", req="RFC9293:U-16",
          reason="Linux's tcp_may_update_window() takes a window from a segment with "
                 "SEG.SEQ = SND.WL1 and SEG.ACK = SND.UNA only if it is larger or zero, so a "
                 "peer's plain window reduction is ignored until new data or a new ACK arrives")
def test_established_window_reduction_with_same_seq_and_ack_applied(dut):
    conn = states.established(dut)            # window 65535 from the handshake
    conn.send(TCP(flags="A", window=100))       # SND.WL1 = SEG.SEQ, SND.WL2 = SEG.ACK: newer
    start = conn.rcv_nxt
    assert dut.send(conn.sock, b"v" * 3000) == 3000
    segs = collect(conn, 0.15, where=lambda p: len(bytes(p[TCP].payload)) > 0)
    sent = new_bytes(segs, start)
    assert sent <= 100, "window reduced to 100, yet the DUT sent %d bytes" % sent


# ---------------------------------------------------------------------------
# U-17: FIN processing. Acknowledged and stepped over in SYN-RECEIVED and the
# synchronized states: SYN-RECEIVED/ESTABLISHED -> CLOSE-WAIT, FIN-WAIT-1 ->
# CLOSING (or TIME-WAIT if it also acks our FIN), FIN-WAIT-2 -> TIME-WAIT.
# (LISTEN and SYN-SENT ignore it: see U-5 and U-9 above.)

@pytest.mark.req("RFC9293:U-17")
def test_syn_received_fin_ack_moves_to_close_wait(dut):
    conn = states.syn_received(dut)
    conn.send(TCP(flags="FA"))
    conn.expect(TCP(flags="A", ack=conn.snd_nxt), timeout=REPLY)
    dut.wait_state(conn, "CLOSE-WAIT")


@pytest.mark.req("RFC9293:U-17")
def test_established_data_with_fin_acked_then_eof(dut):
    conn = states.established(dut)
    conn.send(TCP(flags="FPA"), payload=b"last words")
    conn.expect(TCP(flags="A", ack=conn.snd_nxt), timeout=REPLY)
    dut.wait_state(conn, "CLOSE-WAIT")
    assert dut.recv(conn.sock, timeout=REPLY) == b"last words"
    assert dut.recv(conn.sock, timeout=REPLY) == b""


@pytest.mark.req("RFC9293:U-17")
def test_established_out_of_order_fin_waits_for_the_gap(dut):
    conn = states.established(dut)
    rcv_nxt = conn.snd_nxt
    conn.send(TCP(flags="FA", seq=seq_add(rcv_nxt, 10)), update=False)
    conn.expect(TCP(flags="A", ack=rcv_nxt), timeout=REPLY)
    assert dut.state_of(conn) == "ESTAB"
    conn.send(TCP(flags="PA"), payload=b"g" * 10)
    conn.expect(TCP(flags="A", ack=seq_add(rcv_nxt, 11)), timeout=REPLY)
    dut.wait_state(conn, "CLOSE-WAIT")


@pytest.mark.req("RFC9293:U-17")
def test_fin_wait_1_fin_without_ack_of_ours_moves_to_closing(dut):
    conn = states.fin_wait_1(dut)
    conn.send(TCP(flags="FA"))                 # ack = our FIN's seq: not covered
    conn.expect(TCP(flags="A", seq=seq_add(conn.dut_fin_seq, 1), ack=conn.snd_nxt), timeout=REPLY)
    dut.wait_state(conn, "CLOSING")


@pytest.mark.req("RFC9293:U-17", "RFC9293:U-18")
def test_fin_wait_1_fin_acking_ours_moves_to_time_wait(dut):
    conn = states.fin_wait_1(dut)
    conn.send(TCP(flags="FA", ack=seq_add(conn.dut_fin_seq, 1)))
    conn.expect(TCP(flags="A", seq=seq_add(conn.dut_fin_seq, 1), ack=conn.snd_nxt), timeout=REPLY)
    dut.wait_state(conn, "TIME-WAIT")


@pytest.mark.req("RFC9293:U-17")
def test_fin_wait_2_fin_moves_to_time_wait(dut):
    conn = states.fin_wait_2(dut)
    conn.send(TCP(flags="FA"))
    conn.expect(TCP(flags="A", ack=conn.snd_nxt), timeout=REPLY)
    dut.wait_state(conn, "TIME-WAIT")


# ---------------------------------------------------------------------------
# U-18: the ACK of our FIN: FIN-WAIT-1 -> FIN-WAIT-2, CLOSING -> TIME-WAIT,
# LAST-ACK -> CLOSED. An ACK that does not reach the FIN changes nothing.

@pytest.mark.req("RFC9293:U-18")
def test_fin_wait_1_ack_of_fin_moves_to_fin_wait_2(dut):
    conn = states.fin_wait_1(dut)
    conn.ack_dut_fin()
    expect_silence(conn)
    dut.wait_state(conn, "FIN-WAIT-2")


@pytest.mark.req("RFC9293:U-18")
def test_fin_wait_1_ack_of_data_only_stays_in_fin_wait_1(dut):
    conn = states.established(dut)
    assert dut.send(conn.sock, b"p" * 50) == 50
    conn.expect(TCP(), payload=b"p" * 50, timeout=REPLY)
    data_end = conn.rcv_nxt
    dut.shutdown(conn.sock, "WR")
    conn.expect(TCP(flags="FA", seq=data_end), timeout=REPLY)
    conn.send(TCP(flags="A", ack=data_end))        # covers the data, not the FIN
    assert dut.state_of(conn) == "FIN-WAIT-1"
    conn.send(TCP(flags="A", ack=seq_add(data_end, 1)))
    dut.wait_state(conn, "FIN-WAIT-2")


@pytest.mark.req("RFC9293:U-18")
def test_closing_ack_of_fin_moves_to_time_wait(dut):
    conn = states.closing(dut)
    conn.ack_dut_fin()
    expect_silence(conn)
    dut.wait_state(conn, "TIME-WAIT")


@pytest.mark.req("RFC9293:U-18")
def test_last_ack_ack_of_fin_closes_and_deletes_tcb(dut):
    conn = states.last_ack(dut)
    conn.ack_dut_fin()
    expect_silence(conn)
    dut.wait_state(conn, "CLOSED")
    probe_is_reset(conn)
