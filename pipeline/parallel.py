"""Running a function in a forked child process while this process goes on.

The end of a run writes several outputs that each take seconds of CPU
(report, REFI-QDA exports, the manifest's table hashes); a forked child
does one of them while the parent does another, with the same files as a
sequential run. Also :func:`gc_paused`, for the bursts of lasting
allocations around forking and writing outputs.
"""
from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic garbage collector for a burst of allocations (usable as a decorator).

    Building a large export allocates millions of small objects that stay
    alive until the end; every automatic collection then traverses all of
    them, which made the exports' time grow faster than the data. Nothing
    is lost: cycles made meanwhile are collected after the pause. The
    previous state (enabled or not) is restored.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class ForkedCall:
    """``fn(*args)`` running in a forked child process; :meth:`result` waits for it.

    The child inherits the parent's memory (nothing is pickled on the way
    in). Its return value or exception comes back through a pipe, so
    :meth:`result` returns or raises as a direct call would (the child's
    traceback is attached to the exception as a note). Meant for work
    that reads and writes files and holds no resource of the parent's.
    """

    def __init__(self, fn, *args) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=self._run, args=(send, fn, args), name=f"fork:{fn.__name__}", daemon=True)
        self._process.start()
        send.close()

    @staticmethod
    def _run(send, fn, args) -> None:
        import traceback

        try:
            outcome = (True, fn(*args))
        except BaseException as exc:
            exc.add_note(f"Raised in a child process:\n{''.join(traceback.format_exception(exc)).rstrip()}")
            outcome = (False, exc)
        try:
            send.send(outcome)
        except Exception:  # the value or exception cannot be pickled: send what can be
            text = "".join(traceback.format_exception(outcome[1])) if not outcome[0] else repr(outcome[1])
            send.send((False, RuntimeError(f"{fn.__name__} in a child process: {text}")))
        send.close()

    def result(self):
        """The call's return value; raises its exception, or RuntimeError when the child died without an answer."""
        try:
            ok, value = self._receive.recv()
        except EOFError:
            self._process.join()
            raise RuntimeError(f"{self._process.name}: the child process ended without an answer "
                               f"(exit code {self._process.exitcode})") from None
        finally:
            self._receive.close()
        self._process.join()
        if not ok:
            raise value
        return value


def can_fork() -> bool:
    """Whether this process may fork a helper: the platform can fork (not Windows) and this is no daemonic worker."""
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods() and not multiprocessing.current_process().daemon


class SharedCounter:
    """A counter shared with the processes forked after it was made: :meth:`take` never gives a number twice.

    Lets a parent and its forked child split a list of tasks as they go:
    whichever is free first takes the next one (see :func:`take_turns`).
    """

    def __init__(self) -> None:
        import multiprocessing

        self._value = multiprocessing.get_context("fork").Value("q", 0)

    # A process holds the lock for a few instructions: one that cannot get it for this long has lost the
    # other process while it held it (killed), rather than waiting forever.
    LOCK_TIMEOUT = 60.0

    def take(self) -> int:
        """The next number (0, 1, 2, ...) not yet taken by any process."""
        lock = self._value.get_lock()
        if not lock.acquire(timeout=self.LOCK_TIMEOUT):
            raise RuntimeError("a process sharing this counter ended while it held the counter's lock")
        try:
            number = self._value.value
            self._value.value = number + 1
        finally:
            lock.release()
        return number


def take_turns(items: list, counter: SharedCounter | None):
    """The items of ``items`` that this process takes, in order: all of them without a counter.

    With a counter shared between processes that pass the same list,
    every item goes to exactly one of them.
    """
    if counter is None:
        yield from items
        return
    while (number := counter.take()) < len(items):
        yield items[number]
