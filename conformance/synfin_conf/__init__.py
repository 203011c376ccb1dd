"""synfin conformance DSL (see conformance/DSL.md)."""

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from .agent import DutDied, DutError, DutHung
from .conn import Connection, seq_add, seg_len
from .dut import RFC_TO_SS, SS_STATES, ss_name
from .match import ExpectationFailed

__all__ = ["IP", "TCP", "Ether", "Raw", "DutError", "DutDied", "DutHung", "Connection", "seq_add",
           "seg_len", "RFC_TO_SS", "SS_STATES", "ss_name", "ExpectationFailed", "xfail_on"]


def xfail_on(kind, reason, req=None):
    """Strict expected failure on DUT kind `kind` only (DSL.md section 6)."""
    return pytest.mark.xfail_on(kind, reason=reason, req=req)
