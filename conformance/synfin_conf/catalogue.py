"""Parser of the requirement catalogue (shared/rfc/requirements.md).

It yields every requirement ID with its section, category and level, and
the set of IDs the catalogue calls observable on the wire (its section
"Observable on the wire"), which is what coverage is counted against.
"""

import os
import re

ID_RE = re.compile(r"^\|\s*(RFC\d+:[^\s|]+)\s*\|\s*([^|]*)\|\s*([^|]*)\|\s*([^|]*)\|")
RFC9293_TOKEN = re.compile(r"\b((?:MUST|SHLD|MAY|REC)-\d+)")


class CatalogueError(RuntimeError):
    pass


class Requirement:
    __slots__ = ("id", "section", "text", "category")

    def __init__(self, rid, section, text, category):
        self.id, self.section, self.text, self.category = rid, section, text, category

    @property
    def level(self):
        m = re.match(r"\[([^\]]+)\]", self.text)
        return m.group(1) if m else ""


class Catalogue:
    def __init__(self, path):
        if not os.path.isfile(path):
            raise CatalogueError(
                "requirement catalogue not found at %s; pass --catalogue PATH "
                "(it lives in shared/rfc/requirements.md beside the clone)" % path)
        self.path = path
        with open(path, encoding="utf-8") as f:
            self.lines = f.read().splitlines()
        self.reqs = {}
        for line in self.lines:
            m = ID_RE.match(line)
            if m:
                rid = m.group(1).strip()
                self.reqs[rid] = Requirement(rid, m.group(2).strip(), m.group(3).strip(), m.group(4).strip())
        if not self.reqs:
            raise CatalogueError("no requirement rows found in %s" % path)
        self.wire_testable = self._wire_section()

    def __contains__(self, rid):
        return rid in self.reqs

    def near(self, rid):
        """IDs that look like a mistyped `rid`, for error messages."""
        key = rid.split(":")[-1].lower()
        return [r for r in self.reqs if key and key in r.lower()][:5]

    def _section(self, title):
        out, inside = [], False
        for line in self.lines:
            if line.startswith("### "):
                inside = line[4:].strip().lower().startswith(title.lower())
                continue
            if line.startswith("## ") and inside:
                break
            if inside:
                out.append(line)
        return out

    def _wire_section(self):
        ids = set()
        rfc = None
        for line in self._section("Observable on the wire"):
            text = line.strip()
            if text.startswith("* RFC 9293"):
                rfc = "RFC9293"
            elif text.startswith("* Other RFCs"):
                rfc = None
            elif text.startswith("* Appendix U"):
                ids.update(r for r in self.reqs if r.startswith("RFC9293:U-"))
                continue
            body = text.lstrip("* ").strip()
            if rfc == "RFC9293":
                ids.update("RFC9293:" + t for t in RFC9293_TOKEN.findall(body)
                           if "RFC9293:" + t in self.reqs)
            m = re.match(r"RFC (\d+): (.*)", body)
            if m:
                num, rest = m.group(1), m.group(2)
                if re.match(r"all\b", rest):
                    ids.update(r for r in self.reqs if r.startswith("RFC%s:" % num))
                    continue
                for tok in rest.split(","):
                    tok = re.split(r"[\s(‡†§]", tok.strip())[0]
                    rid = "RFC%s:%s" % (num, tok)
                    if rid in self.reqs:
                        ids.add(rid)
        return ids


def default_path():
    """The requirement catalogue: shared/rfc/requirements.md beside the
    repository (the workspace's copy, the source of truth) if it is there,
    else the copy kept in the repository (conformance/requirements.md), so a
    clean clone on another machine runs the suite too."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    shared = os.path.normpath(os.path.join(root, "..", "shared", "rfc", "requirements.md"))
    if os.path.isfile(shared):
        return shared
    return os.path.join(root, "conformance", "requirements.md")
