"""Seed item 11: the half-open queue is bounded by the backlog, an
unanswered SYN-ACK is retransmitted with growing intervals up to a maximum
count and the entry is then dropped, and a SYN flood cannot grow the queue
without bound.

RFC 9293 sections 3.8.1 and 3.8.3 (MUST-20: give up after R2), RFC 6298
(2.1) initial RTO of 1 s and (5.5) the doubling back-off.
"""

import time

import pytest

from synfin_conf import TCP, DutError, seq_add
from synfin_conf import states


def _syn(conn):
    conn.send(TCP(flags="S", options=[("MSS", 1460)]))


@pytest.mark.seed(11)
@pytest.mark.req("RFC9293:MUST-20", "RFC6298:2.1", "RFC6298:5", "RFC9293:U-4")
def test_synack_retransmitted_with_growing_intervals_then_dropped(dut):
    retries = int(dut.settings.get("net.ipv4.tcp_synack_retries", "2"))
    conn = states.listening(dut)
    _syn(conn)
    first = conn.expect(TCP(flags="SA", ack=seq_add(conn.iss, 1)))
    times = [first.time]
    for _ in range(retries):
        again = conn.expect(TCP(flags="SA", seq=first[TCP].seq), timeout=6.0)
        times.append(again.time)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert 0.8 <= gaps[0] <= 1.5, gaps                       # initial RTO 1 s
    for a, b in zip(gaps, gaps[1:]):
        assert b >= 1.6 * a, gaps                            # exponential back-off
    # After the last retransmission the entry waits one more (doubled) RTO
    # and is dropped; no further SYN-ACK comes.
    wait = 2.5 * gaps[-1]
    conn.expect_none(TCP(flags="SA"), timeout=wait)
    assert dut.count_state("SYN-RECV", lport=conn.dut_port) == 0
    # A late third ACK now meets only the listener: RST (U-3).
    conn.send(TCP(flags="A", ack=seq_add(first[TCP].seq, 1)))
    conn.expect(TCP(flags="R", seq=seq_add(first[TCP].seq, 1)))


@pytest.mark.seed(11)
@pytest.mark.req("RFC9293:U-4")
@pytest.mark.parametrize("backlog", [1, 2, 4])
def test_half_open_queue_bounded_by_backlog(dut, backlog):
    s, port = dut.listener(backlog=backlog)
    conns = [dut.conn(dut_port=port) for _ in range(backlog + 4)]
    for c in conns:
        _syn(c)
    time.sleep(0.3)
    answered = 0
    for c in conns:
        try:
            c.expect(TCP(flags="SA"), timeout=0.0)
            answered += 1
        except AssertionError:
            pass
    half_open = dut.count_state("SYN-RECV", lport=port)
    assert 1 <= answered <= backlog + 1, (answered, backlog)
    assert half_open == answered, (half_open, answered)


@pytest.mark.seed(11)
@pytest.mark.req("RFC9293:U-4")
def test_full_accept_queue_drops_new_syn_until_accept(dut):
    backlog = 1
    s, port = dut.listener(backlog=backlog)
    done = []
    for _ in range(backlog + 1):                    # Linux queues backlog+1 connections
        c = dut.conn(dut_port=port)
        c.handshake()
        done.append(c)
    for c in done:
        dut.wait_state(c, "ESTAB")
    late = dut.conn(dut_port=port)
    syn = late.send(TCP(flags="S", options=[("MSS", 1460)]))
    late.expect_none(TCP(flags="SA"), timeout=0.5)  # dropped, not reset
    dut.accept(s, timeout=1.0)                      # room again
    late.send(syn[TCP].copy(), update=False)        # the client's SYN retransmission
    late.expect(TCP(flags="SA", ack=seq_add(late.iss, 1)))


@pytest.mark.seed(11)
@pytest.mark.req("RFC9293:U-4")
def test_syn_flood_does_not_grow_half_open_queue_beyond_bound(dut):
    backlog = 16
    s, port = dut.listener(backlog=backlog)
    flood = [dut.conn(dut_port=port) for _ in range(300)]
    for c in flood:
        _syn(c)
    time.sleep(0.5)
    answered = []
    for c in flood:
        try:
            answered.append(c.expect(TCP(flags="SA"), timeout=0.0))
        except AssertionError:
            pass
    assert dut.count_state("SYN-RECV", lport=port) <= backlog + 1
    assert len(answered) <= backlog + 1
    # Clear the flood with the RSTs a real client would send (U-11), and the
    # listener serves a new client at once.
    for c, sa in zip([c for c in flood if c.irs is not None], answered):
        c.send(TCP(flags="R", seq=sa[TCP].ack, ack=0), update=False)
    client = dut.conn(dut_port=port)
    client.handshake()
    dut.accept(s, timeout=1.0)
    with pytest.raises(DutError, match="EAGAIN"):
        dut.accept(s, timeout=0.05)
