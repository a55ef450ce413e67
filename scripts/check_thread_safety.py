#!/usr/bin/env python3
"""Clang's thread-safety analysis over every Samsa source, run by test.sh.

  check_thread_safety.py [BUILD_DIR]     (default: build)

The default build is g++, which ignores ABSL_GUARDED_BY and the other lock
annotations. This compiles each translation unit of BUILD_DIR's
compile_commands.json again with clang++-14, syntax only (no code is
generated, so it costs a fraction of a build), with the unit's own flags
(-Wall -Wextra -Werror) plus -Wthread-safety: a variable read without its
mutex, a lock not released, a function called without the lock it requires
fail the check like any other error. Generated protobuf code is skipped.
JOBS sets the parallelism (default 2). Prints each failing unit's
diagnostics and a summary line; exits 1 if any unit failed.
"""

import json
import os
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLANG = "clang++-14"
EXTRA = ["-fsyntax-only", "-Wthread-safety"]


def clang_command(entry):
    """The unit's g++ command as a clang syntax-only one: same defines,
    includes, standard and warnings; no output, optimization or debug info."""
    args = shlex.split(entry["command"])[1:]
    out = [CLANG]
    skip_next = False
    for a in args:
        if skip_next:
            skip_next = False
        elif a == "-o":
            skip_next = True
        elif a == "-c" or a == "-g" or a.startswith("-O"):
            continue
        else:
            out.append(a)
    return out + EXTRA


def check(entry):
    p = subprocess.run(clang_command(entry), cwd=entry["directory"], capture_output=True,
                       text=True)
    return entry["file"], p.returncode, p.stderr


# A unit the analysis must refuse: if this compiles, the annotations are
# off (a macro, a header, a clang that ignores them) and a clean tree would
# prove nothing.
PLANTED = """
#include "absl/synchronization/mutex.h"
struct Planted {
  absl::Mutex mu;
  int value ABSL_GUARDED_BY(mu) = 0;
  int Read() { return value; }
};
"""


def analysis_works(entry):
    command = [a for a in clang_command(entry) if a != entry["file"]]
    p = subprocess.run(command + ["-x", "c++", "-"], input=PLANTED, cwd=entry["directory"],
                       capture_output=True, text=True)
    return p.returncode != 0 and "requires holding mutex" in p.stderr


def main():
    build = ROOT / (sys.argv[1] if len(sys.argv) > 1 else "build")
    db = build / "compile_commands.json"
    if not db.is_file():
        print(f"check_thread_safety: {db} not found: build first (scripts/build.sh)",
              file=sys.stderr)
        return 2
    entries = [e for e in json.loads(db.read_text())
               if not Path(e["file"]).resolve().is_relative_to(build.resolve())]
    if not analysis_works(entries[0]):
        print("check_thread_safety: clang accepted a read of a guarded variable without its "
              "mutex: the analysis is not running", file=sys.stderr)
        return 1
    failed = 0
    with ThreadPoolExecutor(int(os.environ.get("JOBS", "2"))) as pool:
        for file, code, diagnostics in pool.map(check, entries):
            if code != 0:
                failed += 1
                print(f"--- {Path(file).relative_to(ROOT)}\n{diagnostics}", end="")
    print(f"check_thread_safety: {len(entries)} units, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
