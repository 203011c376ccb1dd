"""Static checks of the packs, without a lab: every test collects with
valid requirement markers, there are at least 120 cases, every seed item
1-15 of DESIGN.md and every Appendix U rule U-1..U-18 is tagged somewhere."""

import glob
import os
import re
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CONF = os.path.dirname(HERE)


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", os.path.join(CONF, "pytest.ini"), "--rootdir=" + CONF,
         "--collect-only", "-q", "--slow", "--report-dir=" + str(tmp_path_factory.mktemp("r")),
         os.path.join(CONF, "tests")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    return [line for line in out.stdout.splitlines() if "::" in line]


def test_packs_collect_with_valid_markers_and_enough_cases(collected):
    assert len(collected) >= 120, len(collected)


def _sources():
    return "\n".join(open(f).read() for f in glob.glob(os.path.join(CONF, "tests", "test_*.py")))


def test_every_seed_item_is_tagged():
    text = _sources()
    seeds = set()
    for args in re.findall(r"mark\.seed\(([^)]*)\)", text):
        seeds.update(int(a) for a in re.findall(r"\d+", args))
    assert set(range(1, 16)) <= seeds, sorted(set(range(1, 16)) - seeds)


def test_every_appendix_u_rule_is_tagged():
    tagged = set(int(n) for n in re.findall(r"RFC9293:U-(\d+)", _sources()))
    assert set(range(1, 19)) <= tagged, sorted(set(range(1, 19)) - tagged)
