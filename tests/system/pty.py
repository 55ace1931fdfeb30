#!/usr/bin/env python3
"""Run a command on a fresh pseudo-terminal and drive it with a script.

rl's interactive tests need a real terminal on stdin (rl run -t refuses to
start without one) and need to see what a person would see: the output, the
exit status, and whether the terminal was put back as it was found (rl
switches the caller's terminal to raw mode and must restore it on every exit
path).

    pty.py [options] [STEP...] -- COMMAND [ARG...]

Steps run in the order given:
    --expect REGEX     wait until the output (since the last match) matches
                       (Python regex, ^ and $ match at line boundaries; the
                       raw output has \r\n line ends)
    --send TEXT        type TEXT; backslash escapes work (\\n, \\r, \\x03, \\x04)
    --sleep SECONDS    wait, still reading output
    --resize ROWSxCOLS change the window size (the foreground group gets SIGWINCH)
    --signal NAME      send a signal (TERM, INT, HUP, ...) to COMMAND

After the steps, wait for COMMAND to exit.  Output goes to stdout (with \\r\\n
turned into \\n unless --raw).  The exit status is COMMAND's own (128+N when
killed by signal N), except for failures of the harness itself, reported on
stderr with a line starting "pty:":
    253  a step or the whole run timed out (COMMAND is killed), or COMMAND
         exited before an --expect matched
    254  COMMAND exited but the terminal attributes differ from before
"""

import argparse
import codecs
import errno
import fcntl
import os
import re
import select
import signal
import struct
import sys
import termios
import time

EXIT_TIMEOUT = 253
EXIT_TERMIOS = 254


class Step(argparse.Action):
    """Keeps the steps in command-line order, whatever their kind."""

    def __call__(self, parser, namespace, values, option_string=None):
        namespace.steps.append((self.dest, values))


def parse_size(text):
    m = re.fullmatch(r"(\d+)x(\d+)", text)
    if not m:
        raise argparse.ArgumentTypeError("want ROWSxCOLS, got %r" % text)
    return int(m.group(1)), int(m.group(2))


def parse_signal(text):
    name = text.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    try:
        return signal.Signals[name]
    except KeyError:
        raise argparse.ArgumentTypeError("unknown signal %r" % text)


def set_winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class Session:
    def __init__(self, argv, size, deadline, verbose):
        self.deadline = deadline
        self.verbose = verbose
        self.out = bytearray()
        self.pos = 0  # where the next --expect starts looking
        self.status = None
        self.master, self.slave = os.openpty()
        set_winsize(self.slave, *size)
        # The slave stays open here for the whole run so that its
        # attributes can be read after COMMAND is gone.
        self.before = termios.tcgetattr(self.slave)
        self.pid = os.fork()
        if self.pid == 0:
            self._child(argv)
        os.set_blocking(self.master, False)

    def _child(self, argv):
        try:
            os.close(self.master)
            os.setsid()
            fcntl.ioctl(self.slave, termios.TIOCSCTTY, 0)
            for fd in (0, 1, 2):
                os.dup2(self.slave, fd)
            if self.slave > 2:
                os.close(self.slave)
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
            os.execvp(argv[0], argv)
        except OSError as e:
            os.write(2, ("pty: exec %s: %s\n" % (argv[0], e.strerror)).encode())
            os._exit(127)
        os._exit(127)

    def _read(self, timeout):
        """Read what is available, waiting at most timeout seconds."""
        r, _, _ = select.select([self.master], [], [], max(0.0, timeout))
        if not r:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError as e:
            if e.errno in (errno.EIO, errno.EAGAIN):
                return False
            raise
        if self.verbose:
            sys.stderr.buffer.write(data)
            sys.stderr.flush()
        self.out += data
        return bool(data)

    def _reap(self):
        if self.status is not None:
            return True
        pid, st = os.waitpid(self.pid, os.WNOHANG)
        if pid == 0:
            return False
        if os.WIFSIGNALED(st):
            self.status = 128 + os.WTERMSIG(st)
        else:
            self.status = os.WEXITSTATUS(st)
        return True

    def left(self, limit=None):
        now = time.monotonic()
        end = self.deadline if limit is None else min(self.deadline, now + limit)
        return end - now

    def expect(self, pattern, limit):
        rx = re.compile(pattern, re.MULTILINE)
        end = time.monotonic() + self.left(limit)
        while True:
            text = self.out.decode("utf-8", "replace")
            m = rx.search(text, self.pos)
            if m:
                self.pos = m.end()
                return True
            now = time.monotonic()
            if now >= end:
                return False
            if self._reap():
                # Exited: whatever is still buffered is all there will be.
                if not self._read(0.05):
                    text = self.out.decode("utf-8", "replace")
                    m = rx.search(text, self.pos)
                    if m:
                        self.pos = m.end()
                    return bool(m)
                continue
            self._read(min(0.1, end - now))

    def send(self, data):
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.master, view)
                view = view[n:]
            except BlockingIOError:
                self._read(0.01)

    def pause(self, seconds):
        end = time.monotonic() + self.left(seconds)
        while time.monotonic() < end:
            self._read(end - time.monotonic())

    def wait(self):
        """Wait for COMMAND to exit, then drain its last output."""
        while not self._reap():
            if self.left() <= 0:
                return False
            self._read(min(0.1, self.left()))
        while self._read(0.05):
            pass
        return True

    def kill(self):
        for target in (lambda s: os.killpg(self.pid, s), lambda s: os.kill(self.pid, s)):
            try:
                target(signal.SIGKILL)
            except ProcessLookupError:
                pass
        end = time.monotonic() + 2
        while time.monotonic() < end and not self._reap():
            time.sleep(0.02)

    def termios_diff(self):
        after = termios.tcgetattr(self.slave)
        names = ["iflag", "oflag", "cflag", "lflag", "ispeed", "ospeed", "cc"]
        flags = {
            "iflag": ["ICRNL", "IXON", "BRKINT", "INPCK", "ISTRIP", "INLCR", "IGNCR"],
            "oflag": ["OPOST", "ONLCR"],
            "cflag": ["CSIZE", "PARENB", "CS8"],
            "lflag": ["ECHO", "ICANON", "ISIG", "IEXTEN", "ECHOE", "ECHOK", "ECHONL"],
        }
        diffs = []
        for i, name in enumerate(names):
            if self.before[i] == after[i]:
                continue
            if name in flags:
                bits = [f for f in flags[name]
                        if (self.before[i] & getattr(termios, f)) != (after[i] & getattr(termios, f))]
                diffs.append("%s %s" % (name, ",".join(bits) or "%#o->%#o" % (self.before[i], after[i])))
            else:
                diffs.append(name)
        return diffs


def main():
    ap = argparse.ArgumentParser(
        description="run COMMAND on a pseudo-terminal and drive it",
        usage="%(prog)s [options] [steps] -- COMMAND [ARG...]")
    ap.set_defaults(steps=[])
    ap.add_argument("--timeout", type=float, default=30.0,
                    help="hard limit for the whole run in seconds (default 30)")
    ap.add_argument("--expect-timeout", type=float, default=10.0,
                    help="limit for each --expect (default 10)")
    ap.add_argument("--size", type=parse_size, default=(24, 80),
                    help="initial window size ROWSxCOLS (default 24x80)")
    ap.add_argument("--raw", action="store_true", help="keep \\r in the output")
    ap.add_argument("--no-termios-check", action="store_true",
                    help="do not check that the terminal was restored")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="copy output to stderr as it arrives")
    ap.add_argument("--expect", action=Step, metavar="REGEX")
    ap.add_argument("--send", action=Step, metavar="TEXT")
    ap.add_argument("--sleep", action=Step, type=float, metavar="SECONDS")
    ap.add_argument("--resize", action=Step, type=parse_size, metavar="ROWSxCOLS")
    ap.add_argument("--signal", action=Step, type=parse_signal, metavar="NAME")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    argv = args.command
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        ap.error("no COMMAND given")

    s = Session(argv, args.size, time.monotonic() + args.timeout, args.verbose)
    failure = None
    for kind, value in args.steps:
        if kind == "expect":
            if not s.expect(value, args.expect_timeout):
                if s.status is not None:
                    failure = "pty: COMMAND exited (status %d) before %r appeared" % (s.status, value)
                else:
                    failure = "pty: timed out waiting for %r" % value
                break
        elif kind == "send":
            s.send(codecs.decode(value, "unicode_escape").encode("latin-1"))
        elif kind == "sleep":
            s.pause(value)
        elif kind == "resize":
            set_winsize(s.master, *value)
        elif kind == "signal":
            try:
                os.kill(s.pid, value)
            except ProcessLookupError:
                pass
    if failure is None and not s.wait():
        failure = "pty: timed out after %gs waiting for exit" % args.timeout
    if failure is not None:
        s.kill()

    out = bytes(s.out)
    if not args.raw:
        out = out.replace(b"\r\n", b"\n")
    sys.stdout.buffer.write(out)
    sys.stdout.flush()

    if failure is not None:
        print(failure, file=sys.stderr)
        return EXIT_TIMEOUT
    if not args.no_termios_check:
        diffs = s.termios_diff()
        if diffs:
            print("pty: terminal not restored (exit status %d): %s"
                  % (s.status, "; ".join(diffs)), file=sys.stderr)
            return EXIT_TERMIOS
    return s.status


if __name__ == "__main__":
    sys.exit(main())
