"""The lab-lifecycle probes use the real plugin, like tests/."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from synfin_conf.plugin import *  # noqa: E402,F401,F403  (hooks and fixtures)
