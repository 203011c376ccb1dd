"""Client side of the DUT agent protocol (AGENT.md).

The agent is a child process; requests go to its stdin, replies come from
its stdout. A reply that does not come within the request's own timeout
plus a grace period means the agent hangs; EOF means it died. Both raise,
and the caller (Dut) kills and restarts the agent for the next test.
"""

import os
import select
import signal
import subprocess
import time

GRACE = 5.0


class DutError(Exception):
    """An ERR reply from the agent. `name` is the errno name (e.g. EADDRINUSE)."""

    def __init__(self, name, text="", request=""):
        self.name = name
        self.text = text
        self.request = request
        super().__init__("%s%s (request: %s)" % (name, (" " + text) if text else "", request))


class DutDied(DutError):
    def __init__(self, request, detail=""):
        super().__init__("DIED", "the DUT agent exited%s" % detail, request)


class DutHung(DutError):
    def __init__(self, request, timeout):
        super().__init__("HUNG", "the DUT agent did not answer within %.1fs" % timeout, request)


class Agent:
    """One running agent process."""

    def __init__(self, argv, log_path=None):
        self.argv = argv
        self.log = open(log_path, "ab") if log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, start_new_session=True)
        self._buf = b""
        # True while a request waits for its reply. If something interrupts
        # the wait (a test time limit), the stream is out of step and the
        # agent must be replaced rather than reused.
        self.pending = False
        self.hello = self._readline(10.0, "<start-up>")
        if not self.hello.startswith("HELLO synfin-agent 1"):
            self.kill()
            raise DutError("PROTO", "unexpected greeting %r" % self.hello, "<start-up>")

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def usable(self):
        """Alive, and no reply is outstanding."""
        return self.alive() and not self.pending

    def _readline(self, timeout, request):
        end = time.time() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = end - time.time()
            if left <= 0:
                raise DutHung(request, timeout)
            r, _w, _x = select.select([fd], [], [], left)
            if not r:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                rc = self.proc.poll()
                raise DutDied(request, "" if rc is None else " (status %d)" % rc)
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode("ascii", "replace").rstrip("\r")

    def request(self, line, timeout_s=0.0):
        """Send one request; returns the list of reply words after OK.

        Raises DutError on ERR, DutDied / DutHung when the agent fails.
        """
        self.pending = True
        try:
            self.proc.stdin.write((line + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise DutDied(line) from None
        reply = self._readline(timeout_s + GRACE, line)
        self.pending = False
        words = reply.split(" ")
        if words[0] == "OK":
            return words[1:]
        if words[0] == "ERR" and len(words) > 1:
            raise DutError(words[1], " ".join(words[2:]), line)
        raise DutError("PROTO", "malformed reply %r" % reply, line)

    def request_lines(self, line, timeout_s=0.0):
        """A request whose reply is `OK <n>` followed by n lines."""
        words = self.request(line, timeout_s)
        n = int(words[0])
        self.pending = True
        lines = [self._readline(timeout_s + GRACE, line) for _ in range(n)]
        self.pending = False
        return lines

    def kill(self):
        """Stop the agent: QUIT is not trusted, SIGKILL by pid."""
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        if self.log is not subprocess.DEVNULL:
            self.log.close()
            self.log = subprocess.DEVNULL
