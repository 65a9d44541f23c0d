"""A warm fork server: a process that imports some modules once, then forks children from itself on
request, so each child starts warm in milliseconds and shares those pages with it.

This process's own child (a `subprocess.Popen`, single-threaded, no Prefect or DuckDB in it), which
`ForkServer.stop` ends and reaps: its children's CPU time then counts for this process too
(`getrusage(RUSAGE_CHILDREN)`, which the bench reads), and nothing is left behind. It exits by itself
when its control socket closes, i.e. when the process that started it exits or is killed; its children
get SIGKILL when it ends (Linux). multiprocessing's "forkserver" does the same work, but offers no public
way to stop it or know its process.

The control socket is a Unix SOCK_SEQPACKET pair; requests are one at a time (a lock):
  request  pickle((target, args)), with two descriptors attached: the child's end of a socket pair (its
           `Channel` to the caller) and the write end of a status pipe
  reply    the child's pid (8 bytes, signed)
The child runs `target(channel, *args)`; once it has exited and been reaped, the server writes its exit
code (negative: the signal that ended it) to the status pipe (4 bytes, signed) and closes it.
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from newsflow.processes import die_with_parent

_PID = struct.Struct("q")
_STATUS = struct.Struct("i")
_MAX_REQUEST_BYTES = 1 << 20


class ForkServerGone(RuntimeError):
    """The fork server exited (or could not start) before it answered."""


def _readable(fd: int, timeout: float | None) -> bool:
    """Whether `fd` has data or its end-of-file within `timeout` seconds (None: wait)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(None if timeout is None else max(0, int(timeout * 1000))))


class Channel:
    """Pickled messages both ways over a connected stream socket, with the methods of a
    `multiprocessing.connection.Connection` that a child and its caller use: send, recv (EOFError once
    the other end closed), poll and close."""

    _SIZE = struct.Struct("!Q")

    def __init__(self, sock: socket.socket):
        self.sock = sock

    def send(self, obj: Any) -> None:
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        self.sock.sendall(self._SIZE.pack(len(data)))
        self.sock.sendall(data)

    def recv(self) -> Any:
        size = self._SIZE.unpack(self._read(self._SIZE.size))[0]
        return pickle.loads(self._read(size))

    def _read(self, size: int) -> bytearray:
        buf = bytearray(size)
        view, got = memoryview(buf), 0
        while got < size:
            n = self.sock.recv_into(view[got:])
            if n == 0:
                raise EOFError("the other end closed the channel")
            got += n
        return buf

    def poll(self, timeout: float | None = 0.0) -> bool:
        """Whether a message (or the end) can be read within `timeout` seconds (None: wait)."""
        return _readable(self.sock.fileno(), timeout)

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()


class ForkedProcess:
    """A child of the fork server, with the part of `multiprocessing.Process` a caller needs to end it:
    `pid`, `exitcode`, `join(timeout)`, `kill()`."""

    def __init__(self, pid: int, status_fd: int):
        self.pid = pid
        self.exitcode: int | None = None
        self._status_fd = status_fd

    def join(self, timeout: float | None = None) -> None:
        """Wait (at most `timeout` seconds) until the child has exited and the server has reaped it."""
        if self.exitcode is not None or not _readable(self._status_fd, timeout):
            return
        data = b""
        while len(data) < _STATUS.size:
            chunk = os.read(self._status_fd, _STATUS.size - len(data))
            if not chunk:  # the server ended without reporting (it was killed): the child is gone too
                break
            data += chunk
        os.close(self._status_fd)
        self.exitcode = _STATUS.unpack(data)[0] if len(data) == _STATUS.size else -signal.SIGKILL

    def kill(self) -> None:
        """SIGKILL the child, unless it has been reaped already (its pid may be someone else's then)."""
        self.join(0)
        if self.exitcode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class ForkServer:
    """A warm fork server of this process, started on first use (or by `start`) and stopped by `stop`."""

    def __init__(self, preload: Sequence[str]):
        self.preload = list(preload)
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._sock: socket.socket | None = None
        self._owner: int | None = None  # the pid that started it: a forked copy of this object starts its own

    @property
    def pid(self) -> int | None:
        """The server's pid while it runs in this process's care."""
        return self._proc.pid if self._proc is not None and self._owner == os.getpid() else None

    def start(self) -> None:
        """Start the server (it imports `preload` in the background), unless it runs already."""
        with self._lock:
            self._start_locked()

    def _start_locked(self) -> None:
        if self._owner == os.getpid() and self._proc is not None and self._proc.poll() is None:
            return
        if self._owner == os.getpid():
            self._close_locked()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            setup = json.dumps({"parent": os.getpid(), "preload": self.preload,
                                "sys_path": [str(p) for p in sys.path]})
            self._proc = subprocess.Popen([sys.executable, "-m", "newsflow.warmfork", str(theirs.fileno()), setup],
                                          pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._sock, self._owner = ours, os.getpid()

    def fork(self, target: Callable[..., Any], args: tuple) -> tuple[ForkedProcess, Channel]:
        """Fork a child that runs `target(channel, *args)`; returns it and this side's end of its channel.
        `target` and `args` must pickle (module-level functions travel by name)."""
        payload = pickle.dumps((target, args))
        ours, theirs = socket.socketpair()
        status_r, status_w = os.pipe()
        try:
            with self._lock:
                self._start_locked()
                assert self._sock is not None
                try:
                    socket.send_fds(self._sock, [payload], [theirs.fileno(), status_w])
                    reply = self._sock.recv(_PID.size)
                except OSError:
                    reply = b""
                if len(reply) != _PID.size:
                    self._close_locked()
                    raise ForkServerGone("the warm fork server exited")
        except BaseException:
            os.close(status_r)
            ours.close()
            raise
        finally:
            os.close(status_w)
            theirs.close()
        return ForkedProcess(_PID.unpack(reply)[0], status_r), Channel(ours)

    def stop(self, timeout: float = 5.0) -> int | None:
        """Close the control socket (the server then kills and reaps its children, and exits) and reap
        the server; SIGKILL after `timeout` seconds. Returns its exit code, None if none ran."""
        with self._lock:
            return self._close_locked(timeout)

    def _close_locked(self, timeout: float = 5.0) -> int | None:
        proc, sock, owner = self._proc, self._sock, self._owner
        self._proc = self._sock = self._owner = None
        if sock is not None:
            sock.close()
        if proc is None or owner != os.getpid():  # a forked copy: the server is its parent's to reap
            return None
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()


# ------------------------------------------------------------------------------ the server process
def _serve(sock: socket.socket) -> None:
    """Fork a child per request until the control socket closes; report each child's exit code."""
    children: dict[int, int] = {}  # pid -> write end of its status pipe
    server = os.getpid()
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    # Ctrl-C is the parent's, for this process and its children alike: the parent ends them
    # (tasks.guard.interrupt), rather than each printing a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    default_handlers = {signal.SIGCHLD: signal.signal(signal.SIGCHLD, lambda *_: None)}  # wakes select()
    signal.set_wakeup_fd(wake_w)
    try:
        while True:
            ready, _, _ = select.select([sock, wake_r], [], [])
            if wake_r in ready:
                try:
                    os.read(wake_r, 65536)
                except BlockingIOError:
                    pass
                _reap(children, block=False)
            if sock in ready:
                payload, fds, flags, _ = socket.recv_fds(sock, _MAX_REQUEST_BYTES, 2)
                if not payload and not fds:  # the parent closed its end, or is gone
                    return
                if len(fds) != 2 or flags & socket.MSG_TRUNC:
                    for fd in fds:
                        os.close(fd)
                    continue
                conn_fd, status_w = fds
                pid = os.fork()
                if pid == 0:
                    signal.set_wakeup_fd(-1)
                    for sig, handler in default_handlers.items():
                        signal.signal(sig, handler)
                    for fd in (wake_r, wake_w, status_w, *children.values()):
                        os.close(fd)
                    sock.close()
                    _child(payload, conn_fd, server)
                os.close(conn_fd)
                children[pid] = status_w
                try:
                    sock.send(_PID.pack(pid))
                except OSError:  # the parent is gone
                    return
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _reap(children, block=True)


def _reap(children: dict[int, int], block: bool) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        status_w = children.pop(pid, None)
        if status_w is None:
            continue
        try:
            os.write(status_w, _STATUS.pack(os.waitstatus_to_exitcode(status)))
        except OSError:  # the caller is gone
            pass
        os.close(status_w)


def _child(payload: bytes, conn_fd: int, server: int) -> None:
    """The forked child: run the request's target, then end without the interpreter's teardown."""
    status = 1
    try:
        die_with_parent(signal.SIGKILL, parent=server)
        target, args = pickle.loads(payload)
        target(Channel(socket.socket(fileno=conn_fd)), *args)
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - a child must never return into the server's loop
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError, AttributeError):
                pass
        os._exit(status)


def main(argv: Sequence[str]) -> None:
    """`python -m newsflow.warmfork FD SETUP`: the server's entry point (SETUP: JSON from `ForkServer`)."""
    sock = socket.socket(fileno=int(argv[0]))
    setup = json.loads(argv[1])
    if os.getppid() != setup["parent"]:  # the parent died before we got here
        return
    sys.path[:] = setup["sys_path"]
    gc.disable()  # the imports make little garbage: ~5% of their CPU was the collector's
    for name in setup["preload"]:
        try:
            __import__(name)
        except Exception:  # noqa: BLE001 - children then warm up themselves; the traceback says why
            traceback.print_exc()
    gc.enable()
    _serve(sock)
    # The caller waits for this exit: skip the interpreter's teardown (freeing every module object of
    # the warm cleaner one by one), there is nothing left to save.
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
