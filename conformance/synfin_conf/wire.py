"""The tester's end of the link: one AF_PACKET socket for the whole run.

The socket is opened inside the tester namespace and then used from the
root namespace. Frames are read on demand (no sniffer thread), each with the
kernel's receive timestamp (SO_TIMESTAMPNS), so timing checks do not depend
on when Python got round to reading. scapy builds and dissects the frames;
sending one is a single send(2), well under a millisecond.
"""

import select
import socket
import struct
import time

from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from .netns import in_netns

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SO_TIMESTAMPNS = 35


class Frame:
    """One frame on the wire: raw bytes, dissected packet, time, direction."""

    __slots__ = ("raw", "pkt", "time", "outgoing")

    def __init__(self, raw, t, outgoing):
        self.raw = raw
        self.time = t
        self.outgoing = outgoing
        self.pkt = Ether(raw)
        self.pkt.time = t


class Wire:
    """The packet socket plus the log of the current test's frames.

    `rx` holds the frames received from the DUT during the current test, in
    arrival order; consumers (connections) keep their own cursor into it.
    `log` holds every frame of the test in both directions, for the pcap.
    """

    def __init__(self, netns, ifname):
        with in_netns(netns):
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            self.sock.bind((ifname, 0))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock.setblocking(False)
        self.ifname = ifname
        self.rx = []
        self.log = []

    def close(self):
        self.sock.close()

    def begin_test(self):
        """Drop what is queued from before and start a fresh frame log."""
        self.read_available(keep=False)
        self.rx = []
        self.log = []

    def send(self, pkt):
        """Send one scapy frame; returns the dissected copy that was sent."""
        raw = bytes(pkt)
        self.sock.send(raw)
        frame = Frame(raw, time.time(), True)
        self.log.append(frame)
        return frame.pkt

    def _recv_one(self):
        try:
            raw, anc, _flags, addr = self.sock.recvmsg(65536, 64)
        except BlockingIOError:
            return None
        t = None
        for level, typ, data in anc:
            if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS and len(data) >= 16:
                sec, nsec = struct.unpack("qq", data[:16])
                t = sec + nsec / 1e9
        if t is None:
            t = time.time()
        # The packet socket also sees what we sent ourselves; those frames
        # are already in the log.
        return False if addr[2] == PACKET_OUTGOING else (raw, t)

    def read_available(self, keep=True):
        """Read every frame queued now (no waiting); returns how many were kept."""
        n = 0
        while True:
            got = self._recv_one()
            if got is None:
                return n
            if got is False or not keep:
                continue
            frame = Frame(got[0], got[1], False)
            self.rx.append(frame)
            self.log.append(frame)
            n += 1

    def pump(self, deadline):
        """Wait until at least one new frame arrived or the deadline passed.

        Returns the number of frames appended to `rx`.
        """
        while True:
            n = self.read_available()
            if n:
                return n
            left = deadline - time.time()
            if left <= 0:
                return 0
            select.select([self.sock], [], [], left)

    def save_pcap(self, path):
        """Write the current test's frames (both directions) as a pcap."""
        if not self.log:
            return False
        wrpcap(path, [f.pkt for f in self.log])
        return True
