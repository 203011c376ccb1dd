"""The connection object: one tester-side TCP endpoint talking to the DUT.

It tracks the tester's sequence numbers and what it has received from the
DUT, fills in the fields a test leaves out, and waits for DUT frames of its
own 4-tuple (packetimpact style). See DSL.md section 4.
"""

import random
import time

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from .match import ExpectationFailed, compare, describe_template, diff_table, summary, tcp_payload

MOD = 1 << 32
DEFAULT_EXPECT_TIMEOUT = 1.0
DEFAULT_NONE_TIMEOUT = 0.5


def seq_add(a, n):
    """a + n modulo 2**32 (sequence arithmetic, RFC 9293 section 3.4)."""
    return (a + n) % MOD


def seg_len(tcp):
    """Sequence space a segment occupies: payload + SYN + FIN (seed item 3)."""
    return len(bytes(tcp.payload)) + (1 if tcp.flags.S else 0) + (1 if tcp.flags.F else 0)


class Connection:
    """Tester endpoint of one 4-tuple. Built by `Dut.conn()`."""

    def __init__(self, dut, dut_port, tester_port):
        self.dut = dut
        self.wire = dut.wire
        self.dut_port = dut_port
        self.tester_port = tester_port
        self.iss = random.getrandbits(32)
        self.snd_nxt = self.iss
        self.irs = None
        self.rcv_nxt = 0
        self.dut_window = None
        self.dut_fin_seq = None
        self.sock = None
        self.listen_sock = None
        self._cursor = 0
        self._sent = []
        self._start = time.time()

    # -- sending --------------------------------------------------------

    def _fill_tcp(self, tcp):
        tcp = tcp.copy()
        f = tcp.fields
        if "sport" not in f:
            tcp.sport = self.tester_port
        if "dport" not in f:
            if self.dut_port is None:
                raise ValueError("the DUT port of this connection is not known yet")
            tcp.dport = self.dut_port
        if "flags" not in f:
            tcp.flags = "A"
        if "seq" not in f:
            tcp.seq = self.snd_nxt
        if "ack" not in f:
            tcp.ack = self.rcv_nxt
        if "window" not in f:
            tcp.window = 65535
        return tcp

    def build(self, tcp, payload=None, ip=None):
        """The full frame send() would put on the wire (not sent)."""
        tcp = self._fill_tcp(tcp)
        if payload:
            tcp = tcp / Raw(bytes(payload))
        ip_layer = ip.copy() if ip is not None else IP()
        if "src" not in ip_layer.fields:
            ip_layer.src = self.dut.tester_ip
        if "dst" not in ip_layer.fields:
            ip_layer.dst = self.dut.ip
        if "ttl" not in ip_layer.fields:
            ip_layer.ttl = 64
        return Ether(src=self.dut.tester_mac, dst=self.dut.mac) / ip_layer / tcp

    def send(self, tcp, payload=None, ip=None, update=None):
        """Send a segment; fields not set are filled (DSL.md section 4)."""
        explicit_seq = "seq" in tcp.fields
        frame = self.build(tcp, payload, ip)
        sent = self.wire.send(frame)
        self._sent.append(sent)
        t = sent[TCP]
        advance = (not explicit_seq and not t.flags.R) if update is None else update
        if advance:
            self.snd_nxt = seq_add(t.seq, seg_len(t))
        return sent

    # -- receiving ------------------------------------------------------

    def _mine(self, pkt):
        ip, tcp = pkt.getlayer(IP), pkt.getlayer(TCP)
        if ip is None or tcp is None:
            return False
        if ip.src != self.dut.ip or ip.dst != self.dut.tester_ip or tcp.dport != self.tester_port:
            return False
        return self.dut_port is None or tcp.sport == self.dut_port

    def _track(self, pkt):
        """Update irs/rcv_nxt/window from a frame the test accepted."""
        tcp = pkt[TCP]
        if self.dut_port is None:
            self.dut_port = tcp.sport
        n = seg_len(tcp)
        if tcp.flags.S:
            self.irs = tcp.seq
            self.rcv_nxt = seq_add(tcp.seq, n)
        elif self.irs is not None and tcp.seq == self.rcv_nxt:
            self.rcv_nxt = seq_add(tcp.seq, n)
        if tcp.flags.F:
            self.dut_fin_seq = seq_add(tcp.seq, len(tcp_payload(pkt)))
        self.dut_window = tcp.window

    def _next_frames(self, deadline):
        """Yield (index, frame) of this connection's frames as they arrive."""
        while True:
            while self._cursor < len(self.wire.rx):
                i = self._cursor
                self._cursor += 1
                if self._mine(self.wire.rx[i].pkt):
                    yield i, self.wire.rx[i]
            if time.time() >= deadline:
                # Last look: frames already queued in the socket still count.
                if self.wire.read_available():
                    continue
                return
            self.wire.pump(deadline)

    def expect(self, tpl=None, timeout=DEFAULT_EXPECT_TIMEOUT, payload=None, where=None, track=True):
        """Wait for a DUT frame matching the template; returns it (DSL.md 4)."""
        __tracebackhide__ = True
        tpl = tpl if tpl is not None else TCP()
        seen = []
        start_index = self._cursor
        t0 = time.time()
        for _i, frame in self._next_frames(t0 + timeout):
            ok, _rows = compare(tpl, frame.pkt, payload, where)
            if ok:
                if track:
                    self._track(frame.pkt)
                return frame.pkt
            seen.append(frame.pkt)
        raise ExpectationFailed(self._explain("expected", tpl, payload, where, timeout, seen, start_index))

    def expect_frames(self, tpl=None, count=1, timeout=DEFAULT_EXPECT_TIMEOUT, payload=None, where=None):
        """Wait for `count` matching frames within `timeout` in total."""
        __tracebackhide__ = True
        end = time.time() + timeout
        got = []
        for _ in range(count):
            try:
                got.append(self.expect(tpl, max(0.0, end - time.time()), payload, where))
            except ExpectationFailed as e:
                raise ExpectationFailed("got %d of %d frames\n%s" % (len(got), count, e)) from None
        return got

    def expect_none(self, tpl=None, timeout=DEFAULT_NONE_TIMEOUT, payload=None, where=None):
        """Fail if a frame matching the template comes within `timeout`."""
        __tracebackhide__ = True
        tpl = tpl if tpl is not None else TCP()
        start = time.time()
        for _i, frame in self._next_frames(start + timeout):
            ok, _rows = compare(tpl, frame.pkt, payload, where)
            if ok:
                raise ExpectationFailed(
                    "expected no frame matching %s within %.2fs, but got:\n%s\n%s" % (
                        describe_template(tpl, payload, where), timeout, "\n".join(
                            diff_table(tpl, frame.pkt, payload, where, self._start)),
                        frame.pkt.show(dump=True)))
        left = start + timeout - time.time()
        if left > 0:
            time.sleep(left)

    def _explain(self, what, tpl, payload, where, timeout, seen, start_index):
        lines = ["%s %s within %.2fs on %s:%s > %s:%d; none matched." % (
            what, describe_template(tpl, payload, where), timeout, self.dut.ip,
            self.dut_port if self.dut_port is not None else "*", self.dut.tester_ip, self.tester_port)]
        if not seen:
            lines.append("No frame of this connection arrived.")
        for pkt in seen:
            lines.extend(diff_table(tpl, pkt, payload, where, self._start))
        others = [f.pkt for f in self.wire.rx[start_index:] if not self._mine(f.pkt)]
        if others:
            lines.append("Frames of other 4-tuples in the same interval:")
            lines.extend("  " + summary(p, self._start) for p in others)
        lines.append("Connection: iss=%d snd_nxt=%d irs=%s rcv_nxt=%d" % (
            self.iss, self.snd_nxt, self.irs, self.rcv_nxt))
        return "\n".join(lines)

    # -- helpers --------------------------------------------------------

    def handshake(self, options=None, window=65535, timeout=DEFAULT_EXPECT_TIMEOUT):
        """Tester active open: SYN, expect SYN-ACK (ack=iss+1), ACK."""
        __tracebackhide__ = True
        opts = [("MSS", 1460)] if options is None else options
        self.send(TCP(flags="S", options=opts, window=window))
        synack = self.expect(TCP(flags="SA", ack=seq_add(self.iss, 1)), timeout=timeout)
        self.send(TCP(flags="A", window=window))
        return synack

    def ack_dut_fin(self):
        """Acknowledge the DUT's FIN (ack = dut_fin_seq + 1)."""
        if self.dut_fin_seq is None:
            raise ValueError("no FIN from the DUT has been seen on this connection")
        self.rcv_nxt = seq_add(self.dut_fin_seq, 1)
        return self.send(TCP(flags="A"))

    def close_from_tester(self):
        """Send FIN|ACK at snd_nxt."""
        return self.send(TCP(flags="FA"))

    def frames(self):
        """All frames of this connection so far, sent and received, in time order."""
        rx = [f.pkt for f in self.wire.rx if self._mine(f.pkt)]
        return sorted(self._sent + rx, key=lambda p: p.time)

    def __repr__(self):
        return "<Connection %s:%s<->%s:%d snd_nxt=%d rcv_nxt=%d>" % (
            self.dut.ip, self.dut_port, self.dut.tester_ip, self.tester_port, self.snd_nxt, self.rcv_nxt)
