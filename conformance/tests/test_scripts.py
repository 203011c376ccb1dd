"""packetdrill-syntax scripts played over the wire against every DUT.

Each script of corpora/scripts/*.pkt (the seed scripts, which also pass
in-process with `synfin run`) and conformance/scripts/*.pkt (scripts of the
conformance side, written for the lab's settings) runs once per DUT kind.
The C tool turns the script into events (`synfin events`); the player
(synfin_conf/script_player.py) plays them: the script's socket calls go to
the DUT agent, its inbound segments go out from the tester, and its
outbound segments must come from the DUT, field by field, within the timing
tolerance. See conformance/SCRIPTS-ON-THE-WIRE.md.

Markers come from the script: its `// Requirements:` IDs (req), its seed
number (seed, for seedNN_*.pkt), slow when its events span
SFC_SCRIPT_SLOW_SECONDS or more of virtual time. A script needing a
`--sf_*` setting the DUT does not run with is skipped on that DUT with the
reason; a script longer than the slow test time limit is skipped everywhere.
"""

import glob
import os
import re

import pytest

from synfin_conf import script_player as sp
from synfin_conf import xfail_on

HERE = os.path.dirname(os.path.abspath(__file__))
CONF = os.path.dirname(HERE)
REPO = os.path.dirname(CONF)
SCRIPT_DIRS = (os.path.join(REPO, "corpora", "scripts"), os.path.join(CONF, "scripts"))

# The default pack has a 90 s budget and the other packs use about 70 s of
# it, so only scripts shorter than this many seconds of virtual time run by
# default; the others are marked slow.
SLOW_SECONDS = float(os.environ.get("SFC_SCRIPT_SLOW_SECONDS", "2"))
# Slow tests get 10 x SFC_TEST_TIMEOUT (plugin.py); a script must fit in it
# with room for the tolerance.
TIME_LIMIT = 10 * float(os.environ.get("SFC_TEST_TIMEOUT", "60")) * 0.9

# Where Linux departs on purpose from the RFC (or, for seed11_syn_flood, from
# the bound the engine's design sets where the RFC sets none): strict
# expected failures on the Linux family, script by script, with the
# requirement and the script line where Linux parts ways (checked with
# `conformance/run tests/test_scripts.py -k NAME -- --runxfail`).
LINUX_DEPARTURES = {
    "rfc9293_u04_syn_data_queued.pkt": dict(
        req="RFC9293:U-4",
        reason="(line 17) Linux drops data carried on a SYN unless a TCP Fast Open cookie (RFC 7413) "
               "validates it, so no ACK of the queued data (ack 11) follows the handshake; the "
               "peer must send the data again"),
    "seed08_simultaneous_open.pkt": dict(
        req="RFC7323:2.2-a",
        reason="(line 16) in a simultaneous open Linux answers the peer's SYN by sending its own queued SYN "
               "again with ACK set (tcp_send_synack() from SYN-SENT), options and all, so its "
               "SYN-ACK carries wscale, SACK-permitted and timestamps although the peer's SYN "
               "offered none; RFC 7323 2.2 allows WS on a SYN-ACK only if the SYN had it (the "
               "rest of the script passes on Linux when that line reads <...>)"),
    "seed11_syn_flood.pkt": dict(
        req="RFC9293:U-4",
        reason="(line 39) Linux admits one half-open connection more than the listen() backlog "
               "(its request-queue test is len > backlog), so with backlog 4 the fifth SYN "
               "also gets a SYN-ACK and a SYN-RECV entry; RFC 9293 sets no bound, the script "
               "checks the engine's (DESIGN: the SYN queue is bounded by the backlog)"),
    "seed13_lost_syn.pkt": dict(
        req="RFC6298:5",
        reason="(line 14) net.ipv4.tcp_syn_linear_timeouts (default 4): the first four SYN "
               "retransmissions are sent 1 s apart, without the RFC 6298 (5.5) doubling, so "
               "the second one comes 1 s after the first, not 2 s"),
    "seed14_old_duplicate_syn.pkt": dict(
        req="RFC6298:5",
        reason="(line 22) after an unacceptable ACK in SYN-SENT, Linux's tcp_rcv_synsent_state_process() "
               "sends the RST and re-arms the SYN timer to TCP_TIMEOUT_MIN (2 jiffies; its "
               "comment: the peer may have ignored a previous FIN/ACK or RST/ACK), so the SYN "
               "is resent about 10 ms later instead of when the RTO expires"),
}


def _scripts():
    out = []
    for d in SCRIPT_DIRS:
        out.extend(sorted(glob.glob(os.path.join(d, "*.pkt"))))
    return out


_DOCS = {}


def _doc(path):
    """The script's events (cached); raises ScriptError if the tool fails."""
    if path not in _DOCS:
        try:
            _DOCS[path] = sp.load_events(path)
        except sp.ScriptError as e:
            _DOCS[path] = e
    got = _DOCS[path]
    if isinstance(got, Exception):
        raise got
    return got


def _param(path):
    name = os.path.basename(path)
    conf_side = os.path.dirname(path) == SCRIPT_DIRS[1]
    marks = []
    reqs = sp.declared_requirements(path)
    if reqs:
        marks.append(pytest.mark.req(*reqs))
    m = re.match(r"seed(\d+)_", name)
    if m:
        marks.append(pytest.mark.seed(int(m.group(1))))
    try:
        secs = sp.script_duration(_doc(path))
    except sp.ScriptError:
        secs = 0.0  # the test fails with the tool's message; keep it in the default run
    if secs >= SLOW_SECONDS:
        marks.append(pytest.mark.slow)
    if secs > TIME_LIMIT:
        marks.append(pytest.mark.skip(reason="the script spans %.0f s of virtual time, more than a "
                                             "test may run over the wire (%.0f s); it runs in-process "
                                             "only (`synfin run`)" % (secs, TIME_LIMIT)))
    dep = LINUX_DEPARTURES.get(name)
    if dep and not conf_side:
        marks.append(xfail_on("linux", reason=dep["reason"], req=dep["req"]))
    ident = ("conf-" if conf_side else "") + name[:-4]
    return pytest.param(path, marks=marks, id=ident)


@pytest.mark.parametrize("script", [_param(p) for p in _scripts()])
def test_script(dut, script):
    try:
        doc, problem = _doc(script), None
    except sp.ScriptError as e:
        doc, problem = None, str(e)
    if problem:
        pytest.fail("cannot read %s: %s" % (os.path.relpath(script, REPO), problem), pytrace=False)
    try:
        sp.play(dut, script, doc)
    except sp.ScriptSkipped as e:
        pytest.skip(str(e))
