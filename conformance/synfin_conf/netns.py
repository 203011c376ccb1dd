"""Enter a named network namespace for a moment (ip-netns style).

Python 3.11 has no os.setns, so this calls libc's setns(2) through ctypes.
setns changes only the calling thread's namespace; the suite is single
threaded, and every use restores the original namespace on exit.
"""

import contextlib
import ctypes
import os

CLONE_NEWNET = 0x40000000
NETNS_RUN_DIR = "/var/run/netns"

_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "setns: " + os.strerror(err))


@contextlib.contextmanager
def in_netns(name):
    """Run the body inside network namespace `name` (from `ip netns add`).

    Sockets created inside keep that namespace after the body ends, which is
    how the tester's packet socket lives in the tester namespace while the
    rest of the suite runs in the root namespace.
    """
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(os.path.join(NETNS_RUN_DIR, name), os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(target)
        os.close(own)
