#!/usr/bin/env python3
"""Checks of the tree as a whole, run by ctest (label `unit`).

  check_tree.py links        every link in README.md and docs/ resolves
                             inside the repository (file and #anchor)
  check_tree.py configs      every config key is defined once in the sources
                             (tests aside)
  check_tree.py boundaries   every module includes only what its layer may

Each prints what is wrong, one line per finding, and exits 1 if anything is.
"""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def tracked(*patterns):
    out = subprocess.run(["git", "ls-files", *patterns], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return [ROOT / line for line in out.splitlines() if (ROOT / line).is_file()]


# --- links -----------------------------------------------------------------

FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)


def prose(text):
    return CODE_SPAN.sub("", FENCE.sub("", text))


def anchors(text):
    """GitHub's heading ids: lower case, punctuation dropped, spaces to '-'."""
    seen = {}
    out = set()
    for heading in HEADING.findall(FENCE.sub("", text)):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def check_links():
    problems = []
    for doc in [ROOT / "README.md", *tracked("docs/*.md")]:
        for target in LINK.findall(prose(doc.read_text())):
            if re.match(r"[a-z]+:", target):
                continue  # http:, https:, mailto:
            path, _, anchor = target.partition("#")
            dest = (doc.parent / path).resolve() if path else doc
            where = f"{doc.relative_to(ROOT)}: link '{target}'"
            if ROOT not in dest.parents and dest != ROOT:
                problems.append(f"{where} points outside the repository")
            elif not dest.exists():
                problems.append(f"{where}: no such file")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest.read_text()):
                problems.append(f"{where}: no heading with that anchor")
    return problems


# --- configs ---------------------------------------------------------------

DEFINE = re.compile(r"Define\(\{\s*\.name\s*=\s*([^,}]+)")


def check_configs():
    seen = {}
    problems = []
    for src in tracked("*.cc", "*.h"):
        if src.name.endswith("_test.cc"):
            continue  # tests define tables of their own
        for m in DEFINE.finditer(src.read_text()):
            name = m.group(1).strip()
            line = src.read_text().count("\n", 0, m.start()) + 1
            where = f"{src.relative_to(ROOT)}:{line}"
            if name in seen:
                problems.append(f"{where}: config key {name} is also defined at {seen[name]}")
            else:
                seen[name] = where
    if not seen:
        problems.append("no config definitions found: the pattern no longer matches the code")
    return problems


# --- boundaries ------------------------------------------------------------

INCLUDE = re.compile(r'^#include "([^"]+)"', re.M)
MODULES = ("common", "storage", "raft", "controller", "broker", "client", "tools", "tests",
           "bench")

# The record batch format and the rules over it (library samsa_records): the
# part of storage/ the client may use.
RECORD_FORMAT = {f"storage/{n}.h" for n in (
    "record_batch", "batch_builder", "batch_filter", "record_reader", "compression",
    "producer_state")}
RAFT_CORE = {"raft/raft", "raft/raft_log", "raft/types"}


def allowed(src, header):
    module = src.split("/")[0]
    top = header.split("/")[0]
    if top == module or top == "common":
        return True
    if module == "storage":
        return False
    if module == "raft":
        if any(src.startswith(core + ".") or src.startswith(core + "_test.")
               for core in RAFT_CORE):
            return False  # the core: no I/O, no storage, nothing but common/
        return top == "storage"
    if module == "controller":
        return top in ("raft", "storage")
    if module == "broker":
        return top == "storage"
    if module == "client":
        return header in RECORD_FORMAT
    if module == "tools":
        return top == "client"
    return True  # tests/, bench/: everything


def check_boundaries():
    problems = []
    for src in tracked("*.cc", "*.h"):
        rel = str(src.relative_to(ROOT))
        if rel.split("/")[0] not in MODULES:
            continue
        for header in INCLUDE.findall(src.read_text()):
            if header.split("/")[0] in MODULES and not allowed(rel, header):
                problems.append(f"{rel}: includes {header}, outside what its layer may use")
    return problems


CHECKS = {"links": check_links, "configs": check_configs, "boundaries": check_boundaries}


def main(argv):
    names = argv[1:] or list(CHECKS)
    if any(n not in CHECKS for n in names):
        sys.exit(f"usage: {argv[0]} [{'|'.join(CHECKS)}]...")
    problems = [p for n in names for p in CHECKS[n]()]
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
