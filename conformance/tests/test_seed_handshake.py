"""Seed items 1, 2, 3, 8: opening a connection, passively and actively.

RFC 9293 section 3.5 (Figure 6, Figure 8) and the event processing of
section 3.10.7.2 (LISTEN) and 3.10.7.3 (SYN-SENT).
"""

import pytest

from synfin_conf import TCP, seq_add
from synfin_conf import states


@pytest.mark.seed(1)
@pytest.mark.req("RFC9293:MUST-41")
def test_listen_moves_closed_to_listen(dut):
    s = dut.socket()
    port = dut.new_port()
    assert dut.state(s) == "CLOSED"
    dut.bind(s, port)
    dut.listen(s, 8)
    assert dut.state(s) == "LISTEN"
    listeners = [i for i in dut.states() if i.lport == port]
    assert [(i.state, i.sock) for i in listeners] == [("LISTEN", s)]


@pytest.mark.seed(1)
@pytest.mark.req("RFC9293:U-4")
def test_passive_open_syn_answered_by_synack_and_half_open_entry(dut):
    conn = states.listening(dut)
    conn.send(TCP(flags="S", options=[("MSS", 1460)]))
    sa = conn.expect(TCP(flags="SA", ack=seq_add(conn.iss, 1)))
    # The half-open (SYN) queue holds the request; the accept queue does not.
    ent = dut.entries(conn)
    assert [e.state for e in ent] == ["SYN-RECV"], ent
    assert ent[0].sock is None
    with pytest.raises(Exception, match="EAGAIN"):
        dut.accept(conn.listen_sock, timeout=0.05)
    assert dut.state_of(conn, listener=True) == "LISTEN"
    assert conn.irs == sa.seq


@pytest.mark.seed(1)
@pytest.mark.req("RFC9293:U-15", "RFC9293:U-4")
def test_passive_open_ack_moves_to_established_and_accept_queue(dut):
    conn = states.syn_received(dut)
    conn.send(TCP(flags="A", ack=seq_add(conn.irs, 1)))
    dut.wait_state(conn, "ESTAB")
    s, (ip, port) = dut.accept(conn.listen_sock, timeout=1.0)
    assert (ip, port) == (dut.tester_ip, conn.tester_port)
    assert dut.state(s) == "ESTAB"
    conn.expect_none(TCP(), timeout=0.3)   # a correct ACK draws no reply


@pytest.mark.seed(2)
@pytest.mark.req("RFC9293:U-8")
def test_active_open_connect_sends_syn_and_enters_syn_sent(dut):
    conn = dut.conn()
    s = dut.socket()
    assert dut.connect(s, conn.tester_port) == "INPROGRESS"
    syn = conn.expect(TCP(flags="S"))
    assert len(syn[TCP].payload) == 0
    assert dut.state(s) == "SYN-SENT"
    assert dut.state_of(conn) == "SYN-SENT"


@pytest.mark.seed(2)
@pytest.mark.req("RFC9293:U-8")
def test_active_open_synack_answered_by_ack_and_established(dut):
    conn = states.syn_sent(dut)
    x = conn.irs
    conn.send(TCP(flags="SA", options=[("MSS", 1460)]))        # seq=y=iss, ack=x+1
    conn.expect(TCP(flags="A", seq=seq_add(x, 1), ack=seq_add(conn.iss, 1)))
    assert "OUT" in dut.poll(conn.sock, "OUT", timeout=1.0)
    assert dut.getsockopt(conn.sock, "SO_ERROR") == 0
    assert dut.state(conn.sock) == "ESTAB"


@pytest.mark.seed(3)
@pytest.mark.req("RFC9293:U-4", "RFC9293:U-8")
def test_syn_takes_one_sequence_number_each_way(dut):
    conn = states.established_active(dut)
    # Our SYN took iss: the DUT acknowledged iss+1. Its SYN took irs: its
    # first data octet is irs+1.
    dut.send(conn.sock, b"x")
    d = conn.expect(TCP(flags="PA"), payload=b"x")
    assert d[TCP].seq == seq_add(conn.irs, 1)
    assert d[TCP].ack == seq_add(conn.iss, 1)


@pytest.mark.seed(3)
@pytest.mark.req("RFC9293:U-10")
def test_bare_ack_takes_no_sequence_number(dut):
    conn = states.established(dut)
    before = conn.snd_nxt
    conn.send(TCP(flags="A"))
    assert conn.snd_nxt == before
    conn.send(TCP(flags="PA"), payload=b"abc")                  # same seq as the bare ACK
    conn.expect(TCP(flags="A", ack=seq_add(before, 3)))
    assert dut.recv(conn.sock, 100) == b"abc"


@pytest.mark.seed(3)
@pytest.mark.req("RFC9293:U-17")
def test_fin_takes_one_sequence_number(dut):
    conn = states.established(dut)
    fin = conn.send(TCP(flags="FA"))
    conn.expect(TCP(flags="A", ack=seq_add(fin[TCP].seq, 1)))
    dut.shutdown(conn.sock, "WR")
    f = conn.expect(TCP(flags="FA"))
    conn.send(TCP(flags="A", ack=seq_add(f[TCP].seq, 1)))   # the DUT's FIN took f.seq
    dut.wait_state(conn, "CLOSED")


@pytest.mark.seed(3, 13)
@pytest.mark.req("RFC9293:U-15", "RFC9293:U-4")
def test_third_handshake_segment_may_carry_data(dut):
    conn = states.syn_received(dut)
    conn.send(TCP(flags="PA"), payload=b"hello")
    conn.expect(TCP(flags="A", ack=seq_add(conn.iss, 6)))
    s, _peer = dut.accept(conn.listen_sock, timeout=1.0)
    assert dut.recv(s, 100) == b"hello"


@pytest.mark.seed(8)
@pytest.mark.req("RFC9293:MUST-10", "RFC9293:U-8")
def test_simultaneous_open_completed_by_ack(dut):
    conn = states.syn_sent(dut)
    x = conn.irs
    conn.send(TCP(flags="S", options=[("MSS", 1460)]))          # SYN, no ACK: both sides opened
    sa = conn.expect(TCP(flags="SA", seq=x, ack=seq_add(conn.iss, 1)))
    assert sa is not None
    dut.wait_state(conn, "SYN-RECV")
    conn.send(TCP(flags="A"))                                   # ack = x+1
    dut.wait_state(conn, "ESTAB")
    assert dut.getsockopt(conn.sock, "SO_ERROR") == 0
    assert len(dut.entries(conn)) == 1                          # one connection, not two


@pytest.mark.seed(8)
@pytest.mark.req("RFC9293:MUST-10", "RFC9293:U-8")
def test_simultaneous_open_completed_by_synack(dut):
    conn = states.syn_sent(dut)
    x = conn.irs
    conn.send(TCP(flags="S", options=[("MSS", 1460)]))
    conn.expect(TCP(flags="SA", seq=x, ack=seq_add(conn.iss, 1)))
    # The peer's own SYN-ACK (seq=iss, ack=x+1) crosses ours.
    conn.send(TCP(flags="SA", seq=conn.iss, ack=seq_add(x, 1)), update=False)
    dut.wait_state(conn, "ESTAB")
    dut.send(conn.sock, b"ok")
    conn.expect(TCP(flags="PA", seq=seq_add(x, 1)), payload=b"ok")
    assert len(dut.entries(conn)) == 1
