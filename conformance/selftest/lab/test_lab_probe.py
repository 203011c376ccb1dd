"""Probes for check_cleanup.py: tests that hold the lab busy long enough
to be interrupted, or whose agent is killed or stopped from outside."""

import os
import time

import pytest

from synfin_conf import states


@pytest.mark.req("RFC9293:U-4")
def test_probe_victim(dut):
    """Marks itself busy, then waits on the agent for a while. The checker
    kills (or stops) the agent meanwhile; the test must fail cleanly."""
    conn = states.established(dut)
    flag = os.environ.get("SFC_PROBE_FLAG")
    if flag:
        with open(flag, "w") as f:
            f.write(str(dut.agent.pid))
    deadline = time.time() + float(os.environ.get("SFC_PROBE_SECONDS", "3"))
    while time.time() < deadline:
        dut.state(conn.sock)
        time.sleep(0.05)


@pytest.mark.req("RFC9293:U-4")
def test_probe_after(dut):
    """Runs after the victim: the DUT is back (a fresh agent) and works."""
    states.established(dut)
