#!/usr/bin/env python3
"""Checks the C++ sources of src/ and apps/: no line over 120 characters, no function over 100 lines.

A function is a definition that opens at column 0 (clang-format puts every function of a .cpp file
there, and the tree obeys .clang-format) and closes with the matching "}" at column 0; its length
counts the lines from its signature to that brace. Usage: scripts/check-style.py [FILE...]
"""
import pathlib
import re
import sys

MAX_LINE, MAX_FUNCTION = 120, 100
NOT_FUNCTIONS = re.compile(r"^(namespace|struct|class|enum|union|extern|template\s*<[^>]*>\s*(struct|class))\b")


def functions(lines):
    """(first line, last line, name) of every column-0 definition with a body."""
    start = None
    for k, line in enumerate(lines):
        if start is None and line[:1] not in ("", " ", "#", "/", "}") and not NOT_FUNCTIONS.match(line):
            start = k
        if start is not None and (line.startswith(";") or (line.rstrip().endswith(";") and k == start)):
            start = None  # a declaration
        if start is not None and line.startswith("}"):
            yield start, k, lines[start].strip()
            start = None
        elif line.startswith(("namespace", "}  // namespace")):
            start = None


def check(path):
    problems = []
    lines = path.read_text().split("\n")
    for k, line in enumerate(lines, 1):
        if len(line) > MAX_LINE:
            problems.append(f"{path}:{k}: line of {len(line)} characters (at most {MAX_LINE})")
    for first, last, name in functions(lines):
        if last - first + 1 > MAX_FUNCTION:
            problems.append(f"{path}:{first + 1}: function of {last - first + 1} lines (at most {MAX_FUNCTION}): {name}")
    return problems


def main(argv):
    root = pathlib.Path(__file__).resolve().parent.parent
    files = [pathlib.Path(a) for a in argv] or sorted(
        p for d in ("src", "apps") for p in (root / d).rglob("*") if p.suffix in (".cpp", ".h"))
    problems = [p for f in files for p in check(f)]
    print("\n".join(problems) if problems else f"check-style: {len(files)} files: lines <= {MAX_LINE}, "
          f"functions <= {MAX_FUNCTION} lines")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
