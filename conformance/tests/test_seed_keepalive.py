"""Seed item 12: keep-alive is off by default (idle 2 h, probes every 75 s,
9 probes), and with short per-socket settings probes come after the idle
time, are answered or end the connection.

RFC 9293 section 3.8.4 (MUST-24..29, SHLD-12) and RFC 1122 4.2.3.6.
"""

import time

import pytest

from synfin_conf import TCP, DutError, seq_add
from synfin_conf import states


def _short_keepalive(dut, s, idle=1, intvl=1, cnt=2):
    dut.setsockopt(s, "TCP_KEEPIDLE", idle)
    dut.setsockopt(s, "TCP_KEEPINTVL", intvl)
    dut.setsockopt(s, "TCP_KEEPCNT", cnt)
    dut.setsockopt(s, "SO_KEEPALIVE", 1)


def _is_probe(conn):
    # A probe repeats the last octet already acknowledged: seq = SND.NXT-1.
    return TCP(flags="A", seq=seq_add(conn.rcv_nxt, -1))


@pytest.mark.seed(12)
@pytest.mark.req("RFC9293:MUST-25", "RFC9293:MUST-28", "RFC1122:4.2.3.6-a")
def test_keepalive_defaults_off_two_hours_75s_9_probes(dut):
    conn = states.established(dut)
    assert dut.getsockopt(conn.sock, "SO_KEEPALIVE") == 0
    assert dut.getsockopt(conn.sock, "TCP_KEEPIDLE") >= 7200
    assert dut.getsockopt(conn.sock, "TCP_KEEPINTVL") == 75
    assert dut.getsockopt(conn.sock, "TCP_KEEPCNT") == 9


@pytest.mark.seed(12)
@pytest.mark.req("RFC9293:MUST-24", "RFC9293:MUST-25")
def test_keepalive_timers_alone_do_not_enable_probes(dut):
    conn = states.established(dut)
    dut.setsockopt(conn.sock, "TCP_KEEPIDLE", 1)
    dut.setsockopt(conn.sock, "TCP_KEEPINTVL", 1)
    conn.expect_none(TCP(), timeout=1.8)            # off unless the application turns it on


@pytest.mark.seed(12)
@pytest.mark.req("RFC9293:MUST-24", "RFC9293:MUST-27", "RFC9293:SHLD-12", "RFC1122:4.2.3.6-a")
def test_keepalive_probe_after_idle_time_without_data(dut):
    conn = states.established(dut)
    _short_keepalive(dut, conn.sock, idle=1)
    t0 = time.time()
    probe = conn.expect(_is_probe(conn), timeout=3.0)
    assert 0.8 <= probe.time - t0 <= 2.0
    assert len(probe[TCP].payload) in (0, 1)        # no data (or one garbage octet, MAY-6)


@pytest.mark.seed(12)
@pytest.mark.req("RFC9293:MUST-29", "RFC9293:MUST-24")
def test_keepalive_answered_probes_keep_connection(dut):
    conn = states.established(dut)
    _short_keepalive(dut, conn.sock, idle=1, intvl=1, cnt=2)
    for _ in range(3):
        conn.expect(_is_probe(conn), timeout=3.0)
        conn.send(TCP(flags="A"))
    assert dut.state(conn.sock) == "ESTAB"


@pytest.mark.seed(12)
@pytest.mark.req("RFC9293:MUST-29", "RFC1122:4.2.3.6-b", "RFC9293:MUST-27")
def test_keepalive_unanswered_probes_end_connection(dut):
    conn = states.established(dut)
    _short_keepalive(dut, conn.sock, idle=1, intvl=1, cnt=2)
    conn.expect(_is_probe(conn), timeout=3.0)
    assert dut.state(conn.sock) == "ESTAB"          # one lost probe is not proof of death
    conn.expect(_is_probe(conn), timeout=2.0)
    conn.expect(TCP(flags="RA"), timeout=2.5)
    dut.wait_state(conn, "CLOSED")
    with pytest.raises(DutError, match="ETIMEDOUT"):
        dut.recv(conn.sock, 10, timeout=0.1)


@pytest.mark.seed(12)
@pytest.mark.req("RFC9293:MUST-26")
def test_no_keepalive_probe_while_data_is_unacknowledged(dut):
    conn = states.established(dut)
    _short_keepalive(dut, conn.sock, idle=1, intvl=1, cnt=5)
    dut.send(conn.sock, b"unacked")
    conn.expect(TCP(flags="PA"), payload=b"unacked")
    # For 2.5 s we acknowledge nothing: the DUT retransmits its data, but
    # sends no probe (a probe would carry seq = SND.UNA - 1).
    conn.expect_none(TCP(seq=seq_add(conn.rcv_nxt, -8)), timeout=2.5)
