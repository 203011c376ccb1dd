"""Run results: the terminal table (test x DUT), the Markdown report with
the requirement table and coverage, and the per-DUT wall time."""

import datetime
import os
from collections import OrderedDict

from . import crosscheck

# Short result words, shared by terminal and Markdown.
PASS, FAIL, XFAIL, XPASS, SKIP, ERROR = "PASS", "FAIL", "XFAIL", "XPASS(strict)", "SKIP", "ERROR"


class Result:
    __slots__ = ("nodeid", "base", "dut", "outcome", "duration", "reqs", "seeds", "slow",
                 "reason", "pcap", "message", "frames")

    def __init__(self, nodeid, base, dut, reqs, seeds, slow):
        self.nodeid, self.base, self.dut = nodeid, base, dut
        self.reqs, self.seeds, self.slow = reqs, seeds, slow
        self.outcome, self.duration, self.reason, self.pcap, self.message = None, 0.0, "", None, ""
        self.frames = []   # (time, outgoing, raw) of the test, for the cross-check


class Results:
    def __init__(self):
        self.by_id = OrderedDict()
        self.dut_wall = OrderedDict()     # dut -> seconds (tests + lab set-up)
        self.dut_settings = OrderedDict()  # dut -> {name: value}

    def add(self, res):
        self.by_id[res.nodeid] = res

    def duts(self):
        seen = OrderedDict()
        for r in self.by_id.values():
            seen[r.dut] = True
        return list(seen)

    def matrix(self):
        """OrderedDict base test id -> {dut: Result}."""
        m = OrderedDict()
        for r in self.by_id.values():
            m.setdefault(r.base, {})[r.dut] = r
        return m

    def counts(self, dut=None):
        c = OrderedDict((k, 0) for k in (PASS, FAIL, ERROR, XFAIL, XPASS, SKIP))
        for r in self.by_id.values():
            if (dut is None or r.dut == dut) and r.outcome in c:
                c[r.outcome] += 1
        return c

    def ok(self):
        """Every test passed, failed as declared or was skipped, and no test
        diverges between DUTs without a declaration (crosscheck.py)."""
        return (all(r.outcome in (PASS, XFAIL, SKIP) for r in self.by_id.values())
                and crosscheck.counts(self)[3] == 0)


def terminal_lines(results):
    """The test x DUT table and the per-DUT summary, as lines."""
    duts = results.duts()
    matrix = results.matrix()
    if not matrix:
        return ["no conformance tests ran"]
    width = min(max(len(b) for b in matrix), 90)
    lines = ["%-*s  %s" % (width, "test", "  ".join("%-13s" % d for d in duts))]
    for base, row in matrix.items():
        cells = []
        for d in duts:
            r = row.get(d)
            cells.append("%-13s" % (r.outcome if r else "-"))
        name = base if len(base) <= width else "..." + base[-(width - 3):]
        lines.append("%-*s  %s" % (width, name, "  ".join(cells)))
    lines.append("")
    for d in duts:
        c = results.counts(d)
        lines.append("DUT %-8s %s   wall time %.1f s" % (
            d, ", ".join("%d %s" % (v, k) for k, v in c.items() if v), results.dut_wall.get(d, 0.0)))
    lines += crosscheck.terminal_lines(results)
    return lines


def _req_rows(results, catalogue):
    """OrderedDict requirement id -> {dut: [Result...]} for every tagged id."""
    rows = OrderedDict()
    for r in results.by_id.values():
        for rid in r.reqs:
            rows.setdefault(rid, OrderedDict()).setdefault(r.dut, []).append(r)
    order = list(catalogue.reqs) if catalogue else []
    return OrderedDict(sorted(rows.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 10**6))


def _cell(results_list):
    outs = [r.outcome for r in results_list]
    worst = next((o for o in (FAIL, ERROR, XPASS, XFAIL, SKIP) if o in outs), PASS)
    return "%s (%d/%d pass)" % (worst, outs.count(PASS), len(outs)) if worst != PASS else "PASS (%d)" % len(outs)


def coverage(results, catalogue):
    """(wire-testable total, covered by some test, covered and passing on every DUT)."""
    tagged = {}
    for r in results.by_id.values():
        for rid in r.reqs:
            tagged.setdefault(rid, []).append(r)
    wire = catalogue.wire_testable
    covered = [rid for rid in wire if rid in tagged]
    passing = [rid for rid in covered if all(x.outcome in (PASS, XFAIL) for x in tagged[rid])]
    return len(wire), len(covered), len(passing)


def write_markdown(path, results, catalogue, argv, started, report_dir):
    duts = results.duts()
    out = ["# synfin conformance report", "",
           "Run started %s UTC; command: `%s`" % (started.strftime("%Y-%m-%d %H:%M:%S"), " ".join(argv)), ""]
    out += ["## Summary", "", "| DUT | " + " | ".join(results.counts().keys()) + " | wall time |",
            "|---|" + "---|" * (len(results.counts()) + 1)]
    for d in duts:
        c = results.counts(d)
        out.append("| %s | %s | %.1f s |" % (d, " | ".join(str(v) for v in c.values()), results.dut_wall.get(d, 0.0)))
    out.append("")
    out.append("Overall: **%s**" % ("PASS" if results.ok() else "FAIL"))
    out.append("")
    out += crosscheck.markdown(results, report_dir)
    if catalogue:
        total, covered, passing = coverage(results, catalogue)
        out += ["## Requirement coverage", "",
                "Wire-testable requirements in the catalogue (`%s`, section \"Observable on the wire\"): "
                "**%d**. Covered by at least one test in this run: **%d**. Covered and passing (or "
                "declared expected failure) on every DUT: **%d**." % (catalogue.path, total, covered, passing), ""]
    out += ["## Requirement table", "", "| requirement | tests | " + " | ".join(duts) + " |",
            "|---|---|" + "---|" * len(duts)]
    for rid, per_dut in _req_rows(results, catalogue).items():
        tests = sorted({r.base for lst in per_dut.values() for r in lst})
        shown = "<br>".join("`%s`" % t.split("::")[-1] for t in tests[:6])
        if len(tests) > 6:
            shown += "<br>... %d more" % (len(tests) - 6)
        mark = "" if not catalogue or rid in catalogue.wire_testable else " (not wire-testable)"
        out.append("| %s%s | %s | %s |" % (rid, mark, shown, " | ".join(
            _cell(per_dut[d]) if d in per_dut else "-" for d in duts)))
    out += ["", "## Expected failures (declared departures)", ""]
    xf = [r for r in results.by_id.values() if r.outcome in (XFAIL, XPASS)]
    out += ["- `%s` on %s: %s — %s" % (r.base, r.dut, r.outcome, r.reason) for r in xf] or ["none"]
    out += ["", "## Failures", ""]
    bad = [r for r in results.by_id.values() if r.outcome in (FAIL, ERROR, XPASS)]
    for r in bad:
        out.append("### `%s` on %s: %s" % (r.base, r.dut, r.outcome))
        if r.pcap:
            out.append("pcap: `%s`" % os.path.relpath(r.pcap, report_dir))
        out += ["", "```", r.message[-6000:], "```", ""]
    if not bad:
        out.append("none")
    out += ["", "## All results", "", "| test | " + " | ".join(duts) + " | requirements | seed |",
            "|---|" + "---|" * (len(duts) + 2)]
    for base, row in results.matrix().items():
        any_r = next(iter(row.values()))
        out.append("| `%s` | %s | %s | %s |" % (
            base, " | ".join("%s (%.2fs)" % (row[d].outcome, row[d].duration) if d in row else "-" for d in duts),
            ", ".join(any_r.reqs), ", ".join(str(s) for s in any_r.seeds)))
    out += [""] + crosscheck.markdown_traces(results)
    out += [""] + crosscheck.markdown_frame_differences(results)
    out += ["", "## DUT settings", ""]
    for d, settings in results.dut_settings.items():
        out += ["### %s" % d, "", "| setting | value |", "|---|---|"]
        out += ["| %s | %s |" % (k, v) for k, v in settings.items()]
        out.append("")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


def now():
    return datetime.datetime.utcnow()
