"""Starting the recorded program in its own pseudo-terminal, with working job control.

The process forked onto the new terminal (the session leader) is a small supervisor,
not the program itself: it puts the program in a process group of its own and makes
that the terminal's foreground group. Without it the program's group would be
orphaned (its parent, the recorder, is in another session) and the kernel would
discard the SIGTSTP of Ctrl-Z, so suspending `claude` would silently do nothing.
When the program stops, the supervisor stops too, which the recorder sees and passes
on to the user's shell; on SIGCONT the supervisor resumes the program.
"""
from __future__ import annotations

import os
import pty
import signal
import termios
from dataclasses import dataclass

from .terminal import set_size

EXEC_FAILED = 127


@dataclass
class Child:
    pid: int  # the supervisor: session leader of the child's terminal
    master_fd: int

    def signal_foreground(self, signum: int) -> None:
        """Send `signum` to whatever runs in the foreground of the child's terminal."""
        try:
            os.killpg(os.tcgetpgrp(self.master_fd), signum)
        except OSError:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass


def spawn(argv: list[str], env: dict[str, str], size: tuple[int, int], modes: list | None) -> Child:
    """Fork `argv` onto a new pseudo-terminal of `size` with the user's terminal `modes`."""
    pid, master_fd = pty.fork()
    if pid == 0:  # pragma: no cover - runs in the child, reported through exit codes
        try:
            if modes is not None:
                termios.tcsetattr(0, termios.TCSANOW, modes)
            set_size(0, *size)
        except Exception:
            pass
        try:
            _supervise(argv, env)
        finally:
            os._exit(EXEC_FAILED)  # never return into the recorder's code in the forked copy
    os.set_blocking(master_fd, False)
    return Child(pid, master_fd)


def _supervise(argv: list[str], env: dict[str, str]) -> None:  # pragma: no cover
    for signum in (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP, signal.SIGTTOU, signal.SIGTTIN):
        signal.signal(signum, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    for signum in (signal.SIGTERM, signal.SIGCHLD, signal.SIGWINCH, signal.SIGPIPE):
        signal.signal(signum, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)
    program_pid = os.fork()
    if program_pid == 0:
        os.setpgid(0, 0)
        _make_foreground(os.getpid())  # at once: a Ctrl-Z typed now must reach the program
        for signum in range(1, signal.NSIG):
            try:
                signal.signal(signum, signal.SIG_DFL)
            except (OSError, ValueError):
                pass
        try:
            os.execvpe(argv[0], argv, env)
        except OSError as exc:
            os.write(2, f"claude-rec: cannot run {argv[0]}: {exc.strerror}\r\n".encode())
            os._exit(EXEC_FAILED)
    try:
        os.setpgid(program_pid, program_pid)
    except OSError:
        pass  # the program already did it (or already exited)
    _make_foreground(program_pid)
    while True:
        try:
            _, status = os.waitpid(program_pid, os.WUNTRACED)
        except ChildProcessError:
            os._exit(1)
        except InterruptedError:
            continue
        if os.WIFSTOPPED(status):
            os.kill(os.getpid(), signal.SIGSTOP)  # the recorder sees this and suspends itself
            _make_foreground(program_pid)
            try:
                os.killpg(program_pid, signal.SIGCONT)
            except OSError:
                pass
            continue
        if os.WIFSIGNALED(status):
            signum = os.WTERMSIG(status)
            if signum not in (signal.SIGKILL, signal.SIGSTOP):
                signal.signal(signum, signal.SIG_DFL)
            try:
                import resource

                resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # the program dumped core already
            except (ImportError, ValueError, OSError):
                pass
            os.kill(os.getpid(), signum)
            os._exit(128 + signum)
        os._exit(os.waitstatus_to_exitcode(status))


def _make_foreground(pgid: int) -> None:  # pragma: no cover
    try:
        os.tcsetpgrp(0, pgid)
    except OSError:
        pass
