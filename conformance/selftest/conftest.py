"""Self-tests of the suite's own code; they need no namespaces and no root
(the agent test uses loopback in the current namespace)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

collect_ignore = ["lab"]
