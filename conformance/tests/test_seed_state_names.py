"""Seed item 15: state names match what `ss` shows, so traces compare
with Linux. For every state the DSL can reach, the agent's name must be the
expected one; on the Linux DUT it must also be exactly what `ss -tan` prints
for that socket in the DUT namespace.

Each row also re-checks the transition that leads into the state, hence the
requirement IDs.
"""

import subprocess

import pytest

from synfin_conf import states

ROWS = [
    # (helper state, expected ss name, requirement of the transition into it)
    ("LISTEN", "LISTEN", "RFC9293:MUST-41"),
    ("SYN-SENT", "SYN-SENT", "RFC9293:U-8"),
    ("SYN-RECEIVED", "SYN-RECV", "RFC9293:U-4"),
    ("ESTABLISHED", "ESTAB", "RFC9293:U-15"),
    ("FIN-WAIT-1", "FIN-WAIT-1", "RFC9293:U-18"),
    ("FIN-WAIT-2", "FIN-WAIT-2", "RFC9293:U-18"),
    ("CLOSE-WAIT", "CLOSE-WAIT", "RFC9293:U-17"),
    ("LAST-ACK", "LAST-ACK", "RFC9293:U-18"),
    ("CLOSING", "CLOSING", "RFC9293:U-17"),
    ("TIME-WAIT", "TIME-WAIT", "RFC9293:U-17"),
]


def _ss_state(dut, lport, rport):
    """The state column `ss -tanH` prints for this 4-tuple (or the listener)."""
    out = subprocess.run(["ip", "netns", "exec", dut.lab.dut_ns, "ss", "-tanH"],
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        cols = line.split()
        if len(cols) < 5:
            continue
        local, peer = cols[3], cols[4]
        if local.endswith(":%d" % lport) and (rport is None or peer.endswith(":%d" % rport)):
            return cols[0]
    return None


@pytest.mark.seed(15)
@pytest.mark.parametrize("state,ss", [pytest.param(s, n, marks=pytest.mark.req(r), id=s) for s, n, r in ROWS])
def test_state_name_matches_ss(dut, state, ss):
    conn = states.bring_to(dut, state)
    listener = state == "LISTEN"
    assert dut.state_of(conn, listener=listener) == ss
    if conn.sock is not None and not listener:
        assert dut.state(conn.sock) == ss           # TCP_INFO agrees with sock_diag
    if dut.family == "linux":
        shown = _ss_state(dut, conn.dut_port, None if listener else conn.tester_port)
        assert shown == ss, "ss prints %r, the agent says %r" % (shown, ss)
