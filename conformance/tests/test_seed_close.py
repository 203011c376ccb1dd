"""Seed items 4, 5, 6, 7 and 10: closing, actively, passively, at the same
time, by a timeout, and half-way.

RFC 9293 section 3.6 (Figures 12 and 13) and the FIN / ACK-of-FIN rules of
section 3.10.7.4 (U-17, U-18).
"""

import time

import pytest

from synfin_conf import TCP, DutError, seq_add
from synfin_conf import states


@pytest.mark.seed(4)
@pytest.mark.req("RFC9293:U-18", "RFC9293:U-17")
def test_active_close_fin_wait_1_fin_wait_2_time_wait(dut):
    conn = states.established(dut)
    u = conn.rcv_nxt
    dut.close(conn.sock)
    conn.expect(TCP(flags="FA", seq=u, ack=conn.snd_nxt))
    dut.wait_state(conn, "FIN-WAIT-1")
    conn.send(TCP(flags="A", ack=seq_add(u, 1)))
    dut.wait_state(conn, "FIN-WAIT-2")
    v = conn.snd_nxt
    conn.send(TCP(flags="FA", ack=seq_add(u, 1)))
    conn.expect(TCP(flags="A", seq=seq_add(u, 1), ack=seq_add(v, 1)))
    dut.wait_state(conn, "TIME-WAIT")


@pytest.mark.seed(4)
@pytest.mark.req("RFC9293:U-18")
def test_fin_wait_1_retransmits_unacked_fin(dut):
    conn = states.fin_wait_1(dut)
    again = conn.expect(TCP(flags="FA", seq=conn.dut_fin_seq), timeout=2.0)
    assert again is not None
    conn.ack_dut_fin()
    dut.wait_state(conn, "FIN-WAIT-2")


@pytest.mark.seed(5)
@pytest.mark.req("RFC9293:U-17", "RFC9293:U-18", "RFC9293:MUST-12")
def test_passive_close_close_wait_last_ack_closed(dut):
    conn = states.established(dut)
    fin = conn.send(TCP(flags="FA"))
    conn.expect(TCP(flags="A", ack=seq_add(fin[TCP].seq, 1)))
    dut.wait_state(conn, "CLOSE-WAIT")
    assert dut.recv(conn.sock, 100) == b""          # the application learns: orderly close
    dut.close(conn.sock)
    f = conn.expect(TCP(flags="FA"))
    dut.wait_state(conn, "LAST-ACK")
    conn.send(TCP(flags="A", ack=seq_add(f[TCP].seq, 1)))
    dut.wait_state(conn, "CLOSED")
    conn.expect_none(TCP(), timeout=0.3)


@pytest.mark.seed(5, 10)
@pytest.mark.req("RFC9293:U-17")
def test_close_wait_data_still_flows_toward_the_closer(dut):
    conn = states.close_wait(dut)
    for chunk in (b"one", b"two", b"three"):
        dut.send(conn.sock, chunk)
        conn.expect(TCP(flags="PA", seq=conn.rcv_nxt), payload=chunk)
        conn.send(TCP(flags="A"))
    assert dut.state(conn.sock) == "CLOSE-WAIT"


@pytest.mark.seed(5)
@pytest.mark.req("RFC9293:U-18")
def test_last_ack_retransmits_fin_until_acked(dut):
    conn = states.last_ack(dut)
    conn.expect(TCP(flags="FA", seq=conn.dut_fin_seq), timeout=2.0)
    dut.wait_state(conn, "LAST-ACK")
    conn.ack_dut_fin()
    dut.wait_state(conn, "CLOSED")


@pytest.mark.seed(6)
@pytest.mark.req("RFC9293:U-18", "RFC9293:U-17")
def test_orphaned_fin_wait_2_is_bounded_by_a_timeout(dut):
    """FIN-WAIT-2 after close() (no application left) ends by itself; on
    Linux after net.ipv4.tcp_fin_timeout (3 s in this lab)."""
    conn = states.fin_wait_2(dut, how="close")
    limit = float(dut.settings.get("net.ipv4.tcp_fin_timeout", "3")) + 3.0
    t0 = time.time()
    dut.wait_state(conn, "CLOSED", timeout=limit)
    assert time.time() - t0 >= 1.0                 # it did wait, it was not dropped at once
    conn.expect_none(TCP(flags="R"), timeout=0.1)   # it ends silently


@pytest.mark.seed(7)
@pytest.mark.req("RFC9293:U-17", "RFC9293:U-18")
def test_simultaneous_close_through_closing(dut):
    conn = states.closing(dut)                      # FINs crossed; ours ACKed by the DUT
    conn.ack_dut_fin()
    dut.wait_state(conn, "TIME-WAIT")


@pytest.mark.seed(7)
@pytest.mark.req("RFC9293:U-17")
def test_fin_that_acks_our_fin_goes_straight_to_time_wait(dut):
    conn = states.fin_wait_1(dut)
    fin = conn.send(TCP(flags="FA", ack=seq_add(conn.dut_fin_seq, 1)))
    conn.expect(TCP(flags="A", ack=seq_add(fin[TCP].seq, 1)))
    dut.wait_state(conn, "TIME-WAIT")


# Seed item 10: shutdown() on the DUT, one row per `how`.
# (how, sends FIN, recv() at once gives EOF, DUT may still send)
HALF_CLOSE = [
    ("WR", True, False, False),
    ("RD", False, True, True),
    ("RDWR", True, True, False),
]


@pytest.mark.seed(10)
@pytest.mark.req("RFC9293:MUST-12", "RFC9293:U-17")
@pytest.mark.parametrize("how,fin,eof,can_send", HALF_CLOSE, ids=[h[0] for h in HALF_CLOSE])
def test_dut_shutdown(dut, how, fin, eof, can_send):
    conn = states.established(dut)
    dut.shutdown(conn.sock, how)
    if fin:
        conn.expect(TCP(flags="FA"))
    else:
        conn.expect_none(TCP(flags="F"), timeout=0.3)
    if eof:
        assert dut.recv(conn.sock, 100, timeout=0.2) == b""
    if can_send:
        dut.send(conn.sock, b"still")
        conn.expect(TCP(flags="PA"), payload=b"still")
    else:
        with pytest.raises(DutError, match="EPIPE"):
            dut.send(conn.sock, b"late")


@pytest.mark.seed(10)
@pytest.mark.req("RFC9293:U-17")
def test_after_dut_shut_wr_tester_data_still_delivered(dut):
    conn = states.fin_wait_2(dut)                   # DUT sent FIN via shutdown(WR), ACKed
    conn.send(TCP(flags="PA"), payload=b"more data")
    conn.expect(TCP(flags="A", ack=conn.snd_nxt))
    assert dut.recv(conn.sock, 100) == b"more data"
    assert dut.state(conn.sock) == "FIN-WAIT-2"


@pytest.mark.seed(10)
@pytest.mark.req("RFC9293:MUST-12", "RFC9293:U-17")
def test_after_tester_fin_dut_reads_eof_and_still_sends(dut):
    conn = states.established(dut)
    conn.send(TCP(flags="PA"), payload=b"last words")
    conn.send(TCP(flags="FA"))
    conn.expect(TCP(flags="A", ack=conn.snd_nxt))
    assert dut.recv(conn.sock, 100) == b"last words"
    assert dut.recv(conn.sock, 100) == b""          # orderly EOF after the data
    dut.send(conn.sock, b"reply")
    conn.expect(TCP(flags="PA"), payload=b"reply")
