#!/usr/bin/python3
"""Proof that a conformance run leaves nothing behind (run by ctest as root).

Scenarios, each with `conformance/run` on the probe tests of selftest/lab:
  normal   the run ends by itself
  sigint   SIGINT to the runner while a test holds the lab
  sigterm  SIGTERM likewise
  killed   the DUT agent is SIGKILLed mid-test: that test fails with DIED,
           the next test passes on a fresh agent
  hung     the DUT agent is SIGSTOPped mid-test: that test fails with HUNG
  runner-killed  only the runner is SIGKILLed (a ctest timeout): pytest
           notices (PR_SET_PDEATHSIG) and removes the lab itself
  killed-runner  runner and pytest are SIGKILLed (nothing can clean up),
           then `conformance/cleanup` removes the leftovers
  engine-killed, engine-hung, engine-sigterm  the same with the engine over
           TAP as the DUT (its runner synfin-tap killed or stopped mid-test;
           its TAP device and bridge must go with the lab)
The Linux scenarios run with --dut linux; the engine ones with --dut engine
and are left out (with a message) when no synfin-tap is built.
After each: `ip netns list` and `ip -o link` show nothing of that run.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
CONF = os.path.dirname(HERE)
sys.path.insert(0, CONF)


PROBES = os.path.join(HERE, "lab", "test_lab_probe.py")


def ours(run_id):
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    out += subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "sfc-%s-" % run_id in line]


def start(report_dir, env_extra, seconds="3", dut="linux"):
    flag = os.path.join(report_dir, "busy")
    env = dict(os.environ, SFC_PROBE_FLAG=flag, SFC_PROBE_SECONDS=seconds, **env_extra)
    proc = subprocess.Popen([os.path.join(CONF, "run"), "--dut", dut, "--report-dir", report_dir, PROBES],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, flag, "%x" % proc.pid


def wait_flag(flag, proc, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if os.path.exists(flag) and open(flag).read().strip():
            return int(open(flag).read())
        if proc.poll() is not None:
            raise AssertionError("runner ended before the probe started:\n" + proc.stdout.read())
        time.sleep(0.05)
    raise AssertionError("probe never started")


def junit_outcomes(report_dir):
    tree = ET.parse(os.path.join(report_dir, "junit.xml"))
    out = {}
    for case in tree.iter("testcase"):
        failed = case.find("failure") is not None or case.find("error") is not None
        text = "".join((e.get("message") or "") + (e.text or "") for e in case if e.tag in ("failure", "error"))
        out[case.get("name")] = (failed, text)
    return out


def scenario(name, report_dir):
    extra = {}
    dut = "linux"
    if name.startswith("engine-"):
        dut, name = "engine", name[len("engine-"):]
    proc, flag, rid = start(report_dir, extra, seconds="12" if name == "hung" else "3", dut=dut)
    agent_pid = wait_flag(flag, proc)
    if name in ("sigint", "sigterm"):
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT if name == "sigint" else signal.SIGTERM)
    elif name == "killed":
        os.kill(agent_pid, signal.SIGKILL)
    elif name == "hung":
        os.kill(agent_pid, signal.SIGSTOP)
    out, _ = proc.communicate(timeout=120)
    rc = proc.returncode
    if name == "normal":
        assert rc == 0, out
    elif name in ("killed", "hung"):
        res = junit_outcomes(report_dir)
        victim, after = res.get("test_probe_victim[%s]" % dut), res.get("test_probe_after[%s]" % dut)
        want = "DIED" if name == "killed" else "HUNG"
        assert victim and victim[0] and want in victim[1], (res, out)
        assert after and not after[0], (res, out)
        assert rc == 1, out
    else:
        assert rc != 0, out
    left = ours(rid)
    assert not left, "%s: leftovers %s\n%s" % (name, left, out)
    return rid


def scenario_killed_runner(report_dir):
    """Runner and pytest both SIGKILLed: only conformance/cleanup can help."""
    proc, flag, rid = start(report_dir, {}, seconds="20")
    wait_flag(flag, proc)
    pytest_pid = int(subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                    text=True).stdout.split()[0])
    # Stop the runner first so it cannot clean up after pytest dies.
    os.kill(proc.pid, signal.SIGSTOP)
    os.kill(pytest_pid, signal.SIGKILL)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(0.2)
    # Nothing could clean up: the namespaces of this run id are still there,
    # and the default cleanup (dead owners only) must remove them.
    assert ours(rid), "expected leftovers after SIGKILL of everything"
    out = subprocess.run([os.path.join(CONF, "cleanup")], capture_output=True, text=True).stdout
    assert "removed sfc-%s-" % rid in out, out
    assert not ours(rid), ours(rid)


def scenario_runner_killed_alone(report_dir):
    """Only the runner is SIGKILLed (as a ctest timeout does): pytest gets
    SIGTERM through PR_SET_PDEATHSIG and removes the lab itself."""
    proc, flag, rid = start(report_dir, {}, seconds="20")
    wait_flag(flag, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    end = time.time() + 15
    while ours(rid) and time.time() < end:
        time.sleep(0.1)
    assert not ours(rid), ours(rid)


def main():
    if os.geteuid() != 0:
        print("check_cleanup: needs root")
        return 2
    names = sys.argv[1:] or ["normal", "sigint", "sigterm", "killed", "hung", "runner-killed", "killed-runner",
                             "engine-killed", "engine-hung", "engine-sigterm"]
    from synfin_conf.dut_engine import find_runner
    runner = find_runner()
    for name in names:
        if name.startswith("engine-") and not (runner and os.access(runner, os.X_OK)):
            print("check_cleanup: %-13s left out: no synfin-tap built (tools/tap)" % name, flush=True)
            continue
        with tempfile.TemporaryDirectory(prefix="sfc-check-") as d:
            t0 = time.time()
            if name == "killed-runner":
                scenario_killed_runner(d)
            elif name == "runner-killed":
                scenario_runner_killed_alone(d)
            else:
                scenario(name, d)
            print("check_cleanup: %-13s ok (%.1f s); ip netns list / ip -o link clean" % (name, time.time() - t0),
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
