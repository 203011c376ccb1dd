"""Connection logic against a fake wire: field filling, sequence tracking,
4-tuple filtering, consumption and the failure message."""

import time

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from synfin_conf.conn import Connection, seq_add
from synfin_conf.match import ExpectationFailed
from synfin_conf.wire import Frame


class FakeWire:
    def __init__(self):
        self.rx, self.sent = [], []

    def send(self, pkt):
        p = Ether(bytes(pkt))
        p.time = time.time()
        self.sent.append(p)
        return p

    def pump(self, deadline):
        time.sleep(max(0.0, min(0.01, deadline - time.time())))
        return 0

    def read_available(self):
        return 0

    def inject(self, sport=20000, dport=40000, payload=b"", **kw):
        p = Ether() / IP(src="192.0.2.2", dst="192.0.2.1") / TCP(sport=sport, dport=dport, **kw)
        if payload:
            p = p / Raw(payload)
        self.rx.append(Frame(bytes(p), time.time(), False))


class FakeDut:
    ip, tester_ip = "192.0.2.2", "192.0.2.1"
    mac, tester_mac = "02:00:5f:c0:00:02", "02:00:5f:c0:00:01"

    def __init__(self):
        self.wire = FakeWire()


@pytest.fixture
def conn():
    return Connection(FakeDut(), 20000, 40000)


def test_send_fills_ports_seq_ack_window_flags(conn):
    conn.rcv_nxt = 77
    p = conn.send(TCP())
    t = p[TCP]
    assert (t.sport, t.dport, t.seq, t.ack, t.window, str(t.flags)) == (40000, 20000, conn.iss, 77, 65535, "A")
    assert p[IP].src == "192.0.2.1" and p[IP].dst == "192.0.2.2" and p[IP].ttl == 64


def test_explicit_fields_win_and_do_not_advance(conn):
    p = conn.send(TCP(flags="S", seq=5, window=10))
    assert p[TCP].seq == 5 and p[TCP].window == 10
    assert conn.snd_nxt == conn.iss


def test_syn_fin_and_payload_advance_snd_nxt(conn):
    conn.send(TCP(flags="S"))
    assert conn.snd_nxt == seq_add(conn.iss, 1)
    conn.send(TCP(flags="PA"), payload=b"abcd")
    assert conn.snd_nxt == seq_add(conn.iss, 5)
    conn.send(TCP(flags="FA"))
    assert conn.snd_nxt == seq_add(conn.iss, 6)
    conn.send(TCP(flags="R"))                       # RST does not advance
    assert conn.snd_nxt == seq_add(conn.iss, 6)


def test_expect_tracks_irs_rcv_nxt_and_fin(conn):
    w = conn.wire
    w.inject(flags="SA", seq=1000, ack=1)
    conn.expect(TCP(flags="SA"), timeout=0.1)
    assert (conn.irs, conn.rcv_nxt) == (1000, 1001)
    w.inject(flags="PA", seq=1001, payload=b"xyz")
    conn.expect(TCP(flags="PA"), payload=b"xyz", timeout=0.1)
    assert conn.rcv_nxt == 1004
    w.inject(flags="PA", seq=1001, payload=b"xyz")  # a retransmission does not move it
    conn.expect(TCP(flags="PA"), timeout=0.1)
    assert conn.rcv_nxt == 1004
    w.inject(flags="FA", seq=1004)
    conn.expect(TCP(flags="FA"), timeout=0.1)
    assert (conn.rcv_nxt, conn.dut_fin_seq) == (1005, 1004)


def test_other_tuples_are_left_for_other_connections(conn):
    other = Connection(conn.dut, 20000, 40001)
    conn.wire.inject(dport=40001, flags="SA", seq=5)
    conn.wire.inject(flags="SA", seq=6)
    assert conn.expect(TCP(flags="SA"), timeout=0.1)[TCP].seq == 6
    assert other.expect(TCP(flags="SA"), timeout=0.1)[TCP].seq == 5


def test_nonmatching_frames_are_consumed_and_explained(conn):
    conn.wire.inject(flags="A", seq=1, ack=2)
    conn.wire.inject(flags="A", seq=3, ack=4)
    conn.wire.inject(dport=49999, flags="R")
    with pytest.raises(ExpectationFailed) as e:
        conn.expect(TCP(flags="SA"), timeout=0.05)
    msg = str(e.value)
    assert msg.count("MISMATCH") == 2               # one table per frame seen
    assert "Frames of other 4-tuples" in msg and "49999" in msg
    conn.wire.inject(flags="SA", seq=9)
    assert conn.expect(TCP(flags="SA"), timeout=0.05)[TCP].seq == 9


def test_expect_none(conn):
    conn.expect_none(TCP(flags="R"), timeout=0.02)
    conn.wire.inject(flags="A")
    conn.expect_none(TCP(flags="R"), timeout=0.02)  # an ACK is not an RST
    conn.wire.inject(flags="R")
    with pytest.raises(ExpectationFailed, match="expected no frame"):
        conn.expect_none(TCP(flags="R"), timeout=0.02)


def test_dut_port_learnt_from_first_frame():
    c = Connection(FakeDut(), None, 40000)
    c.wire.inject(sport=33333, flags="S", seq=50)
    c.expect(TCP(flags="S"), timeout=0.1)
    assert c.dut_port == 33333 and c.rcv_nxt == 51
    assert c.send(TCP(flags="SA"))[TCP].dport == 33333
