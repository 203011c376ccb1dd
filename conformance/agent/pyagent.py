#!/usr/bin/python3
"""A second DUT agent for the Linux stack, written from AGENT.md alone.

It is the worked example for "Writing an agent for another stack": the
socket calls go through Python's socket module instead of C, and STATES
reads NETLINK_SOCK_DIAG with struct instead of linux/inet_diag.h. Run the suite with it
as the DUT kind "linux-py" (conformance/run --dut linux,linux-py) to see two
agents compared side by side in the report.
"""

import errno
import os
import select
import socket
import struct
import sys

SOCKS = {}

INT_OPTS = {
    "SO_REUSEADDR": (socket.SOL_SOCKET, socket.SO_REUSEADDR),
    "SO_REUSEPORT": (socket.SOL_SOCKET, socket.SO_REUSEPORT),
    "SO_KEEPALIVE": (socket.SOL_SOCKET, socket.SO_KEEPALIVE),
    "SO_SNDBUF": (socket.SOL_SOCKET, socket.SO_SNDBUF),
    "SO_RCVBUF": (socket.SOL_SOCKET, socket.SO_RCVBUF),
    "TCP_NODELAY": (socket.IPPROTO_TCP, socket.TCP_NODELAY),
    "TCP_QUICKACK": (socket.IPPROTO_TCP, socket.TCP_QUICKACK),
    "TCP_KEEPIDLE": (socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
    "TCP_KEEPINTVL": (socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
    "TCP_KEEPCNT": (socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
    "TCP_SYNCNT": (socket.IPPROTO_TCP, socket.TCP_SYNCNT),
    "TCP_USER_TIMEOUT": (socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
    "TCP_MAXSEG": (socket.IPPROTO_TCP, socket.TCP_MAXSEG),
}

EVENTS = [("IN", select.POLLIN), ("OUT", select.POLLOUT), ("PRI", select.POLLPRI),
          ("RDHUP", 0x2000), ("ERR", select.POLLERR), ("HUP", select.POLLHUP),
          ("NVAL", select.POLLNVAL)]

# Linux TCP state numbers (include/net/tcp_states.h) to the names ss prints.
STATE_NAMES = {1: "ESTAB", 2: "SYN-SENT", 3: "SYN-RECV", 4: "FIN-WAIT-1", 5: "FIN-WAIT-2",
               6: "TIME-WAIT", 7: "UNCONN", 8: "CLOSE-WAIT", 9: "LAST-ACK", 10: "LISTEN",
               11: "CLOSING", 12: "SYN-RECV"}


class Err(Exception):
    def __init__(self, code, text=""):
        super().__init__(code)
        self.code, self.text = code, text


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def sock(arg):
    try:
        ident = int(arg)
    except ValueError:
        raise Err(errno.EINVAL, "malformed request") from None
    if ident not in SOCKS:
        raise Err(errno.EBADF, "no such socket")
    return SOCKS[ident]


def wait(s, events, timeout_ms):
    p = select.poll()
    p.register(s, events)
    got = p.poll(int(timeout_ms))
    return got[0][1] if got else 0


def op_socket(a):
    s = socket.socket(socket.AF_INET6 if a[1:] == ["6"] else socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    SOCKS[s.fileno()] = s
    return str(s.fileno())


def op_bind(a):
    sock(a[1]).bind((a[2], int(a[3])))


def op_listen(a):
    sock(a[1]).listen(int(a[2]))


def op_accept(a):
    s = sock(a[1])
    if not wait(s, select.POLLIN, a[2]):
        raise Err(errno.EAGAIN)
    n, peer = s.accept()
    n.setblocking(False)
    SOCKS[n.fileno()] = n
    return "%d %s %d" % (n.fileno(), peer[0], peer[1])


def op_connect(a):
    rc = sock(a[1]).connect_ex((a[2], int(a[3])))
    if rc == 0:
        return "CONNECTED"
    if rc == errno.EINPROGRESS:
        return "INPROGRESS"
    raise Err(rc)


def op_send(a):
    return str(sock(a[1]).send(bytes.fromhex(a[2]), socket.MSG_NOSIGNAL))


def op_recv(a):
    s = sock(a[1])
    if not wait(s, select.POLLIN, a[3]):
        raise Err(errno.EAGAIN)
    data = s.recv(int(a[2]))
    return data.hex() if data else "EOF"


def op_shutdown(a):
    how = {"RD": socket.SHUT_RD, "WR": socket.SHUT_WR, "RDWR": socket.SHUT_RDWR}[a[2]]
    sock(a[1]).shutdown(how)


def op_close(a):
    s = sock(a[1])
    del SOCKS[int(a[1])]
    s.close()


def op_setsockopt(a):
    s = sock(a[1])
    if a[2] == "SO_LINGER":
        on, secs = (int(x) for x in a[3].split(","))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", on, secs))
        return None
    if a[2] not in INT_OPTS:
        raise Err(errno.ENOSYS, "unknown option")
    s.setsockopt(*INT_OPTS[a[2]], int(a[3]))
    return None


def op_getsockopt(a):
    s = sock(a[1])
    if a[2] == "SO_ERROR":
        e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        return errno.errorcode.get(e, "EIO") if e else "0"
    if a[2] == "SO_LINGER":
        return "%d,%d" % struct.unpack("ii", s.getsockopt(socket.SOL_SOCKET, socket.SO_LINGER, 8))
    if a[2] not in INT_OPTS:
        raise Err(errno.ENOSYS, "unknown option")
    return str(s.getsockopt(*INT_OPTS[a[2]]))


def op_poll(a):
    bits = 0
    for name in a[2].split(","):
        bits |= dict(EVENTS)[name]
    got = wait(sock(a[1]), bits, a[3])
    names = [n for n, b in EVENTS if got & b]
    return ",".join(names) if names else "-"


def op_state(a):
    info = sock(a[1]).getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
    return STATE_NAMES.get(info[0], "UNKNOWN")


NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3


def _diag_dump():
    """Every TCP/IPv4 socket of the namespace through NETLINK_SOCK_DIAG, as
    (state, lip, lport, rip, rport, inode, timer_ms or None), the way ss
    gets them, so entries without a descriptor (SYN-RECV, TIME-WAIT) show."""
    req = struct.pack("=BBBBI", socket.AF_INET, socket.IPPROTO_TCP, 0, 0, 0xFFFFFFFF) + bytes(48)
    msg = struct.pack("=IHHII", 16 + len(req), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + req
    nl = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG)
    try:
        nl.sendto(msg, (0, 0))
        while True:
            buf = nl.recv(65536)
            off = 0
            while off + 16 <= len(buf):
                length, typ = struct.unpack_from("=IH", buf, off)
                if typ == NLMSG_DONE:
                    return
                if typ == NLMSG_ERROR:
                    raise OSError(errno.EIO, "sock_diag")
                body = off + 16
                _fam, state, timer, _retr = struct.unpack_from("=BBBB", buf, body)
                sport, dport = struct.unpack_from(">HH", buf, body + 4)
                src = socket.inet_ntoa(buf[body + 8:body + 12])
                dst = socket.inet_ntoa(buf[body + 24:body + 28])
                expires, _rq, _wq, _uid, inode = struct.unpack_from("=IIIII", buf, body + 52)
                yield state, src, sport, dst, dport, inode, (expires if timer else None)
                off += (length + 3) & ~3
    finally:
        nl.close()


def op_states(a):
    inode_to_id = {os.fstat(fd).st_ino: fd for fd in SOCKS}
    lines = []
    for state, lip, lport, rip, rport, inode, timer in _diag_dump():
        ident = inode_to_id.get(inode) if inode else None
        lines.append("%s %s %d %s %d %s %s" % (STATE_NAMES.get(state, "UNKNOWN"), lip, lport, rip, rport,
                                                "-" if ident is None else ident,
                                                "-" if timer is None else timer))
    return "%d\n%s" % (len(lines), "\n".join(lines)) if lines else "0"


def op_reset(a):
    for fd, s in list(SOCKS.items()):
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        s.close()
        del SOCKS[fd]


OPS = {"SOCKET": op_socket, "BIND": op_bind, "LISTEN": op_listen, "ACCEPT": op_accept,
       "CONNECT": op_connect, "SEND": op_send, "RECV": op_recv, "SHUTDOWN": op_shutdown,
       "CLOSE": op_close, "SETSOCKOPT": op_setsockopt, "GETSOCKOPT": op_getsockopt,
       "POLL": op_poll, "STATE": op_state, "STATES": op_states, "RESET": op_reset,
       "INFO": lambda a: "stack=linux agent=python"}


def handle(words):
    if words[0] not in OPS:
        raise Err(errno.ENOSYS, "unknown verb")
    try:
        value = OPS[words[0]](words)
    except (IndexError, ValueError, KeyError):
        raise Err(errno.EINVAL, "malformed request") from None
    except OSError as e:
        raise Err(e.errno or errno.EIO) from None
    return "OK" if value is None else "OK " + value


def main():
    out("HELLO synfin-agent 1 linux-py")
    for line in sys.stdin:
        words = line.split()
        if not words:
            out("ERR EINVAL empty request")
            continue
        if words[0] == "QUIT":
            out("OK")
            return 0
        try:
            out(handle(words))
        except Err as e:
            out("ERR %s%s" % (errno.errorcode.get(e.code, "EIO"), (" " + e.text) if e.text else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
