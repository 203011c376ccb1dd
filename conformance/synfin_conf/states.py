"""Helpers that bring a DUT socket into each TCP state (DSL.md section 5).

Each helper drives the DUT through the RFC 9293 state diagram (Figure 5)
with real segments and socket calls, consumes the DUT's frames on the way,
and checks the resulting state through the agent before returning.
"""

from scapy.layers.inet import TCP

from .conn import seq_add
from .dut import ss_name


def listening(dut, backlog=8):
    """CLOSED -> LISTEN (seed item 1). Nothing is sent."""
    s, port = dut.listener(backlog=backlog)
    conn = dut.conn(dut_port=port)
    conn.listen_sock = s
    return conn


def syn_received(dut, backlog=8):
    """LISTEN -> SYN-RECEIVED on a tester SYN; the SYN-ACK is consumed."""
    conn = listening(dut, backlog)
    conn.send(TCP(flags="S", options=[("MSS", 1460)]))
    conn.expect(TCP(flags="SA", ack=seq_add(conn.iss, 1)))
    dut.wait_state(conn, "SYN-RECV")
    return conn


def established_passive(dut, backlog=8):
    """LISTEN -> ESTABLISHED by a tester active open, then accept()."""
    conn = listening(dut, backlog)
    conn.handshake()
    conn.sock, _peer = dut.accept(conn.listen_sock, timeout=1.0)
    dut.wait_state(conn, "ESTAB")
    return conn


established = established_passive


def syn_sent(dut):
    """CLOSED -> SYN-SENT by a DUT connect(); the SYN is consumed."""
    conn = dut.conn(dut_port=None)
    conn.sock = dut.socket()
    dut.connect(conn.sock, conn.tester_port)
    conn.expect(TCP(flags="S"))
    dut.wait_state(conn, "SYN-SENT")
    return conn


def established_active(dut):
    """SYN-SENT -> ESTABLISHED: tester SYN-ACK, DUT ACK consumed."""
    conn = syn_sent(dut)
    conn.send(TCP(flags="SA", options=[("MSS", 1460)]))
    conn.expect(TCP(flags="A", ack=seq_add(conn.iss, 1), seq=conn.rcv_nxt))
    dut.wait_state(conn, "ESTAB")
    return conn


def _established(dut, active):
    return established_active(dut) if active else established_passive(dut)


def _dut_sends_fin(dut, conn, how):
    """The DUT closes its sending side; its FIN is consumed, not ACKed."""
    if how == "close":
        dut.close(conn.sock)
        conn.sock = None
    elif how == "shutdown":
        dut.shutdown(conn.sock, "WR")
    else:
        raise ValueError("how must be 'shutdown' or 'close', not %r" % how)
    conn.expect(TCP(flags="FA"))
    # Leave rcv_nxt at the FIN so that a default send() does not ACK it.
    conn.rcv_nxt = conn.dut_fin_seq


def fin_wait_1(dut, active=False, how="shutdown"):
    """ESTABLISHED -> FIN-WAIT-1 (seed item 4). The DUT FIN is unacked."""
    conn = _established(dut, active)
    _dut_sends_fin(dut, conn, how)
    dut.wait_state(conn, "FIN-WAIT-1")
    return conn


def fin_wait_2(dut, active=False, how="shutdown"):
    """FIN-WAIT-1 -> FIN-WAIT-2 by the tester's ACK of the DUT FIN."""
    conn = fin_wait_1(dut, active, how)
    conn.ack_dut_fin()
    dut.wait_state(conn, "FIN-WAIT-2")
    return conn


def close_wait(dut, active=False):
    """ESTABLISHED -> CLOSE-WAIT by a tester FIN (seed item 5)."""
    conn = _established(dut, active)
    conn.send(TCP(flags="FA"))
    conn.expect(TCP(flags="A", ack=conn.snd_nxt))
    dut.wait_state(conn, "CLOSE-WAIT")
    return conn


def last_ack(dut, active=False):
    """CLOSE-WAIT -> LAST-ACK by DUT close(); its FIN is unacked."""
    conn = close_wait(dut, active)
    _dut_sends_fin(dut, conn, "close")
    dut.wait_state(conn, "LAST-ACK")
    return conn


def closing(dut, active=False):
    """FIN-WAIT-1 -> CLOSING by a tester FIN that does not ACK the DUT FIN (seed item 7)."""
    conn = fin_wait_1(dut, active)
    conn.send(TCP(flags="FA"))   # ack = dut_fin_seq: the DUT's FIN stays unacknowledged
    conn.expect(TCP(flags="A", ack=conn.snd_nxt))
    dut.wait_state(conn, "CLOSING")
    return conn


def time_wait(dut, active=False):
    """FIN-WAIT-2 -> TIME-WAIT by a tester FIN (seed item 4)."""
    conn = fin_wait_2(dut, active, how="close")
    conn.send(TCP(flags="FA"))
    conn.expect(TCP(flags="A", ack=conn.snd_nxt))
    dut.wait_state(conn, "TIME-WAIT")
    return conn


_BY_STATE = {
    "LISTEN": listening, "SYN-RECV": syn_received, "SYN-SENT": syn_sent, "ESTAB": established_passive,
    "FIN-WAIT-1": fin_wait_1, "FIN-WAIT-2": fin_wait_2, "CLOSE-WAIT": close_wait,
    "LAST-ACK": last_ack, "CLOSING": closing, "TIME-WAIT": time_wait,
}


def bring_to(dut, state, **kw):
    """Dispatch on a state name (ss or RFC spelling)."""
    name = ss_name(state)
    if name not in _BY_STATE:
        raise ValueError("no helper brings a socket to %s" % name)
    if name == "ESTAB" and kw.pop("active", False):
        return established_active(dut)
    return _BY_STATE[name](dut, **kw)
