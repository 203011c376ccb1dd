"""Catalogue parsing, coverage counting, report rendering, and the small
pure helpers of the plugin and the lab."""

import os

import pytest

from synfin_conf import report as rep
from synfin_conf.catalogue import Catalogue, CatalogueError, default_path
from synfin_conf.dut import ss_name
from synfin_conf.lab import ns_names, owner_pid, run_id_for
from synfin_conf.plugin import _base_id

SAMPLE = """# sample
| ID | Section | Paraphrase | Category |
|---|---|---|---|
| RFC9293:MUST-1 | 3.1 | [MUST] one | window |
| RFC9293:MUST-2 | 3.1 | [MUST] two | data-transfer |
| RFC9293:MUST-9 | 3.4 | [MUST NOT] nine | security |
| RFC5961:3.2-a | 3.2 | [MUST] a | rst |
| RFC5961:3.2-b | 3.2 | [MUST] b | rst |
| RFC6298:2.1 | 2.1 | [MUST] rto | retransmission |
| RFC6298:3 | 3 | [MUST] karn | retransmission |
| RFC9293:U-1 | 3.10.7.1 | no tcb | rst |

## Black-box observability

### Observable on the wire (inject crafted segments, check the responses)

* RFC 9293 MUSTs
  * Options: MUST-2, MUST-1†
* Other RFCs
  * RFC 5961: all seven rows (3.2-a, 3.2-b)
  * RFC 6298: 2.1‡ (from timing); 3‡ only by inference
* Appendix U: all rows U-1 … U-18

### Socket/API only

RFC9293 MUST-9
"""


@pytest.fixture
def sample(tmp_path):
    p = tmp_path / "requirements.md"
    p.write_text(SAMPLE)
    return Catalogue(str(p))


def test_sample_catalogue_rows_and_wire_set(sample):
    assert len(sample.reqs) == 8
    assert sample.reqs["RFC9293:MUST-9"].level == "MUST NOT"
    assert sample.wire_testable == {"RFC9293:MUST-1", "RFC9293:MUST-2", "RFC5961:3.2-a",
                                    "RFC5961:3.2-b", "RFC6298:2.1", "RFC9293:U-1"}
    assert "RFC9293:MUST-1" in sample.near("MUST-1")


def test_missing_catalogue_is_a_clear_error(tmp_path):
    with pytest.raises(CatalogueError, match="--catalogue"):
        Catalogue(str(tmp_path / "nope.md"))


def test_real_catalogue_parses():
    cat = Catalogue(os.environ.get("SFC_CATALOGUE", default_path()))
    assert len(cat.reqs) >= 160
    assert all("RFC9293:U-%d" % i in cat.wire_testable for i in range(1, 19))
    assert "RFC9293:MUST-9" not in cat.wire_testable      # internal only


def _result(nodeid, dut, outcome, reqs):
    r = rep.Result(nodeid, _base_id(nodeid, dut), dut, reqs, [1], False)
    r.outcome = outcome
    return r


def test_report_matrix_coverage_and_markdown(sample, tmp_path):
    res = rep.Results()
    res.add(_result("t.py::a[linux]", "linux", rep.PASS, ["RFC9293:MUST-1"]))
    res.add(_result("t.py::a[engine]", "engine", rep.FAIL, ["RFC9293:MUST-1"]))
    res.add(_result("t.py::b[linux]", "linux", rep.XFAIL, ["RFC9293:U-1"]))
    res.dut_wall.update(linux=1.5, engine=2.0)
    assert list(res.matrix()) == ["t.py::a", "t.py::b"]
    assert rep.coverage(res, sample) == (6, 2, 1)
    lines = rep.terminal_lines(res)
    assert any("t.py::a" in line and "PASS" in line and "FAIL" in line for line in lines)
    assert any("wall time 1.5 s" in line for line in lines)
    md = tmp_path / "report.md"
    rep.write_markdown(str(md), res, sample, ["run"], rep.now(), str(tmp_path))
    text = md.read_text()
    assert "| RFC9293:MUST-1 | `a` | PASS (1) | FAIL (0/1 pass) |" in text
    assert "**6**" in text and "Overall: **FAIL**" in text
    assert not res.ok()


def test_base_id_strips_the_dut_parameter():
    assert _base_id("f.py::t[linux]", "linux") == "f.py::t"
    assert _base_id("f.py::t[linux-4]", "linux") == "f.py::t[4]"
    assert _base_id("f.py::t[4-linux]", "linux") == "f.py::t[4]"
    assert _base_id("f.py::t[a-linux-b]", "linux") == "f.py::t[a-b]"


def test_state_names():
    assert ss_name("ESTABLISHED") == "ESTAB" and ss_name("syn_received") == "SYN-RECV"
    assert ss_name("UNCONN") == "CLOSED"
    with pytest.raises(ValueError):
        ss_name("HALF-OPEN")


def test_lab_names_fit_and_encode_owner():
    rid = run_id_for(4194304)                       # the largest pid Linux hands out
    t, d = ns_names(rid, 0)
    assert owner_pid(t) == 4194304 and owner_pid(d) == 4194304
    assert len("sfc-%s-0t" % rid) <= 15             # IFNAMSIZ - 1
    assert owner_pid("other-1234-x") is None


def test_catalogue_copy_matches_shared():
    """conformance/requirements.md is a copy of shared/rfc/requirements.md kept
    so that a clone without shared/ beside it still runs. The copy must not
    drift: when the shared catalogue is there, the two are identical."""
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.normpath(os.path.join(here, "..", ".."))
    shared = os.path.normpath(os.path.join(root, "..", "shared", "rfc", "requirements.md"))
    copy = os.path.join(root, "conformance", "requirements.md")
    if not os.path.isfile(shared):
        pytest.skip("no shared/rfc/requirements.md beside this clone to compare with")
    with open(shared, "rb") as a, open(copy, "rb") as b:
        assert a.read() == b.read(), (
            "conformance/requirements.md differs from %s: copy the shared catalogue over it" % shared)
