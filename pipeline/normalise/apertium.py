"""Running Apertium nno-nob: one long-running pipeline per process.

``translate_blocks(blocks)`` returns, for each block (a stripped, non-empty
piece of text), what ``apertium -u nno-nob`` prints for that block alone
followed by a newline (``run_once(block + "\n")``), without starting the
Apertium pipeline (about a dozen processes that load their transducers and
grammars, ~0.5 CPU s) once per call or per block:

* the blocks are deformatted by ONE call of ``apertium-destxt`` (a small
  program that starts in milliseconds) on the blocks joined with numbered
  separator lines; its output is cut at the separators, and each piece,
  ended as ``apertium-destxt`` ends a text, is exactly what it prints for
  that block alone (tested);
* the pieces, each ended by a NUL character, are written to ONE
  long-running pipeline per process: the commands of the pair's mode file
  (``apertium-wblank-mode -z``, which gives every program its null-flush
  option ``-z``), started lazily on first use. In null-flush mode each
  program translates what came before a NUL, prints it followed by a NUL,
  flushes and resets its state, so each block is translated as by a fresh
  pipeline: no block sees another's words, and no separator words pass
  through the pipeline (they would cost a third of its work);
* the answers are reformatted by ONE call of ``apertium-retxt`` on the
  answers joined with separators, and cut there again.

Fork safety: the pipeline belongs to the process that started it (its
pid is remembered); a forked child drops its inherited copy (closing only
its ends of the pipes) and starts its own when it needs one, unless its
parent started pipelines ahead for its workers (``start_spares``, while
it loads what they share): then the child takes over one that no other
child took. The pipeline is closed at exit (``atexit`` in the main
process, a multiprocessing finaliser in pool workers; a pipeline ends
when its input pipe closes, a spare taken over when its starter closes
its copy as well). On any trouble (the pipeline cannot be started, dies,
times out, or its answers are out of step) it is killed and the request is tried once
more with a new pipeline; if that fails too, each block goes to the
one-shot ``apertium -u nno-nob`` call (slow, one process chain per block),
so the result is always the one-shot call's.
"""
from __future__ import annotations

import atexit
import logging
import os
import re
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from typing import Sequence

log = logging.getLogger(__name__)

PAIR = "nno-nob"
ONE_SHOT = ["apertium", "-u", PAIR]  # -u: no marks on unknown words
TIMEOUT = 600  # seconds for one request, as for the one-shot call
_CHUNK = 1 << 16
# Blocks are joined with separator lines for the deformatter and the reformatter (never for the
# pipeline itself); apertium-destxt escapes the brackets, apertium-retxt gives them back.
_TEXT_SEP = "\n.[][SEP {n}]\n"
_DEFORMATTED_SEP_RE = re.compile(r"\[\n\]\.\\\[\\\]\\\[SEP (\d+)\\\]\[\n\]")
_DEFORMATTED_SEP = "[\n].\\[\\]\\[SEP {n}\\][\n]"
_REFORMATTED_SEP_RE = re.compile(r"\n\.\[\]\[SEP (\d+)\]\n")
_TEXT_END = ".[][\n]"  # how apertium-destxt ends a text that ends with a newline


class PipelineError(RuntimeError):
    """The long-running pipeline failed on a request (it is then closed)."""


def run_once(payload: str) -> str | None:
    """Output of one ``apertium -u nno-nob`` call on ``payload``; None (logged) if it fails."""
    res = subprocess.run(ONE_SHOT, input=payload, capture_output=True, text=True, timeout=TIMEOUT)
    if res.returncode != 0:
        log.warning("apertium failed (%s): %s", res.returncode, res.stderr[:500])
        return None
    return res.stdout


def translate_blocks(blocks: Sequence[str]) -> list[str | None]:
    """What ``apertium -u nno-nob`` prints for each block alone, followed by a newline.

    ``blocks`` are stripped, non-empty texts (ValueError otherwise). The
    result for block ``b`` is ``run_once(b + "\n")`` (None where Apertium
    fails on it), computed by this process's long-running pipeline in one
    request; see the module docstring for the fallbacks.
    """
    blocks = list(blocks)
    for b in blocks:
        if not b or b != b.strip():
            raise ValueError(f"an Apertium block must be stripped and non-empty: {b[:60]!r}")
    if not blocks:
        return []
    if any("\0" in b for b in blocks):  # the NUL ends a request in the pipeline
        return [run_once(b + "\n") for b in blocks]
    with _LOCK:
        for attempt in (1, 2):
            pipe = _pipeline()
            if pipe is None:
                break
            try:
                return pipe.translate_blocks(blocks)
            except (PipelineError, OSError, subprocess.SubprocessError, UnicodeDecodeError) as exc:
                log.warning("apertium pipeline failed (%s) on attempt %d", exc, attempt)
                _close(broken=True)
    log.warning("apertium: one-shot call for each of %d block(s) (slow)", len(blocks))
    return [run_once(b + "\n") for b in blocks]


def _environment() -> dict[str, str]:
    """The environment the ``apertium`` script gives its programs: a UTF-8 LC_CTYPE, its folder first in PATH."""
    env = dict(os.environ)
    res = subprocess.run(["locale", "-a"], capture_output=True, text=True, timeout=30)
    utf8 = [name for name in res.stdout.splitlines() if re.search(r"utf[.-]*8", name, re.IGNORECASE)]
    if not utf8:
        raise PipelineError("no UTF-8 locale installed")
    env["LC_CTYPE"] = utf8[0]
    exe = shutil.which("apertium")
    if exe is None:
        raise PipelineError("apertium not on PATH")
    bindir = os.environ.get("APERTIUM_PATH") or os.path.dirname(os.path.realpath(exe))
    env["PATH"] = f"{bindir}:{env.get('PATH', '')}"
    return env


def _mode_script(env: dict[str, str]) -> str:
    """The pair's pipeline as a shell command with null-flush (``-z``) on every program.

    The mode file is looked up where the ``apertium`` script looks by
    default (``APERTIUM_DATADIR``, else ``<prefix>/share/apertium``).
    """
    bindir = env["PATH"].split(":", 1)[0]
    datadir = os.environ.get("APERTIUM_DATADIR") or os.path.join(os.path.dirname(bindir), "share", "apertium")
    mode = os.path.join(datadir, "modes", f"{PAIR}.mode")
    if not os.path.isfile(mode):
        raise PipelineError(f"mode file {mode} not found")
    res = subprocess.run(["apertium-wblank-mode", "-z", mode], capture_output=True, text=True, env=env, timeout=30)
    if res.returncode != 0 or not res.stdout.strip():
        raise PipelineError(f"apertium-wblank-mode failed: {res.stderr[:200]}")
    return res.stdout


class _Pipeline:
    """One running null-flush pipeline, owned by the process that started it (or that took it over: ``_take_spare``)."""

    def __init__(self) -> None:
        self.env = _environment()
        script = _mode_script(self.env)
        self.owner = self.started_in = os.getpid()
        self.stderr = tempfile.TemporaryFile()
        # $1 = -n (no unknown-word marks, as -u), $2 = no tagger option: as the apertium script calls the mode.
        self.proc = subprocess.Popen(
            ["bash", "-c", script, "apertium", "-n", ""],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=self.env,
            start_new_session=True,  # its own process group, so that it can be killed as a whole
        )
        self.stdin = self.proc.stdin.fileno()
        self.stdout = self.proc.stdout.fileno()
        os.set_blocking(self.stdin, False)

    def translate_blocks(self, blocks: list[str]) -> list[str]:
        """Deformat, translate and reformat stripped blocks, each on its own; raises PipelineError on any trouble."""
        joined = "".join(b + (_TEXT_SEP.format(n=i) if i < len(blocks) - 1 else "\n") for i, b in enumerate(blocks))
        pieces = _cut(self._filter("apertium-destxt", joined.encode("utf-8")).decode("utf-8"), _DEFORMATTED_SEP_RE,
                      len(blocks), "deformatted")
        sections = [piece + _TEXT_END for piece in pieces[:-1]] + pieces[-1:]
        if not sections[-1].endswith(_TEXT_END):
            raise PipelineError("unexpected end of the deformatted text")
        data = "".join(section + "\0" for section in sections).encode("utf-8")
        if data.count(b"\0") != len(sections):
            raise PipelineError("a NUL character in the deformatted text")
        answers = self._exchange(data, len(sections), time.monotonic() + TIMEOUT).decode("utf-8").split("\0")[:-1]
        rejoined = "".join(a + (_DEFORMATTED_SEP.format(n=i) if i < len(answers) - 1 else "") for i, a in enumerate(answers))
        text = self._filter("apertium-retxt", rejoined.encode("utf-8")).decode("utf-8")
        text = text.replace("\r\n", "\n").replace("\r", "\n")  # as subprocess.run(text=True) reads it
        return _cut(text, _REFORMATTED_SEP_RE, len(blocks), "reformatted")

    def _filter(self, program: str, data: bytes) -> bytes:
        res = subprocess.run([program], input=data, capture_output=True, env=self.env, timeout=TIMEOUT)
        if res.returncode != 0:
            raise PipelineError(f"{program} failed ({res.returncode}): {res.stderr[:200]!r}")
        return res.stdout

    def _exchange(self, data: bytes, answers: int, deadline: float) -> bytes:
        """Write ``data`` (``answers`` NUL-ended requests) and read as many NUL-ended answers, both at once."""
        self.stderr.seek(0)
        self.stderr.truncate()
        view = memoryview(data)
        sent = 0
        received = 0
        chunks: list[bytes] = []
        with selectors.DefaultSelector() as sel:
            sel.register(self.stdin, selectors.EVENT_WRITE)
            sel.register(self.stdout, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PipelineError(f"no answer within {TIMEOUT} s")
                for key, _ in sel.select(remaining):
                    if key.fd == self.stdin:
                        try:
                            sent += os.write(self.stdin, view[sent : sent + _CHUNK])
                        except BlockingIOError:
                            continue
                        except OSError as exc:  # BrokenPipeError: the pipeline died
                            raise PipelineError(f"cannot write: {exc}; {self._errors()}") from exc
                        if sent == len(data):
                            sel.unregister(self.stdin)
                        continue
                    chunk = os.read(self.stdout, _CHUNK)
                    if not chunk:
                        raise PipelineError(f"the pipeline ended; {self._errors()}")
                    chunks.append(chunk)
                    received += chunk.count(b"\0")
                    if received >= answers:
                        out = b"".join(chunks)
                        if sent < len(data) or received > answers or not out.endswith(b"\0"):
                            raise PipelineError("answers out of step with the requests")
                        return out

    def running(self) -> bool:
        """Whether the pipeline's first process is still there.

        Only the process that started the pipeline can wait for it; one that
        took it over asks whether the process exists (an ended one that its
        starter has not waited for yet still does: the next request then
        fails and a new pipeline is started).
        """
        if self.started_in == os.getpid():
            return self.proc.poll() is None
        try:
            os.kill(self.proc.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return True

    def _errors(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read(500).decode("utf-8", "replace")

    def _close_pipes(self) -> None:
        for f in (self.proc.stdin, self.proc.stdout, self.stderr):
            try:
                f.close()
            except OSError:
                pass

    def close(self, broken: bool = False) -> None:
        """End the pipeline: close its input (it then exits), kill its process group if it lingers.

        A pipeline taken over from the process that started it (a spare, see
        :func:`start_spares`) cannot be waited for here, and its input stays
        open in its starter: it ends when :func:`release_spares` closes that
        too (its programs then exit on their own, so the CPU time they used
        is accounted to the run), or at once if it is ``broken`` (it failed a
        request or its first program ended): then its process group is
        killed here. Its starter reaps it.
        """
        if self.started_in != os.getpid():
            self.abandon()
            if broken:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except OSError:
                    pass
            return
        self._close_pipes()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait()

    def abandon(self) -> None:
        """In a forked child: drop the inherited copy (close our pipe ends, leave the parent's processes alone)."""
        self._close_pipes()
        self.proc.returncode = 0  # never waited on here: it is the parent's child


def _cut(text: str, separator: re.Pattern, n: int, what: str) -> list[str]:
    """``text`` cut at ``n - 1`` numbered separators (0, 1, ... in order); PipelineError if they are not all there."""
    parts = separator.split(text)
    pieces, numbers = parts[0::2], parts[1::2]
    if numbers != [str(i) for i in range(n - 1)]:
        raise PipelineError(f"the separators of the {what} text are out of step")
    return pieces


_LOCK = threading.Lock()
_PIPE: _Pipeline | None = None
_FAILED_IN: int | None = None  # pid of a process where the pipeline could not be started


def _pipeline() -> _Pipeline | None:
    """This process's pipeline, started on first use (None if it cannot be started here)."""
    global _PIPE, _FAILED_IN
    if _PIPE is not None and _PIPE.owner != os.getpid():
        _forget_inherited()
    if _PIPE is not None and not _PIPE.running():
        _close(broken=True)
    if _PIPE is None and _FAILED_IN != os.getpid():
        try:
            _PIPE = _take_spare() or _Pipeline()
        except (OSError, subprocess.SubprocessError, PipelineError) as exc:
            log.warning("cannot start a long-running apertium pipeline (%s); one-shot calls instead", exc)
            _FAILED_IN = os.getpid()
            return None
        _register_exit_hooks()
    return _PIPE


def _close(broken: bool = False) -> None:
    """Close this process's pipeline (``broken``: it failed; see :meth:`_Pipeline.close`)."""
    global _PIPE
    pipe, _PIPE = _PIPE, None
    if pipe is not None and pipe.owner == os.getpid():
        pipe.close(broken)


def _forget_inherited() -> None:
    global _PIPE
    pipe, _PIPE = _PIPE, None
    if pipe is not None and pipe.owner != os.getpid():
        pipe.abandon()


# Pipelines that a parent started for the worker processes it is about to fork: (claim, pipeline).
# The claim is the read end of a pipe that holds one byte: the one process that reads it takes the pipeline.
_SPARES: list[tuple[int, _Pipeline]] = []


def start_spares(count: int) -> int:
    """Start ``count`` pipelines now, for as many processes forked from this one to take over, one each.

    A pipeline loads its transducers and grammars before it answers. A
    parent that starts the pipelines of its workers while it loads what they
    share, with a core to spare, saves each worker that time on its first
    request. A worker takes one on first use
    (:func:`_pipeline`); it translates as a pipeline of its own would (each
    request on its own, in null-flush mode). Returns how many were started;
    :func:`release_spares` ends them.
    """
    started = 0
    for _ in range(count):
        try:
            pipe = _Pipeline()
        except (OSError, subprocess.SubprocessError, PipelineError) as exc:
            log.warning("cannot start an apertium pipeline ahead for a worker (%s)", exc)
            break
        claim, token = os.pipe()
        os.write(token, b"1")
        os.close(token)
        os.set_blocking(claim, False)
        _SPARES.append((claim, pipe))
        started += 1
    return started


def _take_spare() -> _Pipeline | None:
    """A pipeline that an ancestor of this process started ahead and no other process took (None if none).

    The process that started the spares never takes one (they are for its
    workers). This process's copies of the other spares are closed, so that
    each spare ends once the process that took it and its starter close it.
    """
    if not _SPARES or _SPARES[0][1].started_in == os.getpid():
        return None
    taken = None
    for claim, pipe in _SPARES:
        try:
            won = taken is None and os.read(claim, 1) == b"1" and pipe.running()
        except OSError:
            won = False
        os.close(claim)
        if won:
            pipe.owner = os.getpid()
            taken = pipe
        else:
            pipe.abandon()
    _SPARES.clear()
    return taken


def release_spares() -> None:
    """End the pipelines this process started ahead (:func:`start_spares`), once the workers that took them are gone.

    The input of each is closed here (all first, so that they end at the
    same time); a pipeline ends when the worker that took it has closed it
    too, and is waited for (killed if it lingers). Spares inherited from a
    parent are only closed here.
    """
    mine = []
    for claim, pipe in _SPARES:
        os.close(claim)
        if pipe.started_in == os.getpid():
            pipe._close_pipes()
            mine.append(pipe)
        else:
            pipe.abandon()
    _SPARES.clear()
    for pipe in mine:
        pipe.close()


_HOOKS_IN: int | None = None


def _register_exit_hooks() -> None:
    """Close the pipeline when this process ends (workers of a pool skip atexit, hence the finaliser)."""
    global _HOOKS_IN
    if _HOOKS_IN == os.getpid():
        return
    _HOOKS_IN = os.getpid()
    atexit.register(_close)
    from multiprocessing import util

    util.Finalize(None, _close, exitpriority=10)


def _after_fork_in_child() -> None:
    global _LOCK
    _LOCK = threading.Lock()  # the parent's lock may have been held by another thread at the fork
    _forget_inherited()


os.register_at_fork(after_in_child=_after_fork_in_child)
