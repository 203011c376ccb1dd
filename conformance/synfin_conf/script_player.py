"""Plays packetdrill-syntax scripts over the wire against any DUT.

The script is never parsed here: the C tool (`synfin events X.pkt`, see
tools/SCRIPTS.md) turns it into events as JSON, and this module plays them.
The script's *local* side is the DUT; the tester plays the *remote* side
through the suite's Wire and Connection objects; the script's system calls
go to the DUT agent (AGENT.md). Addresses and ports are mapped onto the
lab's: the script's local address becomes `dut.ip`, its remote address
`dut.tester_ip`, and every port number the script uses gets a fresh port of
this run (`dut.new_port()` / `dut.new_tester_port()`), so one script never
meets the leftovers of another test.

Sequence numbers are translated as packetdrill does: inbound `seq` is
relative to the script's remote ISN (`--remote_isn`, default 0), inbound
`ack` and outbound `seq` to the DUT's ISN (learnt from the DUT's SYN on that
flow), outbound `ack` to the remote ISN. Expected outbound segments are
matched field by field in wire order (the next DUT frame of the script's
flows must match, like packetdrill and `synfin run`), with a timing
tolerance. The rules, in particular where the wire differs from the
in-process runner, are in conformance/SCRIPTS-ON-THE-WIRE.md.
"""

import errno as errno_mod
import glob
import json
import os
import re
import struct
import subprocess
import time

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from .agent import DutDied, DutError, DutHung
from .dut import ss_name

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOD = 1 << 32

# packetdrill's default --tolerance_usecs; scripts may set their own.
PACKETDRILL_TOLERANCE_US = 4000
# The tolerance on the wire is the script's, scaled: a real clock, Python,
# scapy and the DUT's timer wheel (a Linux timer of a few seconds fires up
# to 64 ms late at HZ=1000) are far coarser than packetdrill's in-kernel
# timing. 4 ms x 50 = 200 ms by default.
DEFAULT_TOLERANCE_SCALE = 50.0
# Plus a share of the interval being timed (packetdrill's
# --tolerance_percent): a 60 s Linux timer sits in a timer-wheel level with
# a granularity of up to 4 s (6.7 %), always rounded up.
DEFAULT_TOLERANCE_PERCENT = 10.0
# How long an outbound packet written with `*` (any time) is waited for.
ANY_TIME_WAIT_S = 10.0
# How often a state check asks the DUT while it waits for the state.
STATE_POLL_S = 0.02
# Share of the base tolerance a call expected to succeed may wait for a
# segment still on its way (the DUT needs well under a millisecond); kept
# small so the events after it are not late.
CALL_GRACE = 0.25

SHUT = {0: "RD", 1: "WR", 2: "RDWR"}
# poll(2) bits (Linux values, as in the JSON) and the agent's names for them.
POLL_BITS = {"IN": 0x001, "PRI": 0x002, "OUT": 0x004, "ERR": 0x008, "HUP": 0x010, "NVAL": 0x020,
             "RDHUP": 0x2000}
POLL_UNSUPPORTED = {0x040: "POLLRDNORM", 0x100: "POLLWRNORM"}
O_RDWR, O_NONBLOCK = 0o2, 0o4000
F_GETFL, F_SETFL = 3, 4
MSG_DONTWAIT = 0x40


class ScriptError(Exception):
    """The script cannot be played at all (tool missing or failing, bad JSON)."""


class ScriptFailed(AssertionError):
    """The DUT did not do what the script says; the message explains where and how."""


class ScriptSkipped(Exception):
    """The script cannot run on this DUT for a stated reason (see unmet_needs())."""


# -- the C tool -----------------------------------------------------------------

def find_tool():
    """Path of the C tool: $SYNFIN_TOOL, else the newest build/*/tools/synfin."""
    env = os.environ.get("SYNFIN_TOOL")
    if env:
        return env
    best = None
    for p in glob.glob(os.path.join(REPO, "build", "*", "tools", "synfin")):
        if os.path.isfile(p) and os.access(p, os.X_OK):
            if best is None or os.path.getmtime(p) > os.path.getmtime(best):
                best = p
    return best


def load_events(path, tool=None):
    """The script's events as the C tool prints them (`synfin events`)."""
    tool = tool or find_tool()
    if not tool:
        raise ScriptError("the synfin tool is not built, so scripts cannot be read (the Python side "
                          "never parses them): build it with `cmake --preset release && cmake --build "
                          "--preset release --target synfin`, or set SYNFIN_TOOL")
    if not os.access(tool, os.X_OK):
        raise ScriptError("SYNFIN_TOOL=%s is not an executable file" % tool)
    try:
        proc = subprocess.run([tool, "events", path], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ScriptError("running `%s events %s` failed: %s" % (tool, path, e)) from None
    if proc.returncode != 0:
        raise ScriptError("`%s events %s` failed (exit %d):\n%s" % (
            tool, path, proc.returncode, (proc.stderr or proc.stdout).strip()))
    try:
        doc = json.loads(proc.stdout)
    except ValueError as e:
        raise ScriptError("`%s events %s` printed no valid JSON: %s" % (tool, path, e)) from None
    if doc.get("format") != "synfin-scenario" or doc.get("version") != 1:
        raise ScriptError("`%s events` printed format %r version %r; this player reads "
                          "synfin-scenario version 1" % (tool, doc.get("format"), doc.get("version")))
    return doc


# -- what a script declares -------------------------------------------------------

REQ_ID = re.compile(r"\bRFC\d+:[A-Za-z0-9]+(?:[.-][A-Za-z0-9]+)*")


def declared_requirements(path):
    """Requirement IDs of the script's `// Requirements:` comment.

    SCRIPTS.md has no syntax for requirement IDs and the JSON carries no
    comments, so this reads the comment lines only (never an event): from the
    line with "Requirements:" to the end of that comment block. A JSON field
    from the C tool would be better (requested from the tools owner).
    """
    ids, inside = [], False
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            s = line.strip()
            if not s.startswith("//"):
                if inside:
                    break
                continue
            if "Requirements:" in s:
                inside = True
                s = s.split("Requirements:", 1)[1]
            if inside:
                ids.extend(m.group(0) for m in REQ_ID.finditer(s))
    out = []
    for rid in ids:
        if rid not in out:
            out.append(rid)
    return out


def _due_times(doc):
    """Script time (us) of each event, as the in-process runner computes it
    (relative times count from the previous event's time)."""
    prev, out = 0, []
    for ev in doc["events"]:
        t = ev["time"]
        if t["kind"] == "abs":
            due = t["us"]
        elif t["kind"] == "rel":
            due = prev + t["us"]
        else:
            due = prev
        if t.get("blocking") or t.get("range"):
            end = t["end_us"] if t["kind"] == "abs" else prev + t["end_us"]
            due = max(due, end) if ev["kind"] == "outbound" else due
        out.append(due)
        prev = due
    return out


def script_duration(doc):
    """Virtual time the script spans, in seconds (what a wire run waits at least)."""
    times = _due_times(doc)
    return (max(times) if times else 0) / 1e6


# -- DUT settings the script's --sf_* options ask for --------------------------------

def _linux_values(dut):
    """{sf field: value in the engine's units} that the Linux DUT of this run has."""
    from .lab import read_sysctl

    def sysctl(name):
        v = dut.settings.get(name)
        if v is None:
            try:
                v = read_sysctl(dut.lab.dut_ns, name)
            except OSError:
                return None
        try:
            return [int(x) for x in str(v).split("(")[0].split()]
        except ValueError:
            return None

    def one(name, scale=1):
        v = sysctl(name)
        return None if not v else v[0] * scale

    ports = sysctl("net.ipv4.ip_local_port_range") or [None, None]
    return {
        "sf_mss": 1460,                     # the lab's links have MTU 1500
        "sf_rto_initial": 1000000,          # TCP_TIMEOUT_INIT
        "sf_rto_min": one("net.ipv4.tcp_rto_min_us"),
        "sf_rto_max": 120000000,            # TCP_RTO_MAX
        "sf_syn_retries": one("net.ipv4.tcp_syn_retries"),
        "sf_synack_retries": one("net.ipv4.tcp_synack_retries"),
        "sf_retries2": one("net.ipv4.tcp_retries2"),
        "sf_time_wait": 60000000,           # TCP_TIMEWAIT_LEN, fixed
        "sf_fin_wait_2": one("net.ipv4.tcp_fin_timeout", 1000000),
        "sf_keepalive_idle": one("net.ipv4.tcp_keepalive_time", 1000000),
        "sf_keepalive_intvl": one("net.ipv4.tcp_keepalive_intvl", 1000000),
        "sf_keepalive_probes": one("net.ipv4.tcp_keepalive_probes"),
        "sf_oow_ack_interval": one("net.ipv4.tcp_invalid_ratelimit", 1000),
        "sf_challenge_ack_limit": one("net.ipv4.tcp_challenge_ack_limit"),
        "sf_rfc1337": one("net.ipv4.tcp_rfc1337"),
        "sf_max_backlog": one("net.core.somaxconn"),
        "sf_ephemeral_lo": ports[0],
        "sf_ephemeral_hi": ports[-1],
    }


# synfin-tap options of the engine DUT (dut_engine.timer_args) -> sf field, scale.
ENGINE_OPTS = {
    "--syn-retries": ("sf_syn_retries", 1), "--synack-retries": ("sf_synack_retries", 1),
    "--retries2": ("sf_retries2", 1), "--fin-timeout": ("sf_fin_wait_2", 1000000),
    "--time-wait": ("sf_time_wait", 1000000), "--keepalive-time": ("sf_keepalive_idle", 1000000),
    "--keepalive-intvl": ("sf_keepalive_intvl", 1000000),
    "--keepalive-probes": ("sf_keepalive_probes", 1),
    "--invalid-ratelimit": ("sf_oow_ack_interval", 1000),
    "--challenge-ack-limit": ("sf_challenge_ack_limit", 1), "--rfc1337": ("sf_rfc1337", 1),
    "--rto-min-ms": ("sf_rto_min", 1000), "--rto-initial-ms": ("sf_rto_initial", 1000),
    "--rto-max-ms": ("sf_rto_max", 1000), "--somaxconn": ("sf_max_backlog", 1),
}


def _engine_values(dut):
    from . import dut_engine
    out = {"sf_mss": 1460}
    for opt, value in dut_engine.timer_args(dut.lab).items():
        if opt in ENGINE_OPTS:
            field, scale = ENGINE_OPTS[opt]
            out[field] = int(value) * scale
        elif opt == "--port-range":
            lo, hi = str(value).split("-")
            out["sf_ephemeral_lo"], out["sf_ephemeral_hi"] = int(lo), int(hi)
    return out


def dut_values(dut):
    """{sf field: value} the DUT runs with, for the families this module knows."""
    if dut.family == "linux":
        return _linux_values(dut)
    if dut.family == "engine":
        return _engine_values(dut)
    return {}


def unmet_needs(doc, dut):
    """Reasons why the script cannot run on this DUT ([] if it can).

    A `--sf_<field>=N` option is an engine setting the script depends on. The
    script runs on a DUT only if the DUT runs with the same value (the lab's
    sysctls for Linux, the runner's options for the engine over TAP); the
    wire cannot change a DUT's settings for one script.
    """
    reasons = []
    have = None
    for name, value in sorted(doc.get("options", {}).items()):
        if not name.startswith("sf_"):
            continue
        if have is None:
            have = dut_values(dut)
        want = int(value, 0)
        got = have.get(name)
        if got is None:
            reasons.append("--%s=%s is an engine setting the %s DUT has no counterpart for"
                           % (name, value, dut.kind))
        elif got != want:
            reasons.append("--%s=%s, but the %s DUT of this run has %s (the wire cannot change "
                           "it for one script)" % (name, value, dut.kind, got))
    for ev in doc["events"]:
        if ev["kind"] == "wait" and ev["time"]["kind"] == "any":
            reasons.append("line %d: `* wait` waits for the engine's next timer, which a DUT over "
                           "the wire does not tell" % ev["line"])
        if ev["kind"] == "call" and ev["call"]["name"] == "socket" and ev["call"]["family"] == 6:
            reasons.append("line %d: IPv6 socket; the lab is IPv4 only" % ev["line"])
    return reasons


# -- timing -----------------------------------------------------------------------

class Tolerance:
    """packetdrill's timing tolerance, scaled up for a real clock.

    tolerance = max(base, percent/100 x the interval being timed), where the
    base is the script's --tolerance_usecs (default 4000) times
    SFC_SCRIPT_TOLERANCE_SCALE (default 50), or SFC_SCRIPT_TOLERANCE_MS if
    set, and the percent is SFC_SCRIPT_TOLERANCE_PERCENT (default 10).
    """

    def __init__(self, doc, env=None):
        env = os.environ if env is None else env
        script_us = int(doc.get("options", {}).get("tolerance_usecs", PACKETDRILL_TOLERANCE_US))
        if env.get("SFC_SCRIPT_TOLERANCE_MS"):
            self.base_us = int(float(env["SFC_SCRIPT_TOLERANCE_MS"]) * 1000)
        else:
            self.base_us = int(script_us * float(env.get("SFC_SCRIPT_TOLERANCE_SCALE",
                                                         DEFAULT_TOLERANCE_SCALE)))
        self.percent = float(env.get("SFC_SCRIPT_TOLERANCE_PERCENT", DEFAULT_TOLERANCE_PERCENT))

    def of(self, interval_us):
        return max(self.base_us, int(self.percent / 100.0 * max(0, interval_us)))

    def __str__(self):
        return "max(%.0f ms, %g%% of the interval)" % (self.base_us / 1000.0, self.percent)


# -- small helpers --------------------------------------------------------------------

def _errno_value(name):
    return getattr(errno_mod, name, None) if name else None


def _csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def _ip4(a):
    return bytes(int(x) for x in a.split("."))


def _opt_items(raw):
    """[(kind, bytes of the option)] of an option area; NOP/EOL left out."""
    out, i = [], 0
    while i < len(raw):
        kind = raw[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(raw) or raw[i + 1] < 2 or i + raw[i + 1] > len(raw):
            out.append((kind, raw[i:]))
            break
        out.append((kind, raw[i:i + raw[i + 1]]))
        i += raw[i + 1]
    return out


def _fix_opts(raw, sack_off=0, ts_val=None, ts_ecr_off=None):
    """Option bytes with SACK edges moved by sack_off, the TS value replaced by
    ts_val and a non-zero TS echo moved by ts_ecr_off (as tools/scenario/run.c)."""
    b, i = bytearray(raw), 0
    while i < len(b):
        kind = b[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(b) or b[i + 1] < 2 or i + b[i + 1] > len(b):
            break
        n = b[i + 1]
        if kind == 5:
            for j in range(i + 2, i + n - 3, 4):
                v = (struct.unpack("!I", b[j:j + 4])[0] + sack_off) % MOD
                b[j:j + 4] = struct.pack("!I", v)
        elif kind == 8 and n == 10:
            if ts_val is not None:
                b[i + 2:i + 6] = struct.pack("!I", ts_val)
            ecr = struct.unpack("!I", b[i + 6:i + 10])[0]
            if ts_ecr_off is not None and ecr:
                b[i + 6:i + 10] = struct.pack("!I", (ecr + ts_ecr_off) % MOD)
        i += n
    return bytes(b)


def _trim_eol(raw):
    raw = bytes(raw)
    while raw and raw[-1] == 0:
        raw = raw[:-1]
    return raw


# TCP options a stack may offer on its SYN and the peer may decline by not
# echoing them (window scale RFC 7323 2.2, timestamps RFC 7323 3.2, SACK
# permitted RFC 2018 2): a script that does not list them declines them.
NEGOTIABLE_SYN_OPTIONS = {3: "wscale", 4: "sackOK", 8: "TS"}


def _flags_text(bits):
    out = "".join(c for bit, c in ((0x02, "S"), (0x01, "F"), (0x04, "R"), (0x08, "P"), (0x20, "U"),
                                   (0x40, "E"), (0x80, "W")) if bits & bit)
    if bits & 0x10:
        out += "."
    return out or "-"


class _Flow:
    """The DUT's ISN on one flow (script remote port), as tools/scenario/run.c."""

    __slots__ = ("iss_known", "live_iss", "script_iss", "ts_known", "ts_off")

    def __init__(self):
        self.iss_known, self.live_iss, self.script_iss = False, 0, 0
        self.ts_known, self.ts_off = False, 0

    def offset(self):
        return (self.live_iss - self.script_iss) % MOD if self.iss_known else 0


class _Fd:
    __slots__ = ("sock", "nonblock", "bound_port", "dut_port", "tester_port")

    def __init__(self, sock):
        self.sock, self.nonblock = sock, False
        self.bound_port = None             # script port given to bind()
        self.dut_port = self.tester_port = None  # the 4-tuple, once connected


class _Ret:
    """What a call returned: value, errno name, and call-specific outputs."""

    __slots__ = ("value", "err", "optval", "revents", "data")

    def __init__(self, value=0, err=None, optval=None, revents=0, data=None):
        self.value, self.err, self.optval, self.revents, self.data = value, err, optval, revents, data

    def text(self):
        return "%d %s" % (self.value, self.err) if self.err else str(self.value)


def _from_error(e):
    if isinstance(e, (DutDied, DutHung)):
        raise e
    return _Ret(-1, "EAGAIN" if e.name == "EWOULDBLOCK" else e.name)


# -- the player -------------------------------------------------------------------------

class Player:
    """Plays one script's events against a Dut. `run()` raises ScriptFailed."""

    def __init__(self, dut, doc, tolerance=None, syn_options=None):
        self.dut = dut
        self.doc = doc
        self.file = os.path.basename(doc.get("file", "script"))
        self.tol = tolerance or Tolerance(doc)
        self.syn_options = syn_options or os.environ.get("SFC_SCRIPT_SYN_OPTIONS", "declinable")
        if self.syn_options not in ("declinable", "exact"):
            raise ScriptError("SFC_SCRIPT_SYN_OPTIONS must be 'declinable' or 'exact', not %r"
                              % self.syn_options)
        d = doc["defaults"]
        opts = doc.get("options", {})
        self.local_addr = opts.get("local_ip", d["local_addr"])
        self.remote_addr = opts.get("remote_ip", d["remote_addr"])
        self.local_default = d["local_port"]
        self.remote_base = d["remote_port"]
        self.first_fd = d["first_fd"]
        self.default_win = d["default_win"]
        self.remote_isn = int(opts.get("remote_isn", "0"), 0) % MOD
        self.local_ports = {}      # script port -> DUT port of this run
        self.remote_ports = {}     # script port -> tester port of this run
        self.by_tester_port = {}   # tester port -> script remote port
        self.conns = {}            # script remote port -> Connection
        self.flows = {}            # script remote port -> _Flow
        self.explicit_remote = {}  # connection index -> script remote port given to connect()
        self.connects = 0
        self.listen_port = self.local_default
        self.fds = {}
        self.pending = None        # (event, _Fd, first try time) of a blocked call
        self.cursor = 0            # into dut.wire.rx
        self.trace = []
        self.notes = []
        self.t0 = None
        self.prev_t = 0            # script time (us) relative events count from
        self.anchor_t = 0          # time of the last packet or call, for the tolerance
        self.cur_text = ""

    # -- ports and flows --

    def local_port(self, script_port):
        if script_port == 0:
            return 0
        if script_port not in self.local_ports:
            self.local_ports[script_port] = self.dut.new_port()
        return self.local_ports[script_port]

    def remote_port(self, script_port):
        if script_port not in self.remote_ports:
            tp = self.dut.new_tester_port()
            self.remote_ports[script_port] = tp
            self.by_tester_port[tp] = script_port
        return self.remote_ports[script_port]

    def flow(self, script_remote):
        return self.flows.setdefault(script_remote, _Flow())

    def flow_remote(self, k):
        return self.explicit_remote.get(k, self.remote_base + k)

    def conn(self, script_remote, dut_port=None):
        c = self.conns.get(script_remote)
        if c is None:
            c = self.dut.conn(dut_port=dut_port, tester_port=self.remote_port(script_remote))
            self.conns[script_remote] = c
        elif c.dut_port is None and dut_port is not None:
            c.dut_port = dut_port
        return c

    def endpoints(self, pkt, inbound):
        """(script remote port, DUT port or None) of a script packet."""
        named_remote = pkt["sport"] if inbound else pkt["dport"]
        named_local = pkt["dport"] if inbound else pkt["sport"]
        remote = named_remote or self.flow_remote(pkt["conn"])
        if named_local:
            return remote, self.local_port(named_local)
        c = self.conns.get(remote)
        if c is not None and c.dut_port is not None:
            return remote, c.dut_port
        return remote, self.local_port(self.listen_port)

    # -- the clock --

    def now_us(self):
        return int((time.time() - self.t0) * 1e6)

    def sleep_until(self, t_us):
        """Wait until script time t_us; a blocked call is retried meanwhile, so
        its return is seen (and timed) as it happens."""
        while True:
            left = t_us / 1e6 + self.t0 - time.time()
            if left <= 0:
                return
            if self.pending is None:
                time.sleep(left)
                return
            time.sleep(min(left, STATE_POLL_S))
            self.retry_pending(final=False)

    def due(self, ev):
        t = ev["time"]
        if t["kind"] == "abs":
            return t["us"]
        if t["kind"] == "rel":
            return self.prev_t + t["us"]
        return None

    def log(self, line):
        self.trace.append("%9.3f  %s" % ((time.time() - self.t0) if self.t0 else 0.0, line))

    # -- failing --

    def fail(self, ev, why, detail=()):
        # Frames still queued in the socket go into the test's log, so the
        # pcap written for the failed test has everything the DUT sent.
        try:
            self.dut.wire.read_available()
        except OSError:
            pass
        lines = ["%s:%d: %s" % (self.file, ev["line"], why), "  script: %s" % ev["text"]]
        lines.extend("  " + d for d in detail)
        lines.append("  tolerance: %s" % self.tol)
        if self.notes:
            lines.append("notes:")
            lines.extend("  " + n for n in self.notes)
        lines.append("played so far (seconds since the script started):")
        lines.extend("  " + t for t in self.trace[-40:])
        lines.append("ports: local %s, remote %s" % (self.local_ports, self.remote_ports))
        raise ScriptFailed("\n".join(lines))

    def check_late(self, ev, t):
        late = self.now_us() - t
        tol = self.tol.of(t - self.anchor_t)
        if late > tol:
            self.fail(ev, "the tester fell behind: this event was due at %.6f s and was played at "
                      "%.6f s (tolerance %.3f s); the machine is too loaded for this script's timing"
                      % (t / 1e6, (t + late) / 1e6, tol / 1e6))

    # -- main loop --

    def run(self):
        self.t0 = time.time()
        self.cursor = len(self.dut.wire.rx)
        for ev in self.doc["events"]:
            kind = ev["kind"]
            if kind == "outbound":
                self.play_outbound(ev)
            elif kind == "state":
                self.play_state(ev)
            else:
                t = self.due(ev)
                self.sleep_until(t)
                if kind in ("inbound", "call"):
                    self.check_late(ev, t)
                self.prev_t = t
                if kind == "inbound":
                    self.anchor_t = t
                    self.play_inbound(ev)
                elif kind == "call":
                    self.anchor_t = t
                    self.play_call(ev)
                else:
                    self.log("wait   %s" % ev["text"])
            self.retry_pending(final=False)
        self.retry_pending(final=True)

    # -- inbound packets --

    def inbound_number(self, num, is_ack, flow, conn):
        mode = num["mode"]
        if mode == "abs":
            return num["value"] % MOD
        if mode == "state":
            base = self._dut_snd_nxt(conn) if is_ack else self._dut_rcv_nxt(conn)
            return (base + num["offset"]) % MOD if base is not None else num["value"] % MOD
        return (num["value"] + (flow.offset() if is_ack else self.remote_isn)) % MOD

    def _dut_frames(self, conn):
        return [f.pkt[TCP] for f in self.dut.wire.rx if self._is_ours(f.pkt)
                and f.pkt[TCP].dport == conn.tester_port]

    def _dut_rcv_nxt(self, conn):
        """The DUT's RCV.NXT as its last ACK tells (approximation for `rcv+N`)."""
        for t in reversed(self._dut_frames(conn)):
            if t.flags.A:
                return t.ack
        return None

    def _dut_snd_nxt(self, conn):
        """The DUT's SND.NXT: the end of the highest segment it sent (for `snd+N`)."""
        best = None
        for t in self._dut_frames(conn):
            end = (t.seq + len(bytes(t.payload)) + (1 if t.flags.S else 0) + (1 if t.flags.F else 0)) % MOD
            if best is None or (end - best) % MOD < MOD // 2:
                best = end
        return best

    def build_inbound(self, ev):
        p = ev["packet"]
        remote, dport = self.endpoints(p, inbound=True)
        conn = self.conn(remote, dport)
        flow = self.flow(remote)
        seq = self.inbound_number(p["seq"], False, flow, conn)
        ack = self.inbound_number(p["ack"], True, flow, conn) if p["ack"] is not None else 0
        opts = b""
        if p["options"]["mode"] == "list":
            opts = bytes.fromhex(p["options"]["raw"])
            if p["ack"] is None or p["ack"]["mode"] == "script":
                opts = _fix_opts(opts, sack_off=flow.offset(),
                                 ts_ecr_off=flow.ts_off if flow.ts_known else None)
        payload = bytes.fromhex(p["payload"]) if p["payload"] else bytes(p["len"])
        faults = p["faults"]
        hlen = 20 + len(opts)
        doff = ((hlen // 4) + faults["data_off_delta"]) & 0xf
        reserved = p["reserved"] & 0xf
        win = p["win"] if p["win"] is not None else self.default_win
        urg = p["urg"] or 0
        hdr = struct.pack("!HHIIBBHHH", conn.tester_port, dport, seq, ack, doff << 4 | reserved,
                          p["flag_bits"] & 0xff, win, 0, urg) + opts
        seg = hdr + payload
        pseudo = _ip4(self.dut.tester_ip) + _ip4(self.dut.ip) + struct.pack("!BBH", 0, 6, len(seg))
        csum = _csum(pseudo + seg)
        if faults["bad_tcp_checksum"]:
            csum ^= 0xffff if csum not in (0, 0xffff) else 0x0001
        seg = seg[:16] + struct.pack("!H", csum) + seg[18:]
        tos = {"none": 0, "ecn": p["tos"]["value"] & 3}.get(p["tos"]["check"], p["tos"]["value"])
        ttl = p["ttl"] if p["ttl"] is not None else 64
        ip = bytearray(bytes(IP(src=self.dut.tester_ip, dst=self.dut.ip, ttl=ttl, tos=tos, proto=6)
                             / Raw(seg)))
        if faults["ip_len_delta"]:
            struct.pack_into("!H", ip, 2, (len(ip) + faults["ip_len_delta"]) & 0xffff)
        struct.pack_into("!H", ip, 10, 0)
        ipsum = _csum(bytes(ip[:20]))
        if faults["bad_ip_checksum"]:
            ipsum ^= 0xffff if ipsum not in (0, 0xffff) else 0x0001
        struct.pack_into("!H", ip, 10, ipsum)
        eth = Ether(src=self.dut.tester_mac, dst=self.dut.mac, type=0x0800)
        return conn, bytes(eth) + bytes(ip), seq, ack

    def play_inbound(self, ev):
        conn, frame, seq, ack = self.build_inbound(ev)
        # Raw: the bytes go out exactly as built (faults included).
        sent = self.dut.wire.send(Raw(load=frame))
        conn._sent.append(sent)
        self.log("in     %s   [%s:%d > %s:%d seq %d ack %d]" % (
            ev["text"], self.dut.tester_ip, conn.tester_port, self.dut.ip,
            sent[TCP].dport if sent.haslayer(TCP) else 0, seq, ack))

    # -- outbound packets --

    def _is_ours(self, pkt):
        ip, tcp = pkt.getlayer(IP), pkt.getlayer(TCP)
        return (ip is not None and tcp is not None and ip.src == self.dut.ip
                and ip.dst == self.dut.tester_ip and tcp.dport in self.by_tester_port)

    def next_frame(self, deadline):
        """The next DUT frame of this script's flows, or None by the deadline."""
        wire = self.dut.wire
        while True:
            while self.cursor < len(wire.rx):
                f = wire.rx[self.cursor]
                self.cursor += 1
                if self._is_ours(f.pkt):
                    return f
            if time.time() >= deadline:
                if wire.read_available():
                    continue
                return None
            wire.pump(deadline)

    def describe(self, pkt):
        """A DUT frame in script notation, relative to its flow, plus the wire numbers."""
        tcp = pkt[TCP]
        remote = self.by_tester_port.get(tcp.dport)
        off = self.flow(remote).offset() if remote is not None else 0
        n = len(bytes(tcp.payload))
        seq = (tcp.seq - off) % MOD
        text = "%s %d:%d(%d)" % (_flags_text(int(tcp.flags) & 0xff), seq, (seq + n) % MOD, n)
        if tcp.flags.A:
            text += " ack %d" % ((tcp.ack - self.remote_isn) % MOD)
        text += " win %d" % tcp.window
        opts = bytes(tcp)[20:tcp.dataofs * 4]
        if _trim_eol(opts):
            text += " <%s>" % ",".join(self._opt_text(k, b) for k, b in _opt_items(opts))
        return "%s   [%d > %d seq %d ack %d]" % (text, tcp.sport, tcp.dport, tcp.seq, tcp.ack)

    @staticmethod
    def _opt_text(kind, b):
        if kind == 2 and len(b) == 4:
            return "mss %d" % struct.unpack("!H", b[2:4])
        if kind == 3 and len(b) == 3:
            return "wscale %d" % b[2]
        if kind == 4:
            return "sackOK"
        if kind == 8 and len(b) == 10:
            return "TS val %d ecr %d" % struct.unpack("!II", b[2:10])
        if kind == 5:
            return "sack " + " ".join("%d:%d" % struct.unpack("!II", b[i:i + 8]) for i in range(2, len(b) - 7, 8))
        return "raw %s" % b.hex()

    def learn_iss(self, tcp):
        """A SYN from the DUT shows its ISN (script ISN 0 until the script says otherwise)."""
        remote = self.by_tester_port.get(tcp.dport)
        if remote is None or not tcp.flags.S:
            return
        f = self.flow(remote)
        if not f.iss_known or f.live_iss != tcp.seq:
            f.iss_known, f.live_iss, f.script_iss = True, tcp.seq, 0

    def compare(self, x, pkt, remote, dport):
        """[(field, expected, got, ok)] for an expected outbound packet and a DUT frame."""
        tcp, ip = pkt[TCP], pkt[IP]
        rows = []
        flow = self.flow(remote)
        want_tp = self.remote_port(remote)
        rows.append(("TCP.dport (flow)", want_tp, tcp.dport, tcp.dport == want_tp))
        if x["sport"]:
            rows.append(("TCP.sport", dport, tcp.sport, tcp.sport == dport))
        flags = int(tcp.flags) & 0xff
        rows.append(("TCP.flags", x["flags"], _flags_text(flags), flags == x["flag_bits"]))
        if tcp.flags.S and x["seq"]["mode"] == "script":
            if not flow.iss_known or flow.live_iss != tcp.seq or flow.script_iss != x["seq"]["value"]:
                flow.iss_known, flow.live_iss, flow.script_iss = True, tcp.seq, x["seq"]["value"] % MOD
        if x["seq"]["mode"] != "state":
            off = flow.offset() if x["seq"]["mode"] == "script" else 0
            exp = (x["seq"]["value"] + off) % MOD
            rows.append(("TCP.seq", "%d (wire %d)" % (x["seq"]["value"], exp),
                         "%d (wire %d)" % ((tcp.seq - off) % MOD, tcp.seq), tcp.seq == exp))
        if x["ack"] is not None and x["ack"]["mode"] != "state":
            off = self.remote_isn if x["ack"]["mode"] == "script" else 0
            exp = (x["ack"]["value"] + off) % MOD
            rows.append(("TCP.ack", "%d (wire %d)" % (x["ack"]["value"], exp),
                         "%d (wire %d)" % ((tcp.ack - off) % MOD, tcp.ack), tcp.ack == exp))
        payload = bytes(tcp.payload)
        rows.append(("payload length", x["len"], len(payload), len(payload) == x["len"]))
        if x["payload"] is not None:
            want = bytes.fromhex(x["payload"])
            rows.append(("payload", want.hex()[:32], payload.hex()[:32], payload == want))
        if x["win"] is not None:
            rows.append(("TCP.window", x["win"], tcp.window, tcp.window == x["win"]))
        if x["urg"] is not None:
            rows.append(("TCP.urgptr", x["urg"], tcp.urgptr, tcp.urgptr == x["urg"]))
        tos = x["tos"]
        if tos["check"] == "full":
            rows.append(("IP.tos", tos["value"], ip.tos, ip.tos == tos["value"]))
        elif tos["check"] == "ecn":
            rows.append(("IP ECN", tos["value"] & 3, ip.tos & 3, (ip.tos & 3) == (tos["value"] & 3)))
        elif tos["check"] == "ect01":
            rows.append(("IP ECN", "ECT(0) or ECT(1)", ip.tos & 3, (ip.tos & 3) in (1, 2)))
        rows.append(self.compare_options(x, tcp, flow))
        return rows

    def compare_options(self, x, tcp, flow):
        got = bytes(tcp)[20:tcp.dataofs * 4]
        mode = x["options"]["mode"]
        shown = "<%s>" % ",".join(self._opt_text(k, b) for k, b in _opt_items(got))
        if mode == "any":
            return ("TCP.options", "<...>", shown, True)
        if mode == "none":
            return ("TCP.options", "(none)", shown, not _trim_eol(got))
        want = bytes.fromhex(x["options"]["raw"])
        got_ts = [b for k, b in _opt_items(got) if k == 8 and len(b) == 10]
        ts_val = struct.unpack("!I", got_ts[0][2:6])[0] if got_ts else None
        if ts_val is not None and not flow.ts_known:
            want_ts = [b for k, b in _opt_items(want) if k == 8 and len(b) == 10]
            if want_ts:
                flow.ts_known = True
                flow.ts_off = (ts_val - struct.unpack("!I", want_ts[0][2:6])[0]) % MOD
        want = _fix_opts(want, sack_off=self.remote_isn, ts_val=ts_val)
        text = self.cur_text
        label = "<%s>" % text.split("<", 1)[1].split(">", 1)[0] if "<" in text else "<list>"
        if _trim_eol(want) == _trim_eol(got):
            return ("TCP.options", label, shown, True)
        if self.syn_options == "declinable" and tcp.flags.S and not tcp.flags.A:
            extra = [k for k, _b in _opt_items(got) if k in NEGOTIABLE_SYN_OPTIONS
                     and k not in [kk for kk, _bb in _opt_items(want)]]
            rest = [(k, b) for k, b in _opt_items(got) if k not in extra]
            if extra and rest == _opt_items(want):
                names = ", ".join(NEGOTIABLE_SYN_OPTIONS[k] for k in extra)
                self.notes.append("the DUT's SYN also offered %s, which the script does not list and "
                                  "so declines (SFC_SCRIPT_SYN_OPTIONS=declinable)" % names)
                return ("TCP.options", label + " + declined offers", shown, True)
        return ("TCP.options", label, shown, False)

    def play_outbound(self, ev):
        x = ev["packet"]
        self.cur_text = ev["text"]
        remote, dport = self.endpoints(x, inbound=False)
        self.conn(remote)
        t = self.due(ev)
        if t is None:
            lo, hi, tol = None, None, 0
            deadline = time.time() + ANY_TIME_WAIT_S
        else:
            end = t
            if ev["time"]["range"]:
                end = ev["time"]["end_us"] if ev["time"]["kind"] == "abs" else self.prev_t + ev["time"]["end_us"]
            tol = self.tol.of(t - self.anchor_t)
            lo, hi = t - tol, max(t, end) + tol
            deadline = self.t0 + hi / 1e6
        frame = self.next_frame(deadline)
        if frame is None:
            self.fail(ev, "expected outbound packet did not come",
                      ["expected at %s; nothing from the DUT on this script's flows by %.6f s" % (
                          "any time" if t is None else "%.6f s (window %.6f..%.6f s)" % (
                              t / 1e6, lo / 1e6, hi / 1e6), time.time() - self.t0)])
        pkt = frame.pkt
        self.learn_iss(pkt[TCP])
        rows = self.compare(x, pkt, remote, dport)
        at = int((frame.time - self.t0) * 1e6)
        if not all(r[3] for r in rows):
            table = ["%-18s %-28s %-28s" % ("field", "expected", "got")]
            table += ["%-18s %-28s %-28s %s" % (n, w, g, "ok" if ok else "MISMATCH") for n, w, g, ok in rows]
            self.fail(ev, "the DUT sent another packet than the script expects",
                      ["actual packet at %.6f s: %s" % (at / 1e6, self.describe(pkt))] + table)
        if lo is not None and not lo <= at <= hi:
            self.fail(ev, "timing error: expected outbound packet at %.6f s (tolerance %.3f s) but "
                      "it was sent at %.6f s" % (t / 1e6, tol / 1e6, at / 1e6),
                      ["actual packet: %s" % self.describe(pkt)])
        conn = self.conns.get(remote)
        if conn is not None:
            conn._track(pkt)
        self.log("out    %s   matched %s" % (ev["text"], self.describe(pkt)))
        self.prev_t = at
        self.anchor_t = at

    # -- state checks --

    def dut_state(self, ev):
        """The DUT's state for a state() / conn_state() check (ss name)."""
        s = ev["state"]
        if s["fd"] >= 0:
            fd = self.fds.get(s["fd"])
            if fd is None:
                return None
            st = self.dut.state(fd.sock)
            if st == "CLOSED" and fd.dut_port is not None and fd.tester_port is not None:
                # Linux moves a connection into a TIME-WAIT (or orphan
                # FIN-WAIT-2) minisocket and the descriptor's own socket to
                # CLOSE; SCRIPTS.md's state(fd) is the connection behind fd.
                for i in self.dut.states():
                    if i.lport == fd.dut_port and i.rport == fd.tester_port and i.rip == self.dut.tester_ip:
                        return i.state
            return st
        remote = self.flow_remote(s["conn"])
        tp = self.remote_port(remote)
        c = self.conns.get(remote)
        for i in self.dut.states():
            if i.rport == tp and i.rip == self.dut.tester_ip and i.state != "LISTEN" and (
                    c is None or c.dut_port is None or i.lport == c.dut_port):
                return i.state
        return "CLOSED"

    def entries_text(self):
        """The DUT's socket entries on this script's ports, for a failure message."""
        try:
            ents = self.dut.states()
        except DutError as e:
            return ["(the DUT's entries cannot be listed: %s)" % e]
        mine = set(self.local_ports.values())
        lines = ["  %s %s:%d <-> %s:%d sock=%s timer_ms=%s" % (i.state, i.lip, i.lport, i.rip, i.rport,
                                                               i.sock, i.timer_ms)
                 for i in ents if i.lport in mine or i.rport in self.by_tester_port]
        return ["the DUT's entries on this script's ports:"] + (lines or ["  (none)"])

    def play_state(self, ev):
        """The DUT must be in the state at some moment within [t - base, t + tol].

        Late by up to the full tolerance, because DUT timers fire late (timer
        wheels round up), early only by the base tolerance (clock and
        delivery skew): a check meant to fall after a timer must not be made
        before it."""
        t = self.due(ev)
        want = ss_name(ev["state"]["state"])
        tol = self.tol.of(t - self.anchor_t)
        early = min(tol, self.tol.base_us)
        self.sleep_until(t - early)
        self.prev_t = t
        seen = []
        while True:
            got = self.dut_state(ev)
            if got is None:
                self.fail(ev, "state(%d): no such fd" % ev["state"]["fd"])
            if not seen or seen[-1] != got:
                seen.append(got)
            if got == want:
                # A state reached after its time (a DUT timer that fired
                # late, within the tolerance) is an observed event like an
                # outbound segment: the events after it count from now.
                self.prev_t = max(t, self.now_us())
                self.log("state  %s   ok" % ev["text"])
                return
            if self.now_us() > t + tol:
                self.fail(ev, "the DUT is in %s but the script expects %s" % (got, want),
                          ["states seen from %.6f s to %.6f s: %s" % ((t - early) / 1e6, (t + tol) / 1e6,
                                                                      " -> ".join(seen))]
                          + self.entries_text())
            time.sleep(STATE_POLL_S)

    # -- calls --

    def play_call(self, ev):
        c = ev["call"]
        if self.pending is not None:
            blocked = self.pending[0]
            self.fail(ev, "a call is made while the blocking %s() of line %d has not returned"
                      % (blocked["call"]["name"], blocked["line"]))
        fd = self.fds.get(c["fd"]) if c["name"] != "socket" else None
        if c["name"] != "socket" and fd is None:
            ret = _Ret(-1, "EBADF")
        else:
            ret = self.try_call(c, fd, first=True, blocking_form=ev["time"].get("blocking", False))
            if ret is None:
                end = None
                if ev["time"].get("blocking"):
                    end = ev["time"]["end_us"] if ev["time"]["kind"] == "abs" else (
                        self.prev_t - ev["time"]["us"] + ev["time"]["end_us"])
                self.pending = (ev, fd, self.now_us(), end)
                self.log("block  %s" % ev["text"])
                return
        self.check_call(ev, ret)

    def retry_pending(self, final):
        if self.pending is None:
            return
        ev, fd, start, end = self.pending
        ret = self.try_call(ev["call"], fd, first=False, final=final)
        if ret is None:
            if final:
                self.pending = None
                self.fail(ev, "the blocking %s() never returned (script ended at %.6f s)"
                          % (ev["call"]["name"], time.time() - self.t0))
            return
        self.pending = None
        at = self.now_us()
        if end is not None:
            tol = self.tol.of(end - start)
            if abs(at - end) > tol:
                self.fail(ev, "timing error: the blocking %s() returned at %.6f s, expected at %.6f s "
                          "(tolerance %.3f s)" % (ev["call"]["name"], at / 1e6, end / 1e6, tol / 1e6))
        self.log("return %s() = %s (blocked since %.6f s)" % (ev["call"]["name"], ret.text(), start / 1e6))
        self.check_call(ev, ret)

    def _blocks(self, c, fd):
        return bool(c["result"]["check"]) and fd is not None and not fd.nonblock and not (
            c["msg_flags"] & MSG_DONTWAIT)

    def try_call(self, c, fd, first, blocking_form=False, final=False):
        """One try of a call; None if a blocking call would still block.

        A call expected to succeed may find its segment still on the wire,
        so it is given up to the tolerance before it counts as blocked (or,
        on a non-blocking socket, before EAGAIN is taken as its result).
        """
        name = c["name"]
        handler = getattr(self, "call_" + name, None)
        if handler is None:
            return _Ret(-1, "ENOSYS")
        blocks = self._blocks(c, fd)
        expect_ok = c["result"]["check"] and c["result"]["value"] >= 0 and c["result"]["errno"] is None
        if not first:
            wait = self.tol.base_us / 1e6 if final else 0.0
        elif blocking_form:
            wait = 0.0
        else:
            wait = CALL_GRACE * self.tol.base_us / 1e6 if (blocks or expect_ok) else 0.0
        try:
            ret = handler(c, fd, wait, first)
        except DutError as e:
            ret = _from_error(e)
        if blocks and ((name in ("accept", "read", "recv", "write", "send") and ret.err == "EAGAIN")
                       or (name == "connect" and ret.err == "EINPROGRESS")
                       or (name == "poll" and ret.value == 0 and c["poll_timeout_ms"] != 0)):
            return None
        return ret

    def check_call(self, ev, ret):
        c = ev["call"]
        r = c["result"]
        want = "%d %s" % (r["value"], r["errno"]) if r["errno"] else str(r["value"])
        if r["check"]:
            same_err = _errno_value(ret.err) == r["errno_value"] if r["value"] < 0 else True
            if ret.value != r["value"] or not same_err:
                self.fail(ev, "%s() returned %s but the script expects %s" % (c["name"], ret.text(), want))
            if c["name"] == "getsockopt" and not c["optval_any"] and ret.value == 0 and ret.optval != c["optval"]:
                self.fail(ev, "getsockopt() gave the value %s but the script expects %s"
                          % (ret.optval, c["optval"]))
            if c["name"] == "poll" and ret.revents != c["poll_revents"]:
                self.fail(ev, "poll() gave revents 0x%x but the script expects 0x%x"
                          % (ret.revents, c["poll_revents"]))
            if c["name"] in ("read", "recv") and c["data"] and ret.data is not None:
                if ret.data != bytes.fromhex(c["data"])[:len(ret.data)]:
                    self.fail(ev, "%s() returned other bytes than the script expects" % c["name"])
        self.log("call   %s   -> %s" % (ev["text"], ret.text()))

    # Each call_<name>(c, fd, wait, first) returns a _Ret or raises DutError.

    def new_fd(self, sock):
        fd = self.first_fd
        while fd in self.fds:
            fd += 1
        self.fds[fd] = _Fd(sock)
        return fd

    def call_socket(self, c, _fd, _wait, _first):
        return _Ret(self.new_fd(self.dut.socket()))

    def _local_ip(self, addr):
        if addr is None or addr["addr"] == self.local_addr:
            return self.dut.ip
        if addr["addr"] in ("0.0.0.0", "::"):
            return "0.0.0.0"
        raise ScriptError("bind() to %s: only the script's local address (%s) and 0.0.0.0 map onto "
                          "the lab" % (addr["addr"], self.local_addr))

    def call_bind(self, c, fd, _wait, _first):
        addr = c["addr"]
        script_port = addr["port"] if addr else self.local_default
        self.dut.bind(fd.sock, self.local_port(script_port), self._local_ip(addr))
        fd.bound_port = script_port
        return _Ret(0)

    def call_listen(self, c, fd, _wait, _first):
        self.dut.listen(fd.sock, c["backlog"])
        if fd.bound_port is not None:
            self.listen_port = fd.bound_port
        return _Ret(0)

    def call_accept(self, c, fd, wait, _first):
        sock, (_ip, peer_port) = self.dut.accept(fd.sock, timeout=wait)
        new = self.new_fd(sock)
        nfd = self.fds[new]
        remote = self.by_tester_port.get(peer_port)
        nfd.tester_port = peer_port
        nfd.dut_port = self.local_port(fd.bound_port) if fd.bound_port is not None else None
        if remote is None:
            self.notes.append("accept() returned a peer port %d this script never used" % peer_port)
        return _Ret(new)

    def call_connect(self, c, fd, _wait, first):
        if not first:
            ev = self.dut.poll(fd.sock, "OUT", timeout=0)
            if not ev & {"OUT", "ERR", "HUP"}:
                return _Ret(-1, "EINPROGRESS")
            err = self.dut.getsockopt(fd.sock, "SO_ERROR")
            return _Ret(0) if err == 0 else _Ret(-1, str(err))
        k = self.connects % 256
        self.connects += 1
        addr = c["addr"]
        if addr is not None:
            if addr["addr"] != self.remote_addr:
                raise ScriptError("connect() to %s: only the script's remote address (%s) maps onto "
                                  "the lab" % (addr["addr"], self.remote_addr))
            self.explicit_remote[k] = addr["port"]
        remote = self.flow_remote(k)
        conn = self.conn(remote)
        fd.tester_port = conn.tester_port
        r = self.dut.connect(fd.sock, conn.tester_port)
        return _Ret(0) if r == "CONNECTED" else _Ret(-1, "EINPROGRESS")

    def call_write(self, c, fd, _wait, _first):
        data = bytes.fromhex(c["data"]) if c["data"] else bytes(c["len"])
        return _Ret(self.dut.send(fd.sock, data))

    call_send = call_write

    def call_read(self, c, fd, wait, _first):
        want = c["result"]["value"] if c["result"]["check"] else None
        got = b""
        end = time.time() + wait
        while True:
            try:
                chunk = self.dut.recv(fd.sock, c["len"] - len(got), timeout=max(0.0, end - time.time()))
            except DutError as e:
                if got and e.name in ("EAGAIN", "EWOULDBLOCK"):
                    break
                raise
            if chunk == b"":
                break
            got += chunk
            if want is None or len(got) >= want or len(got) >= c["len"] or time.time() >= end:
                break
        return _Ret(len(got), data=got)

    call_recv = call_read

    def call_shutdown(self, c, fd, _wait, _first):
        self.dut.shutdown(fd.sock, SHUT.get(c["how"], "RDWR"))
        return _Ret(0)

    def _release(self, c, fd, abort):
        for k, v in list(self.fds.items()):
            if v is fd:
                del self.fds[k]
        if abort:
            self.dut.setsockopt(fd.sock, "SO_LINGER", (1, 0))
        self.dut.close(fd.sock)
        return _Ret(0)

    def call_close(self, c, fd, _wait, _first):
        return self._release(c, fd, False)

    def call_abort(self, c, fd, _wait, _first):
        return self._release(c, fd, True)

    def call_setsockopt(self, c, fd, _wait, _first):
        name = c["optname"]
        value = c["optval"]
        if name == "SO_LINGER":
            value = (0, 0) if value < 0 else (1, value)
        self.dut.setsockopt(fd.sock, name, value)
        return _Ret(0)

    def call_getsockopt(self, c, fd, _wait, _first):
        name = c["optname"]
        v = self.dut.getsockopt(fd.sock, name)
        if name == "SO_LINGER":
            v = v[1] if v[0] else -1
        elif isinstance(v, str):
            n = _errno_value(v)
            if n is None:
                raise ScriptError("getsockopt(%s) answered %r, not a number or errno name" % (name, v))
            v = n
        return _Ret(0, optval=v)

    def call_fcntl(self, c, fd, _wait, _first):
        if c["fcntl_cmd"] == F_SETFL:
            fd.nonblock = bool(c["fcntl_flags"] & O_NONBLOCK)
            return _Ret(0)
        return _Ret(O_RDWR | (O_NONBLOCK if fd.nonblock else 0))

    def call_poll(self, c, fd, wait, first):
        events = c["poll_events"]
        for bit, pname in POLL_UNSUPPORTED.items():
            if events & bit:
                raise ScriptError("poll(): %s has no counterpart in the agent protocol" % pname)
        names = ",".join(n for n, b in POLL_BITS.items() if events & b and n in ("IN", "OUT", "PRI", "RDHUP"))
        timeout = 0.0
        if first and c["poll_timeout_ms"] > 0:
            timeout = c["poll_timeout_ms"] / 1000.0
        got = self.dut.poll(fd.sock, names or "IN", timeout=timeout)
        mask = 0
        for n in got:
            mask |= POLL_BITS.get(n, 0)
        mask &= events | POLL_BITS["ERR"] | POLL_BITS["HUP"] | POLL_BITS["NVAL"]
        return _Ret(1 if mask else 0, revents=mask)


def play(dut, path, doc=None):
    """Play the script at `path` against `dut`. Raises ScriptSkipped (with the
    reasons it cannot run on this DUT), ScriptError or ScriptFailed; returns
    the Player (its trace) on success."""
    doc = doc or load_events(path)
    reasons = unmet_needs(doc, dut)
    if reasons:
        raise ScriptSkipped("not playable on the %s DUT: %s" % (dut.kind, "; ".join(reasons)))
    p = Player(dut, doc)
    p.run()
    return p
