"""Makes `synfin_conf` importable and loads its pytest plugin (hooks and
fixtures) into this directory's conftest."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from synfin_conf.plugin import *  # noqa: E402,F401,F403
from synfin_conf.plugin import dut, wire  # noqa: E402,F401  (fixtures, explicit for readers)
