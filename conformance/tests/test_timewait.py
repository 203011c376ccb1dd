"""TIME-WAIT (RFC 9293 section 3.10.7.4, RFC 1337, RFC 5961):

* a retransmitted FIN is acknowledged again and the 2 MSL timer restarts (U-17);
* old duplicates (data, SYN) are answered with an ACK and kept out (seed 9,
  RFC5961:4.2);
* a new SYN either gets a challenge ACK or opens a new incarnation whose ISS
  is above anything the old one used (U-13, RFC 1122 4.2.2.13);
* an RST: RFC 9293 moves to CLOSED, RFC 1337 (Informational) ignores it.

Profile decision for the RST: the default expectation is RFC 9293's, the
standard, which is also what Linux does with its default
net.ipv4.tcp_rfc1337=0. The RFC 1337 behaviour is checked as a second
profile by switching that setting on for one test (`dut_setting`: the sysctl
on Linux, the same name through the agent's SYSCTL extension on the engine). No test waits for the 2 MSL timer itself.
"""

import time

import pytest

from synfin_conf import TCP, seq_add
from synfin_conf import states

from packs_util import (QUIET, REPLY, assert_closed, challenge_ack, collect, expect_challenge_ack,
                        dut_setting, expect_silence, probe_is_reset)


def _entry(dut, conn):
    ents = dut.entries(conn)
    assert ents, "no DUT entry for the connection"
    return ents[0]


@pytest.mark.req("RFC9293:U-17")
@pytest.mark.parametrize("active", [False, True], ids=["dut_server", "dut_client"])
def test_time_wait_retransmitted_fin_acked_each_time(dut, active):
    conn = states.time_wait(dut, active=active)
    fin_seq = seq_add(conn.snd_nxt, -1)
    for _ in range(2):
        conn.send(TCP(flags="FA", seq=fin_seq), update=False)
        conn.expect(challenge_ack(conn), timeout=REPLY)
    assert dut.state_of(conn) == "TIME-WAIT"


@pytest.mark.req("RFC9293:U-17", "RFC9293:MUST-13")
def test_time_wait_retransmitted_fin_restarts_timer(dut):
    conn = states.time_wait(dut)
    before = _entry(dut, conn).timer_ms
    if before is None:
        pytest.skip("this DUT does not report the TIME-WAIT timer")
    time.sleep(0.3)
    aged = _entry(dut, conn).timer_ms
    assert aged < before, "the TIME-WAIT timer is not running (%d -> %d ms)" % (before, aged)
    conn.send(TCP(flags="FA", seq=seq_add(conn.snd_nxt, -1)), update=False)
    conn.expect(challenge_ack(conn), timeout=REPLY)
    restarted = _entry(dut, conn).timer_ms
    assert restarted > aged + 150, "timer %d ms before the FIN, %d ms after: not restarted" % (
        aged, restarted)


@pytest.mark.req("RFC9293:U-10", "RFC9293:U-17")
@pytest.mark.parametrize("off", [-11, -1000], ids=["overlapping_fin", "far_below"])
def test_time_wait_old_duplicate_data_acked_and_dropped(dut, off):
    conn = states.time_wait(dut)
    conn.send(TCP(flags="PA", seq=seq_add(conn.snd_nxt, off)), payload=b"d" * 10, update=False)
    expect_challenge_ack(conn)
    assert dut.state_of(conn) == "TIME-WAIT"


@pytest.mark.req("RFC5961:4.2", "RFC9293:U-13")
@pytest.mark.parametrize("off", [-1, -100000], ids=["at_fin", "far_below"])
def test_time_wait_old_duplicate_syn_gets_ack_not_new_connection(dut, off):
    conn = states.time_wait(dut)
    conn.send(TCP(flags="S", seq=seq_add(conn.snd_nxt, off), ack=0), update=False)
    expect_challenge_ack(conn)
    conn.expect_none(TCP(), where=lambda p: p[TCP].flags.S, timeout=QUIET)
    assert dut.state_of(conn) == "TIME-WAIT"


@pytest.mark.req("RFC9293:U-13")
def test_time_wait_new_syn_challenged_or_new_incarnation_with_higher_iss(dut):
    # RFC 9293 lets a new SYN reopen from TIME-WAIT (RFC 6191 with
    # timestamps; RFC 1122 4.2.2.13 by sequence number) if the new ISS is
    # above the old connection's sequence space; otherwise a challenge ACK.
    conn = states.time_wait(dut)
    old_snd_nxt = conn.rcv_nxt
    conn.send(TCP(flags="S", seq=seq_add(conn.snd_nxt, 100000), ack=0, options=[("MSS", 1460)]),
              update=False)
    replies = collect(conn, 0.15)
    assert replies, "no answer to a new SYN in TIME-WAIT"
    r = replies[0][TCP]
    if r.flags == "SA":
        assert r.ack == seq_add(conn.snd_nxt, 100001)
        assert 0 < (r.seq - old_snd_nxt) % (1 << 32) < (1 << 31), \
            "new incarnation ISS %d is not above the old SND.NXT %d" % (r.seq, old_snd_nxt)
    else:
        assert r.flags == "A" and r.seq == old_snd_nxt and r.ack == conn.snd_nxt, \
            "neither a challenge ACK nor a SYN-ACK: %s" % replies[0].summary()


@pytest.mark.req("RFC9293:U-10", "RFC9293:U-14")
@pytest.mark.parametrize("flags", ["A", ""], ids=["dup_ack", "no_ack"])
def test_time_wait_in_window_segment_without_news_ignored(dut, flags):
    conn = states.time_wait(dut)
    conn.send(TCP(flags=flags), update=False)
    expect_silence(conn)
    assert dut.state_of(conn) == "TIME-WAIT"


def _assassinate(conn):
    """RFC 1337 hazard H1: an old duplicate makes TIME-WAIT send an ACK, and
    the peer, which has no connection any more, answers with an RST at
    exactly the number that ACK asked for."""
    conn.send(TCP(flags="PA", seq=seq_add(conn.snd_nxt, -500)), payload=b"old" * 10, update=False)
    ack = expect_challenge_ack(conn)
    conn.send(TCP(flags="R", seq=ack[TCP].ack, ack=0), update=False)


@pytest.mark.req("RFC1337:3-F1", "RFC9293:U-12")
def test_time_wait_assassination_rst_closes_per_rfc9293(dut):
    conn = states.time_wait(dut)
    _assassinate(conn)
    expect_silence(conn)
    assert_closed(dut, conn)
    probe_is_reset(conn)


@pytest.mark.req("RFC1337:3-F1")
def test_time_wait_assassination_rst_ignored_per_rfc1337_profile(dut):
    with dut_setting(dut, "net.ipv4.tcp_rfc1337", 1):
        conn = states.time_wait(dut)
        _assassinate(conn)
        expect_silence(conn)
        assert dut.state_of(conn) == "TIME-WAIT"
        # Still the same TIME-WAIT: a retransmitted FIN is ACKed again.
        conn.send(TCP(flags="FA", seq=seq_add(conn.snd_nxt, -1)), update=False)
        expect_challenge_ack(conn)
