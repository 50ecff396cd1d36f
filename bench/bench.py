"""Benchmark: the pipeline on synthetic corpora 10x and 100x the size of the seed boards.

Each corpus is built from the exports in data/raw: copy k of a board has
every line altered (filler words inserted at copy-specific positions, author
signatures and titles numbered), so nothing can be cached or deduplicated
while the structure of the layouts stays intact. For each corpus the script
runs the whole pipeline in a subprocess (``--jobs``), samples the memory of
its process tree, reads the per-stage timings the pipeline logs, and runs
the project's language model alone over the same text on one core: the
floor of this design.

Runs on a shared machine vary by about 10 %: with ``--repeat N`` the pipeline
and the model alone run N times each, alternating, and the fastest of each
are compared (as ``timeit`` reports the best of its runs); every run is kept
in the results, and the peak memory is the highest of all runs.

Usage: python bench/bench.py [--factors 10 100] [--jobs 2] [--repeat 3] [--out bench/results.json]
Never part of the test suite; `make bench` runs it.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline import config  # noqa: E402

FILLERS = ("også", "gjerne", "kanskje", "faktisk", "nok", "jo", "vel", "altså")
HEADER = re.compile(r"^(\s*)(.*?)(\s+\d{1,2}/\d{1,2}/\d{2,4}.*|\s+\d{1,2}\. [A-ZÆØÅa-zæøå]+ \d{4},.*)$")
# Lines that are structure, not text: end marker, reaction counts, links, a wrapped header's date or time.
MARKER = re.compile(r"^\s*(※+|\d+ \d+|https?://\S+|\d{1,2}/\d{1,2}/\d{2,4}|\d{1,2}\W\d{2}\s*[AP]M)\s*$")


def alter_line(line: str, copy: int, number: int) -> str:
    """The line of copy ``copy``, altered so that no two copies share a line, structure intact.

    Signatures get the copy's number after the name; running text gets
    copy-specific filler words in its second half; short lines (titles,
    names, list items) get the copy number in brackets at the end, which
    the parsers read as a remark, not as part of a group name.
    """
    if not line.strip() or MARKER.match(line):
        return line
    header = HEADER.match(line)
    if header and header.group(2):
        return f"{header.group(1)}{header.group(2)} {copy}{header.group(3)}"
    words = line.split(" ")
    if len(line) < 40:
        return f"{line.rstrip()} ({copy})"
    picks = (copy % 8, (copy // 8) % 8, (copy // 64 + number) % 8)
    for slot, pick in zip((len(words) // 2, len(words) * 3 // 4, len(words) - 1), picks):
        if 0 < slot < len(words) and words[slot - 1] and words[slot - 1][-1:].isalpha():
            words.insert(slot, FILLERS[pick])
    return " ".join(words)


def build_corpus(factor: int, raw_dir: Path, target: Path) -> int:
    """Write ``factor`` altered copies of every export; returns the number of words."""
    target.mkdir(parents=True, exist_ok=True)
    words = 0
    for path in sorted(raw_dir.glob("*.txt")):
        lines = path.read_text(encoding="utf-8").split("\n")
        for copy in range(factor):
            text = "\n".join(alter_line(line, copy, n) for n, line in enumerate(lines))
            (target / f"{path.stem}-copy{copy:03d}.txt").write_text(text, encoding="utf-8")
            words += len(text.split())
    return words


def _machine_steal_seconds() -> float | None:
    """CPU time the hypervisor gave to other guests while this machine wanted it ("steal", /proc/stat), so far."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _steal_since(before: float | None) -> float | None:
    """Seconds stolen since ``_machine_steal_seconds()`` gave ``before`` (rounded; None where unknown)."""
    after = _machine_steal_seconds()
    return None if before is None or after is None else round(after - before, 1)


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_pipeline(raw: Path, out: Path, jobs: int) -> dict:
    """Run `python -m pipeline all` in a subprocess; wall time, CPU time and peak memory (PSS) of its process tree,
    stage timings, and the CPU time stolen from this machine meanwhile.

    The CPU time counts every process of the tree that was waited for (the
    workers, their Apertium pipelines, the report's process): the work the
    run needs whatever the number of cores. Steal time above a second or so
    means the machine did not have its cores to itself, and the wall time
    then overstates what the pipeline needs.
    """
    cpu_before, steal_before = _children_cpu_seconds(), _machine_steal_seconds()
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    cmd = [sys.executable, "-m", "pipeline", "all", "--raw-dir", str(raw), "--out-dir", str(out),
           "--private-dir", str(out.parent / "private"), "--jobs", str(jobs), "--timings", str(out.parent / "timings.json")]
    start = time.perf_counter()
    proc = psutil.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak, peak_parts = 0, {}
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak, peak_parts
        while not stop.is_set():
            try:
                tree = [proc] + proc.children(recursive=True)
                # PSS: shared pages (libraries, copy-on-write) counted once across the tree, not per process.
                parts = {p.pid: p.memory_full_info().pss for p in tree if p.is_running()}
                if sum(parts.values()) > peak:
                    peak = sum(parts.values())
                    peak_parts = {("main" if pid == proc.pid else f"worker {pid}"): round(v / 2**20) for pid, v in parts.items()}
            except psutil.Error:
                pass
            time.sleep(1.0)  # a sample reads the PSS of ~30 processes (~35 ms of CPU): once a second keeps that small

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = proc.communicate()
    stop.set()
    sampler.join()
    wall = time.perf_counter() - start
    cpu = _children_cpu_seconds() - cpu_before
    steal = _steal_since(steal_before)
    if proc.returncode != 0:
        raise RuntimeError(f"pipeline failed ({proc.returncode}):\n{stderr.decode()[-3000:]}")
    timings = json.loads((out.parent / "timings.json").read_text(encoding="utf-8"))
    return {"wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 1),
            "machine_steal_seconds": steal,
            "peak_memory_mb": round(peak / 2**20, 1),
            "peak_memory_by_process_mb": peak_parts, "stages": timings}


def model_floor(out: Path) -> dict:
    """The project's language model alone over the same (cleaned) text, one core."""
    import pandas as pd

    from pipeline import io, nlp as nlp_module

    texts = io.read_table("posts", out)["text_clean"].fillna("").tolist()
    nlp = nlp_module.load()
    words = sum(len(t.split()) for t in texts)
    steal_before = _machine_steal_seconds()
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in nlp.pipe(texts, batch_size=64):
        pass
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    steal = _steal_since(steal_before)
    del pd
    return {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 1), "words": words,
            "words_per_second": round(words / seconds),
            "machine_steal_seconds": steal}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--factors", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of the pipeline and of the model alone per corpus; the fastest of each is compared")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    results = {"jobs": args.jobs, "cpu_count": os.cpu_count(), "corpora": {}}
    for factor in args.factors:
        with tempfile.TemporaryDirectory(prefix=f"bench{factor}x-") as tmp:
            raw = Path(tmp) / "raw"
            words = build_corpus(factor, config.RAW_DIR, raw)
            print(f"{factor}x: {words} words in {len(list(raw.iterdir()))} boards", flush=True)
            runs, floors = [], []
            for k in range(args.repeat):  # pipeline and model alone alternate, so both meet the same machine states
                runs.append(run_pipeline(raw, Path(tmp) / f"out{k}", args.jobs))
                floors.append(model_floor(Path(tmp) / f"out{k}"))
                print(f"  run {k + 1}: pipeline {runs[-1]['wall_seconds']} s ({runs[-1]['cpu_seconds']} CPU s, "
                      f"{runs[-1]['machine_steal_seconds']} s stolen), model alone {floors[-1]['seconds']} s "
                      f"({floors[-1]['cpu_seconds']} CPU s)", flush=True)
            run = min(runs, key=lambda r: r["wall_seconds"])
            floor = min(floors, key=lambda f: f["seconds"])
            run["words"] = words
            run["words_per_second"] = round(words / run["wall_seconds"])
            for stage in run["stages"].values():
                if stage.get("seconds"):
                    stage["words_per_second"] = round(words / stage["seconds"])
            run["model_alone_one_core"] = floor
            run["within_model_floor"] = run["wall_seconds"] <= floor["seconds"]
            highest = max(runs, key=lambda r: r["peak_memory_mb"])
            run["peak_memory_mb"] = highest["peak_memory_mb"]
            run["peak_memory_by_process_mb"] = highest["peak_memory_by_process_mb"]
            # CPU time does not depend on the cores the machine gives: a run within the floor's wall time on
            # `jobs` free cores needs a CPU time below `jobs` times the model's
            run["cpu_over_model_cpu"] = round(run["cpu_seconds"] / floor["cpu_seconds"], 2)
            run["all_runs"] = [{"wall_seconds": r["wall_seconds"], "model_alone_seconds": f["seconds"],
                                "cpu_seconds": r["cpu_seconds"], "model_alone_cpu_seconds": f["cpu_seconds"],
                                "machine_steal_seconds": r["machine_steal_seconds"],
                                "model_alone_machine_steal_seconds": f["machine_steal_seconds"],
                                "peak_memory_mb": r["peak_memory_mb"]} for r, f in zip(runs, floors)]
            results["corpora"][f"{factor}x"] = run
            print(json.dumps(run, indent=2), flush=True)
    if "10x" in results["corpora"] and "100x" in results["corpora"]:
        ratio = results["corpora"]["100x"]["wall_seconds"] / results["corpora"]["10x"]["wall_seconds"]
        results["scaling_100x_over_10x"] = round(ratio, 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
