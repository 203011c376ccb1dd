"""The lab: a tester namespace and a DUT namespace joined by a veth pair.

Everything the lab creates carries the prefix "sfc-" followed by the owner
process id in hex, so `conformance/cleanup` can find leftovers of a killed
run and tell them from a run that is still alive. Nothing is created in the
root namespace: the veth pair is born directly inside the two namespaces.

Addresses are from TEST-NET-1 (RFC 5737), which is never routed; the tester
side has no IP address at all and claims TESTER_IP only in the frames it
writes, with a made-up MAC, so the tester's kernel never answers or resets.
"""

import ctypes
import fcntl
import os
import re
import signal
import socket
import struct
import subprocess
import time

from .netns import in_netns

PREFIX = "sfc-"
TESTER_IP = "192.0.2.1"
DUT_IP = "192.0.2.2"
TESTER_MAC = "02:00:5f:c0:00:01"   # locally administered, made up
DUT_MAC = "02:00:5f:c0:00:02"

# ethtool legacy ioctls (linux/ethtool.h) used to switch offloads off.
SIOCETHTOOL = 0x8946
ETHTOOL_STXCSUM = 0x17
ETHTOOL_SSG = 0x19
ETHTOOL_STSO = 0x1F
ETHTOOL_SGSO = 0x24
ETHTOOL_SGRO = 0x2C

# Sysctls written in the tester namespace: no IPv6 at all, so no router
# solicitations or DAD probes appear on the link.
TESTER_SYSCTLS = {
    "net.ipv6.conf.all.disable_ipv6": "1",
    "net.ipv6.conf.default.disable_ipv6": "1",
}


class LabError(RuntimeError):
    """The lab could not be built (not root, no `ip`, ...)."""


def run_id_for(pid=None):
    """The run id that names everything a process creates: its pid in hex."""
    return "%x" % (pid if pid is not None else os.getpid())


def ns_names(run_id, index):
    """(tester namespace, DUT namespace) of DUT kind number `index`."""
    return ("%s%s-%d-tst" % (PREFIX, run_id, index), "%s%s-%d-dut" % (PREFIX, run_id, index))


def _ip(*args, check=True):
    proc = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise LabError("ip %s: %s" % (" ".join(args), proc.stderr.strip()))
    return proc


def write_sysctls(ns, values):
    """Write sysctls inside namespace `ns`; returns {name: value or 'n/a: why'}."""
    done = {}
    with in_netns(ns):
        for name, value in values.items():
            path = "/proc/sys/" + name.replace(".", "/")
            try:
                with open(path, "w") as f:
                    f.write(value)
                with open(path) as f:
                    done[name] = f.read().strip()
            except OSError as e:
                done[name] = "n/a: %s" % e.strerror
    return done


def read_sysctl(ns, name):
    with in_netns(ns):
        with open("/proc/sys/" + name.replace(".", "/")) as f:
            return f.read().strip()


def _ethtool_set(sock, ifname, cmd, value):
    buf = ctypes.create_string_buffer(struct.pack("II", cmd, value))
    ifr = struct.pack("16sP", ifname.encode(), ctypes.addressof(buf))
    ifr += b"\0" * (40 - len(ifr))
    try:
        fcntl.ioctl(sock, SIOCETHTOOL, ifr)
    except OSError:
        pass  # not every offload exists on every kernel; the rest still apply


def offloads_off(ns, ifname):
    """Switch off checksum offload, TSO, GSO, GRO and SG on a veth end.

    With offloads on, the DUT kernel hands the veth frames with partial
    checksums and 64 KB super-segments; the tester must see exactly what a
    real wire would carry (RFC 9293 MUST-2 checksums, MSS-sized segments).
    """
    with in_netns(ns):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            for cmd in (ETHTOOL_STXCSUM, ETHTOOL_STSO, ETHTOOL_SGSO, ETHTOOL_SGRO, ETHTOOL_SSG):
                _ethtool_set(s, ifname, cmd, 0)
        finally:
            s.close()


class Lab:
    """Two namespaces and a veth pair for one DUT kind.

    Attributes: tester_ns, dut_ns, tester_if, dut_if (interface names inside
    their namespaces), tester_ip/mac, dut_ip/mac.
    """

    def __init__(self, run_id, index):
        self.run_id = run_id
        self.tester_ns, self.dut_ns = ns_names(run_id, index)
        self.tester_if = "%s%s-%dt" % (PREFIX, run_id, index)
        self.dut_if = "%s%s-%dd" % (PREFIX, run_id, index)
        self.tester_ip, self.tester_mac = TESTER_IP, TESTER_MAC
        self.dut_ip, self.dut_mac = DUT_IP, DUT_MAC
        self.created = False

    def create(self):
        """Build namespaces and link; the DUT kind configures its side."""
        if os.geteuid() != 0:
            raise LabError("the conformance lab needs root (network namespaces); run it with sudo")
        self.created = True
        for ns in (self.tester_ns, self.dut_ns):
            _ip("netns", "add", ns)
            write_sysctls(ns, TESTER_SYSCTLS)
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", self.tester_ns, "link", "add", self.tester_if, "type", "veth",
            "peer", "name", self.dut_if, "netns", self.dut_ns)
        offloads_off(self.tester_ns, self.tester_if)
        offloads_off(self.dut_ns, self.dut_if)
        _ip("-n", self.tester_ns, "link", "set", self.tester_if, "up")
        _ip("-n", self.dut_ns, "link", "set", self.dut_if, "address", self.dut_mac)

    def configure_ip_dut(self):
        """Give the DUT veth end the DUT address and a static neighbour entry.

        The permanent neighbour entry means the DUT never ARPs for the
        tester, which has no kernel-side address to answer with.
        """
        ns, dev = self.dut_ns, self.dut_if
        _ip("-n", ns, "addr", "add", self.dut_ip + "/24", "dev", dev)
        _ip("-n", ns, "link", "set", dev, "up")
        _ip("-n", ns, "neigh", "replace", self.tester_ip, "lladdr", self.tester_mac,
            "dev", dev, "nud", "permanent")

    def destroy(self):
        """Kill what runs in our namespaces and delete them (idempotent)."""
        for ns in (self.dut_ns, self.tester_ns):
            kill_netns_pids(ns)
            _ip("netns", "del", ns, check=False)
        self.created = False


def kill_netns_pids(ns):
    """SIGKILL every process inside namespace `ns` (only our agents live there)."""
    proc = _ip("netns", "pids", ns, check=False)
    for tok in proc.stdout.split():
        try:
            os.kill(int(tok), signal.SIGKILL)
        except (ValueError, ProcessLookupError):
            pass


_OWNER_RE = re.compile(r"^%s([0-9a-f]+)-" % re.escape(PREFIX))


def owner_pid(name):
    """The pid encoded in one of our names, or None."""
    m = _OWNER_RE.match(name)
    return int(m.group(1), 16) if m else None


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def owned_by_live_run(name):
    """True if the process whose pid is encoded in `name` still exists."""
    pid = owner_pid(name)
    return pid is not None and pid != os.getpid() and _alive(pid)


def leftovers(run_id=None):
    """(namespaces, root-namespace links) of ours, optionally of one run."""
    nss = []
    for line in _ip("netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(PREFIX) and (run_id is None or name.startswith(PREFIX + run_id + "-")):
            nss.append(name)
    links = []
    for line in _ip("-o", "link", check=False).stdout.splitlines():
        parts = line.split(":")
        if len(parts) > 1:
            name = parts[1].strip().split("@")[0]
            if name.startswith(PREFIX) and (run_id is None or name.startswith(PREFIX + run_id + "-")):
                links.append(name)
    return nss, links


def cleanup(run_id=None, force=False, log=print):
    """Remove leftovers. Without force, names whose owner process is still
    alive are kept, so a cleanup never breaks a run that is in progress."""
    nss, links = leftovers(run_id)
    removed = 0
    for name in nss + links:
        pid = owner_pid(name)
        if not force and run_id is None and owned_by_live_run(name):
            log("keeping %s: its run (pid %d) is still alive; use --force to remove it" % (name, pid))
            continue
        if name in nss:
            kill_netns_pids(name)
            _ip("netns", "del", name, check=False)
        else:
            _ip("link", "del", name, check=False)
        log("removed %s" % name)
        removed += 1
    return removed


def wait_gone(run_id, timeout=2.0):
    """True once nothing of run `run_id` is listed any more."""
    end = time.time() + timeout
    while time.time() < end:
        if leftovers(run_id) == ([], []):
            return True
        time.sleep(0.05)
    return leftovers(run_id) == ([], [])
