"""The matcher compares only the fields a template set, flags as an exact
set, and explains a miss field by field."""

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from synfin_conf.match import compare, describe_template, diff_table, template_layers


def frame(**kw):
    payload = kw.pop("payload", b"")
    ip_kw = kw.pop("ip", {})
    p = Ether() / IP(src="192.0.2.2", dst="192.0.2.1", **ip_kw) / TCP(sport=1, dport=2, **kw)
    if payload:
        p = p / Raw(payload)
    p = Ether(bytes(p))
    p.time = 100.0
    return p


def test_unset_fields_are_ignored():
    ok, rows = compare(TCP(flags="SA"), frame(flags="SA", seq=5, ack=7, window=100))
    assert ok and [r[0] for r in rows] == ["TCP.flags"]


def test_flags_compare_as_exact_set():
    assert compare(TCP(flags="SA"), frame(flags="AS"))[0]
    assert not compare(TCP(flags="SA"), frame(flags="SAE"))[0]
    assert not compare(TCP(flags="A"), frame(flags="PA"))[0]


def test_numeric_fields_and_payload():
    f = frame(flags="PA", seq=10, ack=20, payload=b"hi")
    assert compare(TCP(seq=10, ack=20), f)[0]
    assert not compare(TCP(seq=11), f)[0]
    assert compare(TCP(), f, payload=b"hi")[0]
    assert not compare(TCP(), f, payload=b"ho")[0]


def test_ip_layer_and_predicate():
    f = frame(flags="A", ip={"ttl": 7})
    assert compare(IP(ttl=7) / TCP(flags="A"), f)[0]
    assert not compare(IP(ttl=8) / TCP(flags="A"), f)[0]
    assert compare(TCP(), f, where=lambda p: p[TCP].dport == 2)[0]
    ok, rows = compare(TCP(), f, where=lambda p: 1 / 0)
    assert not ok and "raised" in rows[-1][2]


def test_options_compare_as_list():
    f = frame(flags="SA", options=[("MSS", 1460)])
    assert compare(TCP(options=[("MSS", 1460)]), f)[0]
    assert not compare(TCP(options=[("MSS", 536)]), f)[0]


def test_diff_table_shows_every_compared_field_and_context():
    lines = diff_table(TCP(flags="SA", ack=5), frame(flags="S", ack=9, seq=3), t0=99.0)
    text = "\n".join(lines)
    assert "+1.000s" in text
    assert "TCP.flags" in text and "MISMATCH" in text
    assert "TCP.seq" in text and "(any)" in text          # context field, not compared


def test_template_description():
    assert describe_template(TCP(flags="R", seq=1)) == "TCP(seq=1, flags=R)"
    assert [c.__name__ for c, _ in template_layers(IP() / TCP())] == ["IP", "TCP"]
