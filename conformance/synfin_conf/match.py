"""Template matching: compare only the fields a test set, and explain misses.

A template is a scapy TCP() (or IP()/TCP()) in which the test set some
fields. scapy keeps explicitly set fields in `layer.fields`; those, and only
those, are compared. TCP flags compare as an exact set ("SA" does not match
"SAE"). A miss is explained field by field for every frame seen.
"""

from scapy.layers.inet import IP, TCP
from scapy.packet import Raw


class ExpectationFailed(AssertionError):
    """An expect()/expect_none() that did not hold; the message has the diff."""


def template_layers(tpl):
    """[(layer class, {field: value}), ...] for the layers of a template."""
    out = []
    layer = tpl
    while layer is not None and not isinstance(layer, Raw) and layer.name != "NoPayload":
        if layer.fields:
            out.append((type(layer), dict(layer.fields)))
        else:
            out.append((type(layer), {}))
        layer = layer.payload if layer.payload else None
    return out


def _norm(layer_cls, name, value):
    """A comparable form of a field value."""
    if layer_cls is TCP and name == "flags":
        return int(value) if not isinstance(value, str) else int(TCP(flags=value).flags)
    if layer_cls is TCP and name == "options":
        return [(k, tuple(v) if isinstance(v, list) else v) for k, v in value]
    return value


def _show(layer_cls, name, value):
    if value is None:
        return "-"
    if layer_cls is TCP and name == "flags":
        return str(TCP(flags=value).flags) if not isinstance(value, str) else value
    return repr(value) if isinstance(value, (bytes, list)) else str(value)


def tcp_payload(pkt):
    tcp = pkt.getlayer(TCP)
    return bytes(tcp.payload) if tcp is not None else b""


def compare(tpl, pkt, payload=None, where=None):
    """Match `pkt` against the template.

    Returns (ok, rows) where rows are (field, expected, got, ok) tuples, one
    per compared field, with display strings.
    """
    rows = []
    for layer_cls, fields in template_layers(tpl):
        layer = pkt.getlayer(layer_cls)
        for name, want in fields.items():
            got = layer.getfieldval(name) if layer is not None else None
            ok = layer is not None and _norm(layer_cls, name, got) == _norm(layer_cls, name, want)
            rows.append(("%s.%s" % (layer_cls.__name__, name), _show(layer_cls, name, want),
                         _show(layer_cls, name, got), ok))
    if payload is not None:
        got = tcp_payload(pkt)
        rows.append(("payload", _short(payload), _short(got), got == bytes(payload)))
    if where is not None:
        try:
            ok = bool(where(pkt))
        except Exception as e:  # a predicate that crashes is a miss, explained
            ok = False
            rows.append(("where", "true", "raised %r" % e, False))
        else:
            rows.append(("where", "true", str(ok).lower(), ok))
    return all(r[3] for r in rows), rows


def _short(b):
    b = bytes(b)
    return repr(b) if len(b) <= 24 else "%r... (%d bytes)" % (b[:24], len(b))


def summary(pkt, t0=None):
    """One line: addresses, flags, seq/ack/win/len and options."""
    ip, tcp = pkt.getlayer(IP), pkt.getlayer(TCP)
    when = "" if t0 is None else "+%.3fs " % (pkt.time - t0)
    if ip is None or tcp is None:
        return when + pkt.summary()
    return "%s%s:%d > %s:%d [%s] seq=%d ack=%d win=%d len=%d%s" % (
        when, ip.src, tcp.sport, ip.dst, tcp.dport, tcp.flags, tcp.seq, tcp.ack, tcp.window,
        len(tcp_payload(pkt)), (" opts=%s" % tcp.options) if tcp.options else "")


# Fields always shown in a diff for context, even when the template did not set them.
CONTEXT_FIELDS = ("flags", "seq", "ack", "window")


def diff_table(tpl, pkt, payload=None, where=None, t0=None):
    """Field-by-field table for one frame, as lines of text."""
    _ok, rows = compare(tpl, pkt, payload, where)
    lines = ["  frame %s" % summary(pkt, t0)]
    set_names = {r[0] for r in rows}
    tcp = pkt.getlayer(TCP)
    for name in CONTEXT_FIELDS:
        if "TCP." + name not in set_names and tcp is not None:
            rows.append(("TCP." + name, "(any)", _show(TCP, name, tcp.getfieldval(name)), True))
    width = max([len(r[0]) for r in rows] + [5])
    lines.append("    %-*s  %-22s %-22s" % (width, "field", "expected", "got"))
    for name, want, got, ok in rows:
        lines.append("    %-*s  %-22s %-22s %s" % (width, name, want, got, "ok" if ok else "MISMATCH"))
    return lines


def describe_template(tpl, payload=None, where=None):
    parts = []
    for layer_cls, fields in template_layers(tpl):
        inner = ", ".join("%s=%s" % (k, _show(layer_cls, k, v)) for k, v in fields.items())
        parts.append("%s(%s)" % (layer_cls.__name__, inner))
    text = "/".join(parts)
    if payload is not None:
        text += " payload=%s" % _short(payload)
    if where is not None:
        text += " where=<predicate>"
    return text
