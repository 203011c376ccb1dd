"""pytest plugin of the conformance suite: options, the `dut` fixture,
markers (req, seed, slow, xfail_on), pcaps of failed tests and reports.

Loaded by conformance/tests/conftest.py. See DSL.md sections 2, 6 and 7.
"""

import atexit
import os
import re
import signal
import sys
import time

import pytest

from . import catalogue as catmod
from . import crosscheck
from . import report as rep
from .agent import DutError
from .dut import Dut, dut_kinds, load_dut_modules, load_errors
from .lab import Lab, LabError, run_id_for
from .wire import Wire

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TESTS_DIR = os.path.join(REPO, "conformance", "tests")


def pytest_addoption(parser):
    g = parser.getgroup("synfin conformance")
    g.addoption("--dut", default="linux",
                help="comma-separated DUT kinds to run against (known: %s)" % ", ".join(dut_kinds()))
    g.addoption("--slow", action="store_true", help="include tests marked slow")
    g.addoption("--only-slow", action="store_true", help="run only tests marked slow")
    g.addoption("--report-dir", default=os.path.join(REPO, "build", "conformance-report"),
                help="where report.md, junit.xml and pcap/ go")
    g.addoption("--catalogue", default=catmod.default_path(),
                help="requirement catalogue (default: ../shared/rfc/requirements.md from the repo root if present, else conformance/requirements.md)")
    g.addoption("--run-id", default=None, help="name prefix of the lab (default: pid in hex)")


class Session:
    """Per-run state: labs and DUTs by kind, results, report paths."""

    def __init__(self, config):
        self.config = config
        self.kinds = [k.strip() for k in config.getoption("--dut").split(",") if k.strip()]
        load_dut_modules()
        known = dut_kinds()
        bad = [k for k in self.kinds if k not in known]
        if bad:
            errors = "".join("\n  %s did not import: %s" % kv for kv in load_errors().items())
            raise pytest.UsageError("unknown DUT kind(s) %s; known: %s%s" % (
                ", ".join(bad), ", ".join(known), errors))
        self.run_id = config.getoption("--run-id") or run_id_for()
        self.report_dir = os.path.abspath(config.getoption("--report-dir"))
        os.makedirs(os.path.join(self.report_dir, "pcap"), exist_ok=True)
        try:
            self.catalogue = catmod.Catalogue(os.path.abspath(config.getoption("--catalogue")))
        except catmod.CatalogueError as e:
            raise pytest.UsageError(str(e))
        self.duts = {}
        self.labs = {}
        self.results = rep.Results()
        self.started = rep.now()
        self.dut_first = {}
        self.dut_last = {}

    def get_dut(self, kind):
        """The running Dut of that kind; builds its lab on first use."""
        dut = self.duts.get(kind)
        if dut is not None:
            return dut
        t0 = time.time()
        index = self.kinds.index(kind)
        lab = Lab(self.run_id, index)
        self.labs[kind] = lab
        kind_obj = dut_kinds()[kind]
        try:
            lab.create()
            kind_obj.setup_lab(lab)
            wire = Wire(lab.tester_ns, lab.tester_if)
            dut = Dut(kind_obj, lab, wire, self.report_dir)
            dut.start()
        except (LabError, DutError, OSError) as e:
            self.teardown()
            pytest.exit("cannot set up the %s DUT: %s" % (kind, e), returncode=3)
        self.duts[kind] = dut
        self.results.dut_settings[kind] = dut.settings
        self.dut_first.setdefault(kind, t0)
        return dut

    def teardown(self):
        """Stop agents, close wires, delete namespaces. Safe to call twice."""
        for dut in list(self.duts.values()):
            try:
                dut.stop()
                dut.wire.close()
            except Exception:
                pass
        self.duts.clear()
        for lab in list(self.labs.values()):
            try:
                lab.destroy()
            except Exception:
                pass
        self.labs.clear()


_SESSION = None


def _on_signal(signum, _frame):
    # SIGTERM/SIGHUP become a KeyboardInterrupt so pytest unwinds and the
    # session teardown (and atexit) remove the lab, as for Ctrl-C.
    raise KeyboardInterrupt("signal %d" % signum)


def pytest_configure(config):
    global _SESSION
    for line in ("req(*ids): requirement IDs of shared/rfc/requirements.md this test checks",
                 "seed(*items): DESIGN.md seed items this test demonstrates",
                 "slow: waits on real timers of 10 s or more; run with --slow",
                 "xfail_on(kind, reason, req): strict expected failure on one DUT kind"):
        config.addinivalue_line("markers", line)
    if hasattr(config, "workerinput"):
        return
    _SESSION = Session(config)
    config._sfc = _SESSION
    if not config.option.xmlpath:
        config.option.xmlpath = os.path.join(_SESSION.report_dir, "junit.xml")
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    # A process started in the background by a shell inherits SIGINT as
    # ignored; Ctrl-C (or the runner forwarding it) must still end the run.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    atexit.register(_SESSION.teardown)


def pytest_generate_tests(metafunc):
    if "dut" in metafunc.fixturenames:
        kinds = metafunc.config._sfc.kinds
        metafunc.parametrize("dut", kinds, indirect=True, ids=kinds)


def _marker_args(item, name):
    out = []
    for m in item.iter_markers(name):
        out.extend(m.args)
    return out


def _check_reqs(items, session):
    problems = []
    for item in items:
        if not str(item.fspath).startswith(TESTS_DIR):
            continue
        reqs = _marker_args(item, "req")
        if not reqs:
            problems.append("%s: no @pytest.mark.req(...) marker" % item.nodeid)
        for rid in reqs:
            if rid not in session.catalogue:
                near = session.catalogue.near(rid)
                problems.append("%s: unknown requirement %r%s" % (
                    item.nodeid, rid, (" (did you mean %s?)" % ", ".join(near)) if near else ""))
    if problems:
        raise pytest.UsageError("requirement markers:\n  " + "\n  ".join(sorted(set(problems))))


def _dut_of(item):
    cs = getattr(item, "callspec", None)
    return cs.params.get("dut") if cs else None


def pytest_collection_modifyitems(session, config, items):
    sess = config._sfc
    _check_reqs(items, sess)
    families = {name: (k.family or name) for name, k in dut_kinds().items()}
    for item in items:
        kind = _dut_of(item)
        # JUnit XML carries the tags as <properties>.
        for rid in _marker_args(item, "req"):
            item.user_properties.append(("requirement", rid))
        for seed in _marker_args(item, "seed"):
            item.user_properties.append(("seed", str(seed)))
        for m in item.iter_markers("xfail_on"):
            if m.args and m.args[0] in (kind, families.get(kind)):
                reason = m.kwargs.get("reason", "")
                req = m.kwargs.get("req")
                item.add_marker(pytest.mark.xfail(strict=True, reason="%s: %s%s" % (
                    kind, reason, (" [%s]" % req) if req else "")))
    slow, only_slow = config.getoption("--slow"), config.getoption("--only-slow")
    keep, drop = [], []
    for item in items:
        is_slow = item.get_closest_marker("slow") is not None
        if (only_slow and not is_slow) or (not slow and not only_slow and is_slow
                                            and not _slow_requested(config)):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    # Group by DUT so each DUT's lab is used in one stretch (wall time per DUT).
    order = {k: i for i, k in enumerate(sess.kinds)}
    keep.sort(key=lambda it: order.get(_dut_of(it), -1))
    items[:] = keep


def _slow_requested(config):
    """`-m slow` selects slow tests even without --slow."""
    expr = config.getoption("-m") or ""
    return re.search(r"(^|[^\w])slow($|[^\w])", expr) is not None and "not slow" not in expr


class TimeLimitExceeded(Exception):
    """A test ran past its time limit (SFC_TEST_TIMEOUT, default 60 s; slow
    tests 10x). It fails; the run goes on and the lab is cleaned up as usual."""


def _on_alarm(_signum, _frame):
    raise TimeLimitExceeded("the test ran longer than its limit of %s s" % _on_alarm.limit)


def _time_limit(request):
    base = float(os.environ.get("SFC_TEST_TIMEOUT", "60"))
    return base * (10 if request.node.get_closest_marker("slow") else 1)


@pytest.fixture
def dut(request):
    """The device under test, one per DUT kind (parametrized)."""
    sess = request.config._sfc
    d = sess.get_dut(request.param)
    try:
        d.ensure_alive()
    except DutError as e:
        pytest.fail("the %s DUT agent cannot be (re)started: %s" % (d.kind, e))
    d.wire.begin_test()
    _on_alarm.limit = _time_limit(request)
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, _on_alarm.limit)
    try:
        yield d
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    try:
        if d.agent is not None and d.agent.usable():
            d.reset()
    except DutError:
        pass  # a dead agent already failed the test; the next test restarts it


@pytest.fixture
def wire(dut):
    return dut.wire


def _base_id(nodeid, kind):
    if kind is None:
        return nodeid
    for a, b in (("[%s]" % kind, ""), ("-%s]" % kind, "]"), ("[%s-" % kind, "["), ("-%s-" % kind, "-")):
        if a in nodeid:
            return nodeid.replace(a, b, 1)
    return nodeid


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    sess = item.config._sfc
    kind = _dut_of(item)
    res = sess.results.by_id.get(item.nodeid)
    if res is None:
        res = rep.Result(item.nodeid, _base_id(item.nodeid, kind), kind or "-",
                         _marker_args(item, "req"), _marker_args(item, "seed"),
                         item.get_closest_marker("slow") is not None)
        sess.results.add(res)
    res.duration += report.duration
    if kind:
        sess.dut_first.setdefault(kind, time.time() - report.duration)
        sess.dut_last[kind] = time.time()
    _classify(res, report, call)
    if kind and kind in sess.duts and (call.when == "call" or (call.when == "setup" and report.failed)):
        # Every test's frames are kept: whether it diverges between DUTs is
        # known only once the last DUT ran it (crosscheck.py).
        res.frames = crosscheck.snapshot(sess.duts[kind].wire)
        if report.failed:
            res.pcap = _save_pcap(sess, item, res.frames)


def _classify(res, report, call):
    xfail_reason = getattr(report, "wasxfail", None)
    if report.when == "call" or (report.when == "setup" and not report.passed):
        if report.passed and xfail_reason is not None:
            res.outcome, res.reason = rep.XPASS, xfail_reason
        elif report.passed:
            res.outcome = rep.PASS
        elif report.skipped and xfail_reason is not None:
            res.outcome, res.reason = rep.XFAIL, xfail_reason
        elif report.skipped:
            res.outcome = rep.SKIP
        elif report.when == "call" and "XPASS(strict)" in str(report.longrepr):
            res.outcome, res.reason = rep.XPASS, str(report.longrepr)
        else:
            res.outcome = rep.FAIL if report.when == "call" else rep.ERROR
        if report.failed:
            res.message = report.longreprtext
    elif report.when == "teardown" and report.failed:
        res.outcome = rep.ERROR
        res.message = report.longreprtext


def _save_pcap(sess, item, frames):
    path = os.path.join(sess.report_dir, "pcap", crosscheck.pcap_name(item.nodeid))
    try:
        return crosscheck.write_pcap(path, frames)
    except OSError:
        return None


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    sess = getattr(config, "_sfc", None)
    if sess is None:
        return
    for kind in sess.dut_first:
        sess.results.dut_wall[kind] = sess.dut_last.get(kind, sess.dut_first[kind]) - sess.dut_first[kind]
    crosscheck.save_divergence_pcaps(sess.results, sess.report_dir)
    tr = terminalreporter
    tr.section("synfin conformance: test x DUT")
    for line in rep.terminal_lines(sess.results):
        tr.write_line(line)
    md = os.path.join(sess.report_dir, "report.md")
    try:
        command = os.environ.get("SFC_COMMAND") or " ".join(["pytest"] + sys.argv[1:])
        rep.write_markdown(md, sess.results, sess.catalogue, [command], sess.started, sess.report_dir)
        total, covered, passing = rep.coverage(sess.results, sess.catalogue)
        tr.write_line("requirement coverage: %d of %d wire-testable requirements have a test "
                      "(%d passing or declared on every DUT)" % (covered, total, passing))
        tr.write_line("report: %s" % md)
    except OSError as e:
        tr.write_line("could not write the Markdown report: %s" % e)


def pytest_sessionfinish(session, exitstatus):
    sess = getattr(session.config, "_sfc", None)
    if sess is not None:
        sess.teardown()
        # A divergence between DUTs that no declaration explains (e.g. PASS
        # on one, SKIP on the other) fails the run even if no test failed.
        if session.exitstatus == 0 and crosscheck.counts(sess.results)[3]:
            session.exitstatus = 1
