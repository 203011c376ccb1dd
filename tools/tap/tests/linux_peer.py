#!/usr/bin/python3
"""Integration test of synfin-tap against the Linux kernel's TCP.

The kernel side of the TAP device is an ordinary interface: give it
192.0.2.1 in a namespace of our own and the kernel becomes the runner's
peer, with no veth or bridge in between. The test drives the runner over
its agent protocol (conformance/AGENT.md) and the kernel with plain
sockets, in both directions:

  * passive open: the kernel ARPs for 192.0.2.2 (the runner answers),
    connects, both sides exchange data, the kernel closes (EOF);
  * both again over IPv6 (2001:db8::/64), with neighbour discovery both ways;
  * ping: the runner answers ICMP echo requests;
  * active open: the engine connects (non-blocking, POLL OUT, SO_ERROR),
    exchanges data with a kernel listener, STATES lists the connection;
  * the same transfer with every link fault on (drop, duplicate, reorder,
    corrupt; fixed seed): TCP on both sides must still deliver every byte;
  * QUIT and SIGTERM end the runner with status 0; the capture is a valid
    pcap holding ARP and TCP frames.

Needs root (namespaces, /dev/net/tun). Usage: linux_peer.py PATH-TO-synfin-tap
Everything it creates (namespace "sftap-<pid>") is removed, also on failure.
"""

import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

NS = "sftap-%x" % os.getpid()
ENGINE_IP, PEER_IP = "192.0.2.2", "192.0.2.1"
ENGINE_IP6, PEER_IP6 = "2001:db8::2", "2001:db8::1"
ENGINE_MAC = "02:00:5f:c0:00:02"
PY = "/usr/bin/python3"


def sh(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


class Runner:
    """synfin-tap in the namespace, driven over stdin/stdout."""

    def __init__(self, binary, *extra):
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", NS, binary, "--tap", "tp0", "--ip", ENGINE_IP,
             "--ip6", ENGINE_IP6, "--mac", ENGINE_MAC, "--check", "--rto-min-ms", "200", *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        hello = self.proc.stdout.readline().strip()
        assert hello == "HELLO synfin-agent 1 synfin", "greeting: %r" % hello

    def req(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline().strip()
        if not reply:
            raise AssertionError("runner died on %r (status %s)" % (line, self.proc.poll()))
        return reply

    def ok(self, line):
        reply = self.req(line)
        assert reply.startswith("OK"), "%s -> %s" % (line, reply)
        return reply[3:]

    def states(self):
        n = int(self.ok("STATES"))
        return [self.proc.stdout.readline().strip() for _ in range(n)]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def in_ns_python(code):
    """Run a Python snippet in the namespace (the kernel's side)."""
    return subprocess.Popen(["ip", "netns", "exec", NS, PY, "-c", code],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def recv_all(r, sock, n, timeout_ms=5000):
    got = b""
    end = time.time() + 30
    while len(got) < n and time.time() < end:
        reply = r.req("RECV %d 65536 %d" % (sock, timeout_ms))
        if reply == "ERR EAGAIN":
            continue
        assert reply.startswith("OK ") and reply != "OK EOF", "RECV -> %s" % reply
        got += bytes.fromhex(reply[3:])
    return got


def check_passive(r, payload, v6=False):
    engine_ip, peer_ip = (ENGINE_IP6, PEER_IP6) if v6 else (ENGINE_IP, PEER_IP)
    lsock = int(r.ok("SOCKET 6" if v6 else "SOCKET"))
    r.ok("BIND %d %s 5000" % (lsock, "::" if v6 else "0.0.0.0"))
    r.ok("LISTEN %d 4" % lsock)
    client = in_ns_python(
        "import socket,sys\n"
        "s=socket.create_connection(('%s',5000),timeout=20)\n"
        "s.sendall(bytes.fromhex('%s'))\n"
        "got=b''\n"
        "while len(got)<%d:\n"
        "  b=s.recv(65536)\n"
        "  if not b: break\n"
        "  got+=b\n"
        "print(got.hex()); s.close()\n" % (engine_ip, payload.hex(), len(payload)))
    words = r.ok("ACCEPT %d 5000" % lsock).split()
    assert words[1] == peer_ip, words
    sock = int(words[0])
    assert recv_all(r, sock, len(payload)) == payload, "engine received wrong bytes"
    sent = 0
    while sent < len(payload):
        reply = r.req("SEND %d %s" % (sock, payload[sent:sent + 8192].hex()))
        if reply == "ERR EAGAIN":
            r.req("POLL %d OUT 2000" % sock)
            continue
        assert reply.startswith("OK "), reply
        sent += int(reply[3:])
    out, err = client.communicate(timeout=60)
    assert client.returncode == 0, "kernel client failed: %s" % err
    assert bytes.fromhex(out.strip()) == payload, "kernel received wrong bytes"
    deadline = time.time() + 20
    while True:  # the kernel closed: the engine reads EOF
        reply = r.req("RECV %d 100 2000" % sock)
        if reply == "OK EOF" or time.time() > deadline:
            break
    assert reply == "OK EOF", "after the kernel's close: %s" % reply
    r.ok("CLOSE %d" % sock)
    r.ok("CLOSE %d" % lsock)


def check_active(r, v6=False):
    engine_ip, peer_ip = (ENGINE_IP6, PEER_IP6) if v6 else (ENGINE_IP, PEER_IP)
    server = in_ns_python(
        "import socket\n"
        "l=socket.socket(socket.AF_INET6 if %r else socket.AF_INET)\n"
        "l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "l.bind(('%s',6000)); l.listen(1); print('ready', flush=True); l.settimeout(20)\n"
        "c,_=l.accept(); c.settimeout(20); c.sendall(b'ping'); print(c.recv(100).decode())\n"
        "c.close()\n" % (v6, peer_ip))
    assert server.stdout.readline().strip() == "ready"
    sock = int(r.ok("SOCKET 6" if v6 else "SOCKET"))
    assert r.ok("CONNECT %d %s 6000" % (sock, peer_ip)) in ("INPROGRESS", "CONNECTED")
    assert "OUT" in r.ok("POLL %d OUT 5000" % sock).split(",")
    assert r.ok("GETSOCKOPT %d SO_ERROR" % sock) == "0"
    assert r.ok("STATE %d" % sock) == "ESTAB"
    lines = r.states()
    estab = [l for l in lines if l.startswith("ESTAB %s " % engine_ip) and " %s 6000 %d " % (peer_ip, sock) in l]
    assert estab, "STATES lacks the connection: %s" % lines
    assert recv_all(r, sock, 4) == b"ping"
    assert r.ok("SEND %d %s" % (sock, b"pong".hex())) == "4"
    out, err = server.communicate(timeout=30)
    assert out.strip() == "pong", "kernel server got %r (%s)" % (out, err)
    r.ok("RESET")


def check_ping():
    """An ICMP echo request from the kernel's side gets its reply (no ping(8)
    needed: a raw socket)."""
    pinger = in_ns_python(
        "import socket,struct,time\n"
        "def cs(b):\n"
        "  s=sum(struct.unpack('!%%dH' %% (len(b)//2), b)); s=(s&0xffff)+(s>>16); s+=s>>16\n"
        "  return ~s & 0xffff\n"
        "r=socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); r.settimeout(3)\n"
        "body=struct.pack('!HH', 0x5f5f, 1)+b'synfin-tap-echo!'\n"
        "msg=struct.pack('!BBH', 8, 0, 0)+body; msg=msg[:2]+struct.pack('!H', cs(msg))+msg[4:]\n"
        "r.sendto(msg, ('%s', 0))\n"
        "while True:\n"
        "  d,a=r.recvfrom(2000); ic=d[(d[0]&15)*4:]\n"
        "  if ic[0]==0 and ic[4:]==body and cs(ic)==0: print('ok'); break\n" % ENGINE_IP)
    out, err = pinger.communicate(timeout=10)
    assert out.strip() == "ok", "no echo reply from the runner: %s" % err


def check_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, major, minor, _z, _s, _snap, linktype = struct.unpack("<IHHiIII", data[:24])
    assert (magic, major, minor, linktype) == (0xa1b2c3d4, 2, 4, 1), "bad pcap header"
    off, types = 24, set()
    while off < len(data):
        _ts, _us, caplen, length = struct.unpack("<IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + caplen]
        assert caplen == length == len(frame), "truncated pcap record"
        types.add(struct.unpack("!H", frame[12:14])[0])
        off += 16 + caplen
    assert {0x0806, 0x0800, 0x86dd} <= types, "capture lacks ARP, IPv4 or IPv6: %s" % types


def setup_ns():
    sh("ip", "netns", "add", NS)
    sh("ip", "netns", "exec", NS, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
    sh("ip", "netns", "exec", NS, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
    sh("ip", "-n", NS, "link", "set", "lo", "up")
    sh("ip", "-n", NS, "tuntap", "add", "dev", "tp0", "mode", "tap")
    sh("ip", "-n", NS, "addr", "add", PEER_IP + "/24", "dev", "tp0")
    sh("ip", "netns", "exec", NS, "sysctl", "-qw", "net.ipv6.conf.tp0.disable_ipv6=0")
    sh("ip", "-n", NS, "addr", "add", PEER_IP6 + "/64", "dev", "tp0", "nodad")
    sh("ip", "-n", NS, "link", "set", "tp0", "up")


def main(binary):
    if os.geteuid() != 0:
        print("linux_peer.py: needs root (network namespaces, /dev/net/tun)")
        return 1
    tmp = tempfile.mkdtemp(prefix="sftap-")
    pcap = os.path.join(tmp, "run.pcap")
    runners = []
    try:
        setup_ns()
        payload = os.urandom(20000)
        r = Runner(binary, "--pcap", pcap)
        runners.append(r)
        check_ping()
        check_passive(r, payload)
        check_active(r)
        check_passive(r, payload, v6=True)
        check_active(r, v6=True)
        assert r.ok("QUIT") == ""
        assert r.proc.wait(timeout=5) == 0, "QUIT: status %s" % r.proc.returncode
        check_pcap(pcap)
        print("plain link, IPv4 and IPv6: ok")

        r = Runner(binary, "--drop", "0.05", "--dup", "0.05", "--reorder", "0.05",
                   "--corrupt", "0.02", "--seed", "7", "--reorder-ms", "5", "--verbose")
        runners.append(r)
        check_passive(r, payload)
        r.proc.send_signal(signal.SIGTERM)
        assert r.proc.wait(timeout=5) == 0, "SIGTERM: status %s" % r.proc.returncode
        print("faulty link (drop/dup/reorder/corrupt 5/5/5/2 %, seed 7): ok")
        return 0
    finally:
        for r in runners:
            r.stop()
        sh("ip", "netns", "del", NS, check=False)
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: linux_peer.py PATH-TO-synfin-tap")
    sys.exit(main(sys.argv[1]))
