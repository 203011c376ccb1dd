"""The device under test: its kind (how to start it), and the Dut object
tests call socket operations on (DSL.md section 3)."""

import contextlib
import itertools
import os
import time
from collections import namedtuple

from .agent import Agent, DutDied, DutError, DutHung
from .conn import Connection

# ss(8) names, as the agent protocol uses them (seed item 15).
SS_STATES = ("LISTEN", "SYN-SENT", "SYN-RECV", "ESTAB", "FIN-WAIT-1", "FIN-WAIT-2",
             "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT", "CLOSED")

RFC_TO_SS = {
    "CLOSED": "CLOSED", "LISTEN": "LISTEN", "SYN-SENT": "SYN-SENT", "SYN-RECEIVED": "SYN-RECV",
    "ESTABLISHED": "ESTAB", "FIN-WAIT-1": "FIN-WAIT-1", "FIN-WAIT-2": "FIN-WAIT-2",
    "CLOSE-WAIT": "CLOSE-WAIT", "CLOSING": "CLOSING", "LAST-ACK": "LAST-ACK",
    "TIME-WAIT": "TIME-WAIT",
}


def ss_name(state):
    """Normalize an RFC or ss spelling to the ss name used by the DSL."""
    s = state.upper().replace("_", "-")
    if s == "UNCONN":
        return "CLOSED"
    s = RFC_TO_SS.get(s, s)
    if s not in SS_STATES:
        raise ValueError("unknown TCP state name %r (use one of %s)" % (state, ", ".join(SS_STATES)))
    return s


SockInfo = namedtuple("SockInfo", "state lip lport rip rport sock timer_ms")

# -- DUT kinds ----------------------------------------------------------------

_KINDS = {}


class DutKind:
    """How to set up one kind of DUT in a lab. Subclass and register."""

    name = None
    # Stacks of one family share declared departures: xfail_on("linux")
    # applies to every kind whose family is "linux". Default: the name.
    family = None

    def setup_lab(self, lab):
        """Configure the DUT side of a freshly created lab."""
        raise NotImplementedError

    def agent_argv(self, lab):
        """argv of the agent; it is run inside lab.dut_ns via `ip netns exec`."""
        raise NotImplementedError

    def settings(self, lab):
        """{name: value} of the DUT's timer and option settings, for the report."""
        return {}

    def set_setting(self, dut, name, value):
        """Set one stack-wide tunable, named by its Linux sysctl name, and
        return its previous value (a string).

        The default speaks the agent extension `SYSCTL <name> [<value>]`
        (AGENT.md, "Extensions"): the agent maps the Linux name onto its own
        stack's setting, so a test switches e.g. the challenge-ACK rate
        limit (RFC 5961 section 7) the same way on every DUT. An agent
        without it answers ERR ENOSYS and the test fails on that DUT with
        that message."""
        old = dut._req("SYSCTL %s" % name)[0]
        dut._req("SYSCTL %s %s" % (name, value))
        return old


def register_dut_kind(kind):
    _KINDS[kind.name] = kind


_LOAD_ERRORS = {}


def load_dut_modules():
    """Import every synfin_conf/dut_<name>.py so the kinds they register are
    known. A module that fails to import is remembered, not fatal: it only
    matters if its kind is asked for (see load_errors())."""
    import importlib
    import pkgutil
    pkg_dir = os.path.dirname(os.path.abspath(__file__))
    for mod in pkgutil.iter_modules([pkg_dir]):
        if mod.name.startswith("dut_") and mod.name not in _LOAD_ERRORS:
            try:
                importlib.import_module("%s.%s" % (__package__, mod.name))
            except Exception as e:  # reported when the kind is requested
                _LOAD_ERRORS[mod.name] = "%s: %s" % (type(e).__name__, e)


def load_errors():
    return dict(_LOAD_ERRORS)


def dut_kinds():
    return dict(_KINDS)


# Sysctls of the Linux DUT namespace. Short timers keep the run fast; each
# one is written into the report so results can be read against them.
LINUX_SYSCTLS = {
    "net.ipv4.tcp_synack_retries": "2",    # SYN-RECV gives up after ~7 s (seed 11)
    "net.ipv4.tcp_syn_retries": "2",       # SYN-SENT gives up after ~7 s
    "net.ipv4.tcp_fin_timeout": "3",       # orphaned FIN-WAIT-2 bound (seed 6)
    "net.ipv4.tcp_timestamps": "1",
    "net.ipv4.tcp_sack": "1",
    "net.ipv4.tcp_window_scaling": "1",
    "net.ipv4.tcp_syncookies": "0",        # backlog overflow drops, it does not hide behind cookies
    "net.ipv4.tcp_ecn": "0",
    "net.ipv4.tcp_rfc1337": "0",
    "net.ipv4.tcp_invalid_ratelimit": "0", # answer every out-of-window segment (U-10), no 500 ms rate limit
    "net.ipv4.tcp_challenge_ack_limit": "1000000",  # RFC 5961 challenge ACKs not rate-limited per netns
    "net.ipv4.tcp_no_metrics_save": "1",   # no RTT cache between tests on the same peer address
    "net.ipv4.tcp_autocorking": "0",       # small writes go out at once
    "net.ipv4.tcp_keepalive_time": "7200",
    "net.ipv4.tcp_keepalive_intvl": "75",
    "net.ipv4.tcp_keepalive_probes": "9",
}


def find_agent():
    """Path of the built Linux agent: $SFC_AGENT or the newest build/*/conformance/sfc-agent."""
    env = os.environ.get("SFC_AGENT")
    if env:
        return env
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    best = None
    build = os.path.join(root, "build")
    if os.path.isdir(build):
        for d in os.listdir(build):
            p = os.path.join(build, d, "conformance", "sfc-agent")
            if os.access(p, os.X_OK) and (best is None or os.path.getmtime(p) > os.path.getmtime(best)):
                best = p
    return best


class LinuxDut(DutKind):
    """The Linux kernel's TCP in the DUT namespace, driven by sfc-agent."""

    name = "linux"

    def __init__(self):
        self.applied = {}

    def setup_lab(self, lab):
        from .lab import write_sysctls
        self.applied = write_sysctls(lab.dut_ns, LINUX_SYSCTLS)
        lab.configure_ip_dut()

    def agent_argv(self, lab):
        agent = find_agent()
        if not agent:
            raise DutError("NOAGENT", "sfc-agent not found: build it (cmake --build --preset asan "
                           "--target sfc-agent) or set SFC_AGENT", "<start-up>")
        return ["ip", "netns", "exec", lab.dut_ns, agent]

    def set_setting(self, dut, name, value):
        """A real sysctl in the DUT namespace (per network namespace)."""
        from .lab import read_sysctl, write_sysctls
        old = read_sysctl(dut.lab.dut_ns, name)
        got = write_sysctls(dut.lab.dut_ns, {name: str(value)})[name]
        if got.startswith("n/a") or got.split() != str(value).split():
            raise DutError("EINVAL", "sysctl %s=%s did not apply (%s)" % (name, value, got),
                           "sysctl %s" % name)
        return old

    def settings(self, lab):
        from .lab import read_sysctl
        out = dict(self.applied)
        # Left at the kernel default, but results depend on them.
        for name in ("net.ipv4.tcp_syn_linear_timeouts", "net.ipv4.tcp_rto_min_us",
                     "net.ipv4.tcp_max_syn_backlog", "net.core.somaxconn", "net.ipv4.tcp_tw_reuse"):
            try:
                out[name] = read_sysctl(lab.dut_ns, name) + " (kernel default)"
            except OSError:
                out[name] = "n/a"
        out["kernel"] = os.uname().release
        out["TIME-WAIT length"] = "60 s (TCP_TIMEWAIT_LEN, fixed)"
        return out


register_dut_kind(LinuxDut())


class LinuxPyDut(LinuxDut):
    """The same Linux stack driven by agent/pyagent.py, a second agent
    written from AGENT.md alone (Python sockets; sock_diag read with struct).
    It proves the protocol and lets two DUTs be compared side by side."""

    name = "linux-py"
    family = "linux"

    def agent_argv(self, lab):
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        return ["ip", "netns", "exec", lab.dut_ns, "/usr/bin/python3", os.path.join(here, "agent", "pyagent.py")]


register_dut_kind(LinuxPyDut())

# -- the Dut object ------------------------------------------------------------

_ports = itertools.count(20000)
_tester_ports = itertools.count(40000)


class Dut:
    """A running DUT: lab, agent, wire. Tests get it from the `dut` fixture."""

    def __init__(self, kind, lab, wire, log_dir=None):
        self.kind_obj = kind
        self.kind = kind.name
        self.family = kind.family or kind.name
        self.lab = lab
        self.wire = wire
        self.ip, self.mac = lab.dut_ip, lab.dut_mac
        self.tester_ip, self.tester_mac = lab.tester_ip, lab.tester_mac
        self.log_path = os.path.join(log_dir, "agent-%s.log" % kind.name) if log_dir else None
        self.agent = None
        self.settings = {}
        self.restarts = 0

    # -- life cycle --

    def start(self):
        self.agent = Agent(self.kind_obj.agent_argv(self.lab), self.log_path)
        self.settings = self.kind_obj.settings(self.lab)

    def ensure_alive(self):
        """Restart the agent if it died or was declared hung."""
        if self.agent is None or not self.agent.usable():
            if self.agent is not None:
                self.agent.kill()
                self.restarts += 1
            self.start()

    def stop(self):
        if self.agent is not None:
            self.agent.kill()
            self.agent = None

    def _req(self, line, timeout_s=0.0):
        try:
            return self.agent.request(line, timeout_s)
        except (DutDied, DutHung):
            self.agent.kill()  # the next test starts a fresh one
            raise

    # -- socket calls (AGENT.md) --

    def socket(self):
        return int(self._req("SOCKET")[0])

    def bind(self, s, port, ip=None):
        self._req("BIND %d %s %d" % (s, ip or self.ip, port))

    def listen(self, s, backlog):
        self._req("LISTEN %d %d" % (s, backlog))

    def accept(self, s, timeout=1.0):
        w = self._req("ACCEPT %d %d" % (s, int(timeout * 1000)), timeout)
        return int(w[0]), (w[1], int(w[2]))

    def connect(self, s, port, ip=None):
        return self._req("CONNECT %d %s %d" % (s, ip or self.tester_ip, port))[0]

    def send(self, s, data):
        return int(self._req("SEND %d %s" % (s, bytes(data).hex()))[0])

    def recv(self, s, n=65536, timeout=1.0):
        w = self._req("RECV %d %d %d" % (s, n, int(timeout * 1000)), timeout)
        return b"" if w[0] == "EOF" else bytes.fromhex(w[0])

    def shutdown(self, s, how):
        self._req("SHUTDOWN %d %s" % (s, how))

    def close(self, s):
        self._req("CLOSE %d" % s)

    def setsockopt(self, s, name, value):
        if isinstance(value, tuple):
            value = "%d,%d" % value
        self._req("SETSOCKOPT %d %s %s" % (s, name, value))

    def getsockopt(self, s, name):
        v = self._req("GETSOCKOPT %d %s" % (s, name))[0]
        if name == "SO_LINGER":
            a, b = v.split(",")
            return int(a), int(b)
        try:
            return int(v)
        except ValueError:
            return v

    def poll(self, s, events, timeout=1.0):
        w = self._req("POLL %d %s %d" % (s, events, int(timeout * 1000)), timeout)
        return set() if w[0] == "-" else set(w[0].split(","))

    def state(self, s):
        return ss_name(self._req("STATE %d" % s)[0])

    def states(self):
        out = []
        try:
            lines = self.agent.request_lines("STATES")
        except (DutDied, DutHung):
            self.agent.kill()
            raise
        for line in lines:
            st, lip, lport, rip, rport, sock, timer = line.split(" ")
            out.append(SockInfo(ss_name(st), lip, int(lport), rip, int(rport),
                                None if sock == "-" else int(sock),
                                None if timer == "-" else int(timer)))
        return out

    def reset(self):
        self._req("RESET")

    # -- stack-wide settings --

    def set_setting(self, name, value):
        """Set a stack-wide tunable by its Linux sysctl name (e.g.
        "net.ipv4.tcp_invalid_ratelimit") on this DUT; returns the old value.
        Linux: the sysctl of the DUT namespace; other kinds: the agent's
        SYSCTL extension (AGENT.md)."""
        return self.kind_obj.set_setting(self, name, value)

    @contextlib.contextmanager
    def setting(self, name, value):
        """`with dut.setting(name, value):` the tunable has that value for
        the block and its old value afterwards, on every DUT kind alike."""
        old = self.set_setting(name, value)
        try:
            yield old
        finally:
            if self.agent is not None and self.agent.usable():
                self.set_setting(name, old)
            elif self.family == "linux":
                self.set_setting(name, old)  # a sysctl outlives a dead agent

    # -- conveniences --

    def new_port(self):
        return next(_ports)

    def new_tester_port(self):
        return next(_tester_ports)

    def listener(self, backlog=8, port=None, reuse=False):
        port = port or self.new_port()
        s = self.socket()
        if reuse:
            self.setsockopt(s, "SO_REUSEADDR", 1)
        self.bind(s, port)
        self.listen(s, backlog)
        return s, port

    def conn(self, dut_port=None, tester_port=None):
        return Connection(self, dut_port, tester_port or self.new_tester_port())

    def entries(self, conn):
        """SockInfo entries of conn's 4-tuple."""
        return [i for i in self.states() if i.lport == conn.dut_port and i.rport == conn.tester_port
                and i.rip == self.tester_ip]

    def state_of(self, conn, listener=False):
        if listener:
            lst = [i for i in self.states() if i.lport == conn.dut_port and i.state == "LISTEN"]
            return lst[0].state if lst else "CLOSED"
        ent = self.entries(conn)
        return ent[0].state if ent else "CLOSED"

    def wait_state(self, conn, state, timeout=2.0, listener=False):
        __tracebackhide__ = True
        want = ss_name(state)
        end = time.time() + timeout
        history = []
        while True:
            got = self.state_of(conn, listener)
            if not history or history[-1] != got:
                history.append(got)
            if got == want:
                return got
            if time.time() >= end:
                raise AssertionError("DUT socket %s:%s<->%s:%s did not reach %s within %.1fs; states seen: %s"
                                     % (self.ip, conn.dut_port, self.tester_ip, conn.tester_port, want,
                                        timeout, " -> ".join(history)))
            time.sleep(0.02)

    def count_state(self, state, lport=None):
        want = ss_name(state)
        return sum(1 for i in self.states() if i.state == want and (lport is None or i.lport == lport))
