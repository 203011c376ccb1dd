"""The agents speak AGENT.md: exercised over loopback in the current
namespace (no lab, no root), so the C agent also runs under ASan in ctest."""

import os

import pytest

from synfin_conf.agent import Agent, DutError
from synfin_conf.dut import find_agent


PYAGENT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "agent", "pyagent.py")


@pytest.fixture(params=["c", "py"])
def agent(request):
    """The C agent and the Python one (written from AGENT.md alone) must
    answer the same protocol the same way."""
    if request.param == "c":
        path = find_agent()
        assert path, "sfc-agent not built (set SFC_AGENT or build the sfc-agent target)"
        argv = [path]
    else:
        argv = ["/usr/bin/python3", PYAGENT]
    a = Agent(argv)
    yield a
    a.request("QUIT")
    a.proc.wait(timeout=5)
    assert a.proc.returncode == 0, "agent exit status %s (sanitizer report on stderr)" % a.proc.returncode
    a.kill()


def _listener(agent):
    s = int(agent.request("SOCKET")[0])
    agent.request("BIND %d 127.0.0.1 0" % s)
    return s


def test_greeting_and_unknown_verb(agent):
    assert agent.hello.startswith("HELLO synfin-agent 1 ")
    with pytest.raises(DutError, match="ENOSYS"):
        agent.request("FROB 1")
    with pytest.raises(DutError, match="EINVAL"):
        agent.request("BIND x y z")
    with pytest.raises(DutError, match="EBADF"):
        agent.request("CLOSE 999")


def test_connect_accept_send_recv_states_over_loopback(agent):
    ls = int(agent.request("SOCKET")[0])
    agent.request("SETSOCKOPT %d SO_REUSEADDR 1" % ls)
    port = 30000 + os.getpid() % 20000
    agent.request("BIND %d 127.0.0.1 %d" % (ls, port))
    agent.request("LISTEN %d 4" % ls)
    assert agent.request("STATE %d" % ls) == ["LISTEN"]
    cs = int(agent.request("SOCKET")[0])
    assert agent.request("CONNECT %d 127.0.0.1 %d" % (cs, port))[0] in ("INPROGRESS", "CONNECTED")
    assert "OUT" in agent.request("POLL %d OUT 1000" % cs, 1)[0]
    assert agent.request("GETSOCKOPT %d SO_ERROR" % cs) == ["0"]
    ns, ip, _p = agent.request("ACCEPT %d 1000" % ls, 1)
    ns = int(ns)
    assert ip == "127.0.0.1"
    assert agent.request("SEND %d %s" % (cs, b"hello".hex())) == ["5"]
    assert agent.request("RECV %d 100 1000" % ns, 1) == [b"hello".hex()]
    with pytest.raises(DutError, match="EAGAIN"):
        agent.request("RECV %d 100 10" % ns)
    lines = agent.request_lines("STATES")
    mine = [line for line in lines if " %d " % port in line]
    assert any(line.startswith("LISTEN ") and line.split()[5] == str(ls) for line in mine)
    assert any(line.startswith("ESTAB ") and line.split()[5] == str(ns) for line in mine)
    agent.request("SHUTDOWN %d WR" % cs)
    assert agent.request("RECV %d 100 1000" % ns, 1) == ["EOF"]
    agent.request("SETSOCKOPT %d SO_LINGER 1,0" % ns)
    assert agent.request("GETSOCKOPT %d SO_LINGER" % ns) == ["1,0"]
    agent.request("CLOSE %d" % ns)                  # abortive close: RST to cs
    assert agent.request("POLL %d IN 1000" % cs, 1)[0] != "-"
    with pytest.raises(DutError, match="ECONNRESET"):
        agent.request("RECV %d 100 100" % cs)
    agent.request("RESET")
    with pytest.raises(DutError, match="EBADF"):
        agent.request("STATE %d" % ls)


def test_socket_options_round_trip(agent):
    s = int(agent.request("SOCKET")[0])
    for name, value in (("TCP_KEEPIDLE", 3), ("TCP_KEEPINTVL", 2), ("TCP_KEEPCNT", 4),
                        ("TCP_NODELAY", 1), ("SO_KEEPALIVE", 1), ("TCP_USER_TIMEOUT", 1500)):
        agent.request("SETSOCKOPT %d %s %d" % (s, name, value))
        assert agent.request("GETSOCKOPT %d %s" % (s, name)) == [str(value)]
    with pytest.raises(DutError, match="ENOSYS"):
        agent.request("SETSOCKOPT %d SO_FROB 1" % s)
    with pytest.raises(DutError, match="EINVAL"):
        agent.request("SHUTDOWN %d SIDEWAYS" % s)
