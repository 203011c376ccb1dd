"""The cross-check of two DUTs: which divergences are explained, the trace
diff of what each side sent, the pcap writer, and the report sections."""

import struct

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from synfin_conf import crosscheck as xc
from synfin_conf import report as rep


def _res(name, dut, outcome, reason="", frames=None):
    r = rep.Result("tests/test_x.py::%s[%s]" % (name, dut), "tests/test_x.py::%s" % name, dut,
                   ["RFC9293:U-1"], [], False)
    r.outcome, r.reason, r.frames = outcome, reason, frames or []
    return r


def _frame(t, outgoing, flags, seq, ack, sport, dport, payload=b"", options=None):
    tcp = TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, options=options or [])
    raw = bytes(Ether() / IP(src="192.0.2.1", dst="192.0.2.2") / tcp / payload)
    return (t, outgoing, raw)


def _results(*rows):
    res = rep.Results()
    for r in rows:
        res.add(r)
    return res


def test_same_outcomes_are_no_divergence():
    res = _results(_res("a", "linux", rep.PASS), _res("a", "engine", rep.PASS),
                   _res("b", "linux", rep.XFAIL, "linux: why"), _res("b", "engine", rep.XFAIL, "engine: why"))
    assert xc.divergences(res) == []
    assert xc.counts(res) == (2, 2, 0, 0)
    assert res.ok()


def test_declared_xfail_on_one_side_is_explained():
    res = _results(_res("a", "linux", rep.XFAIL, "linux: fixed 60 s [RFC9293:MUST-13]"),
                   _res("a", "engine", rep.PASS))
    (div,) = xc.divergences(res)
    assert div.explained and "RFC9293:MUST-13" in div.why
    assert xc.counts(res) == (1, 0, 1, 0)
    assert res.ok()


def test_skip_fail_or_xpass_against_pass_is_unexplained():
    for other in (rep.SKIP, rep.FAIL, rep.ERROR, rep.XPASS):
        res = _results(_res("a", "linux", rep.PASS), _res("a", "engine", other))
        (div,) = xc.divergences(res)
        assert not div.explained, other
        assert xc.counts(res)[3] == 1
        assert not res.ok()


def test_single_dut_runs_have_no_cross_check():
    res = _results(_res("a", "linux", rep.PASS))
    assert xc.counts(res) == (0, 0, 0, 0)
    assert xc.terminal_lines(res) == [] and xc.markdown(res, "/tmp") == []
    assert xc.markdown_traces(res) == [] and xc.markdown_frame_differences(res) == []


def test_trace_is_relative_and_names_connections():
    frames = [_frame(10.0, True, "S", 1000, 0, 40000, 20000, options=[("MSS", 1460)]),
              _frame(10.1, False, "SA", 777, 1001, 20000, 40000),
              _frame(10.2, True, "A", 1001, 778, 40000, 20000),
              _frame(10.3, True, "S", 5, 0, 40001, 20001)]
    keys = [k for k, _ in xc.trace(frames)]
    assert keys == ["c0 T>D S    seq=0 ack=- len=0 <MSS=1460>",
                    "c0 D>T SA   seq=0 ack=1 len=0",
                    "c0 T>D A    seq=1 ack=1 len=0",
                    "c1 T>D S    seq=0 ack=- len=0"]


def test_trace_diff_shows_what_only_one_side_sent():
    syn = _frame(1.0, True, "S", 1000, 0, 40000, 20000)
    linux = [syn, _frame(1.1, False, "SA", 9, 1001, 20000, 40000, options=[("MSS", 1460), ("WScale", 7)])]
    engine = [syn, _frame(1.1, False, "SA", 3, 1001, 20000, 40000, options=[("MSS", 1460)]),
              _frame(2.1, False, "SA", 3, 1001, 20000, 40000, options=[("MSS", 1460)])]
    lines = xc.trace_diff("linux", linux, "engine", engine)
    assert lines[0].startswith("--- linux (2 frames)") and lines[1].startswith("+++ engine (3 frames)")
    assert any(l.startswith("  ") and "T>D S" in l for l in lines)
    assert any(l.startswith("- ") and "WS=7" in l for l in lines)
    assert sum(1 for l in lines if l.startswith("+ ")) == 2


def test_pcap_writer_and_divergence_pcaps(tmp_path):
    f = [_frame(1.5, True, "S", 1, 0, 40000, 20000)]
    res = _results(_res("a", "linux", rep.PASS, frames=f), _res("a", "engine", rep.XFAIL, "engine: x", f))
    xc.save_divergence_pcaps(res, str(tmp_path))
    for r in res.by_id.values():
        data = open(r.pcap, "rb").read()
        magic, _maj, _min, _tz, _sig, _snap, link = struct.unpack("<IHHiIII", data[:24])
        assert magic == 0xa1b2c3d4 and link == 1
        sec, usec, incl, orig = struct.unpack("<IIII", data[24:40])
        assert (sec, usec) == (1, 500000) and incl == orig == len(f[0][2])
    md = "\n".join(xc.markdown(res, str(tmp_path)))
    assert "**1 explained**" in md and "**0 unexplained**" in md and "pcap/" in md
    traces = "\n".join(xc.markdown_traces(res))
    assert "```diff" in traces and "--- linux (1 frames)" in traces


def test_trace_leaves_out_leftovers_of_earlier_tests():
    # An orphan of an earlier test retransmits its FIN on another 4-tuple;
    # the DUT's own active open (a SYN first) is kept.
    frames = [_frame(1.0, False, "FA", 5, 6, 20000, 39999),
              _frame(1.1, False, "S", 100, 0, 33000, 40001),
              _frame(1.2, True, "SA", 7, 101, 40001, 33000)]
    keys = [k for k, _ in xc.trace(frames)]
    assert keys == ["c0 D>T S    seq=0 ack=- len=0", "c0 T>D SA   seq=0 ack=1 len=0"]
