"""The "engine" DUT kind: the synfin engine on a TAP device (tools/tap).

Layout of the DUT namespace (the lab's veth pair is unchanged):

    tester ns                     DUT ns
    sfc-..-Nt  ==veth==  sfc-..-Nd --+
                                     +-- bridge sfc-..-Nb
                         sfc-..-Np --+   (TAP, persistent; synfin-tap attaches to it)

The runner answers for DUT_IP with DUT_MAC itself. A bridge port's own MAC
is a local address of the bridge (frames to it would be delivered to the DUT
namespace's kernel, not forwarded), so the DUT veth end gets another made-up
MAC here and DUT_MAC belongs to the runner alone. The DUT namespace's kernel
has no IP address at all, so it never answers or resets anything.

The TAP device is persistent: when the suite kills a hung or crashed runner
and starts a new one (Dut.ensure_alive), the new one attaches to the same
device and the bridge never changes.

The runner's timer settings mirror the Linux DUT's sysctls of the run
(dut.LINUX_SYSCTLS), plus the kernel defaults Linux uses where the run sets
none (RTO min 200 ms, TIME-WAIT 60 s, tcp_retries2 15, somaxconn 4096), so
both DUTs are compared like for like. Environment:

    SFC_ENGINE_TAP    path of synfin-tap (default: newest build/*/tools/tap/synfin-tap)
    SFC_ENGINE_ARGS   extra runner arguments, e.g. "--verbose" or "--drop 0.01 --seed 7"
    SFC_ENGINE_PCAP_DIR  if set, each runner start captures its link into
                      <dir>/engine-<n>.pcap (n counts restarts after a crash or hang)
"""

import os
import shlex
import subprocess
import time

from .agent import DutError
from .dut import LINUX_SYSCTLS, DutKind, register_dut_kind

# Made-up, locally administered MACs for the bridge and the DUT veth end
# (DUT_MAC itself is the runner's).
DUT_VETH_MAC = "02:00:5f:c0:00:12"
BRIDGE_MAC = "02:00:5f:c0:00:13"


def find_runner():
    """Path of synfin-tap: $SFC_ENGINE_TAP or the newest build/*/tools/tap/synfin-tap."""
    env = os.environ.get("SFC_ENGINE_TAP")
    if env:
        return env
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    best = None
    build = os.path.join(root, "build")
    if os.path.isdir(build):
        for d in os.listdir(build):
            p = os.path.join(build, d, "tools", "tap", "synfin-tap")
            if os.access(p, os.X_OK) and (best is None or os.path.getmtime(p) > os.path.getmtime(best)):
                best = p
    return best


def _sysctl(name, default):
    return int(LINUX_SYSCTLS.get(name, default))


def _kernel_default(lab, name, default):
    """A sysctl the run leaves at the kernel default, read from the engine's
    own DUT namespace (same kernel as the Linux DUT's)."""
    from .lab import read_sysctl
    try:
        return int(read_sysctl(lab.dut_ns, name).split()[0])
    except (OSError, ValueError, IndexError):
        return default


def timer_args(lab):
    """{runner option: value} mirroring the Linux DUT's sysctls of the run."""
    rto_min_us = _kernel_default(lab, "net.ipv4.tcp_rto_min_us", 200000)
    lo_hi = "32768-60999"
    try:
        from .lab import read_sysctl
        lo, hi = read_sysctl(lab.dut_ns, "net.ipv4.ip_local_port_range").split()
        lo_hi = "%s-%s" % (lo, hi)
    except (OSError, ValueError):
        pass
    return {
        "--syn-retries": _sysctl("net.ipv4.tcp_syn_retries", 6),
        "--synack-retries": _sysctl("net.ipv4.tcp_synack_retries", 5),
        "--retries2": _kernel_default(lab, "net.ipv4.tcp_retries2", 15),
        "--fin-timeout": _sysctl("net.ipv4.tcp_fin_timeout", 60),
        "--time-wait": 60,  # Linux TCP_TIMEWAIT_LEN, fixed
        "--keepalive-time": _sysctl("net.ipv4.tcp_keepalive_time", 7200),
        "--keepalive-intvl": _sysctl("net.ipv4.tcp_keepalive_intvl", 75),
        "--keepalive-probes": _sysctl("net.ipv4.tcp_keepalive_probes", 9),
        "--invalid-ratelimit": _sysctl("net.ipv4.tcp_invalid_ratelimit", 500),
        "--challenge-ack-limit": _sysctl("net.ipv4.tcp_challenge_ack_limit", 1000),
        "--rfc1337": _sysctl("net.ipv4.tcp_rfc1337", 0),
        "--rto-min-ms": max(1, rto_min_us // 1000),
        "--rto-initial-ms": 1000,   # TCP_TIMEOUT_INIT
        "--rto-max-ms": 120000,     # TCP_RTO_MAX
        "--somaxconn": _kernel_default(lab, "net.core.somaxconn", 4096),
        "--port-range": lo_hi,
    }


def _ip(*args):
    proc = subprocess.run(["ip", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        from .lab import LabError
        raise LabError("ip %s: %s" % (" ".join(args), proc.stderr.strip()))


def _wait_up(ns, dev, timeout=5.0):
    end = time.time() + timeout
    while True:
        out = subprocess.run(["ip", "-n", ns, "-o", "link", "show", "dev", dev],
                             capture_output=True, text=True).stdout
        if " state UP " in out or time.time() >= end:
            return
        time.sleep(0.02)


class EngineDut(DutKind):
    """The synfin engine over TAP, driven by synfin-tap's agent protocol."""

    name = "engine"

    def __init__(self):
        self.starts = 0

    @staticmethod
    def tap_name(lab):
        return lab.dut_if[:-1] + "p"      # sfc-<run>-<n>p (<= 15 characters)

    @staticmethod
    def bridge_name(lab):
        return lab.dut_if[:-1] + "b"

    def setup_lab(self, lab):
        ns, veth = lab.dut_ns, lab.dut_if
        tap, br = self.tap_name(lab), self.bridge_name(lab)
        _ip("-n", ns, "link", "set", veth, "address", DUT_VETH_MAC)
        _ip("-n", ns, "link", "add", br, "address", BRIDGE_MAC, "type", "bridge",
            "stp_state", "0", "forward_delay", "0", "mcast_snooping", "0")
        _ip("-n", ns, "tuntap", "add", "dev", tap, "mode", "tap")
        for dev in (veth, tap):
            _ip("-n", ns, "link", "set", dev, "master", br)
        for dev in (br, veth, tap):
            _ip("-n", ns, "link", "set", dev, "up")
        # The kernel applies carrier changes (linkwatch) up to a second
        # late; a test that starts before that loses its first frames. The
        # TAP port is waited for by synfin-tap itself, once it has attached.
        _wait_up(ns, veth)
        _wait_up(ns, br)

    def agent_argv(self, lab):
        runner = find_runner()
        if not runner:
            raise DutError("NOAGENT", "synfin-tap not found: build it (tools/tap) or set "
                           "SFC_ENGINE_TAP", "<start-up>")
        argv = ["ip", "netns", "exec", lab.dut_ns, runner,
                "--tap", self.tap_name(lab), "--ip", lab.dut_ip, "--mac", lab.dut_mac,
                "--peer-ip", lab.tester_ip, "--peer-mac", lab.tester_mac,
                "--control", "stdio",
                # Every event is followed by the engine's own invariant check; a
                # violation aborts the runner, which fails the test as a dead
                # DUT with the violation in agent-engine.log.
                "--check"]
        for opt, value in timer_args(lab).items():
            argv += [opt, str(value)]
        pcap_dir = os.environ.get("SFC_ENGINE_PCAP_DIR")
        if pcap_dir:
            os.makedirs(pcap_dir, exist_ok=True)
            argv += ["--pcap", os.path.join(pcap_dir, "engine-%d.pcap" % self.starts)]
        self.starts += 1
        argv += shlex.split(os.environ.get("SFC_ENGINE_ARGS", ""))
        return argv

    def settings(self, lab):
        out = {"runner": find_runner() or "n/a", "link": "TAP %s on bridge %s"
               % (self.tap_name(lab), self.bridge_name(lab))}
        for opt, value in timer_args(lab).items():
            out["synfin-tap " + opt] = str(value)
        extra = os.environ.get("SFC_ENGINE_ARGS")
        if extra:
            out["synfin-tap extra"] = extra
        out["mirrors"] = "Linux DUT sysctls of the run (dut.LINUX_SYSCTLS) and kernel defaults"
        out["invariant checks"] = "after every event (--check)"
        return out


register_dut_kind(EngineDut())
