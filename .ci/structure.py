#!/usr/bin/env python3
"""The shape of src/: import cycles between files, and functions longer than a limit.

Usage: python3 .ci/structure.py [--max-lines 60] [--list]
Prints one summary line per measure (and, with --list, every cycle and long function).
Reads the Rust files as text: a file is a module; `use crate::a::b`, `super::…` paths, inline
`crate::a::b::` paths and paths from a child module (`status::render`) are its imports (resolved
to the longest file module they name). A child's use of its own ancestors is not counted.
"""
import argparse
import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def module_of(path):
    rel = os.path.relpath(path, SRC)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return tuple(rel)


def files():
    for root, _, names in os.walk(SRC):
        for n in names:
            if n.endswith(".rs"):
                yield os.path.join(root, n)


def strip_comments_and_strings(text):
    """The code with comments removed and every string and char literal emptied (a string-aware
    scan: `"http://"` is a string, not a comment; `'a` is a lifetime, not a char)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        if text.startswith("/*", i):
            depth = 0
            while i < n:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                    if depth == 0:
                        break
                else:
                    if text[i] == "\n":
                        out.append("\n")
                    i += 1
            continue
        raw = re.match(r'(?:b?r)(#*)"', text[i:]) if c in "br" and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")) else None
        if raw:
            end = '"' + raw.group(1)
            j = text.find(end, i + raw.end())
            j = n if j < 0 else j + len(end)
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j
            continue
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j + 1
            continue
        if c == "'":
            m = re.match(r"'(?:\\.[^']*|[^'\\])'", text[i:])
            if m:
                out.append("' '")
                i += m.end()
                continue
        out.append(c)
        i += 1
    return "".join(out)


def resolve(mod, parts, modules):
    """The file module a path from `mod` names (longest known prefix), or None."""
    parts = list(parts)
    if not parts:
        return None
    if parts[0] == "crate":
        base = []
        parts = parts[1:]
    elif parts[0] in ("super", "self"):
        base = list(mod)
        while parts and parts[0] in ("super", "self"):
            if parts[0] == "super" and base:
                base.pop()
            parts = parts[1:]
    else:
        return None
    full = base + parts
    for n in range(len(full), 0, -1):
        if tuple(full[:n]) in modules:
            return tuple(full[:n])
    return None


def imports(text):
    out = []
    for m in re.finditer(r"\buse\s+((?:crate|super|self)(?:::\w+)*)(?:::\{([^;]*)\})?", text, re.S):
        head = m.group(1).split("::")
        if m.group(2):
            for item in re.split(r",", m.group(2)):
                item = item.strip().split(" as ")[0].strip()
                item = re.sub(r"\{.*", "", item).strip(": ")
                if item:
                    out.append(head + item.split("::"))
        else:
            out.append(head)
    for m in re.finditer(r"\b((?:crate|super)(?:::\w+)+)", text):
        out.append(m.group(1).split("::"))
    # A path that starts at a child module (`status::render`, `use status::X`): `self::` implied.
    for m in re.finditer(r"(?<![\w:])(\w+)::\w+", text):
        out.append(["self", m.group(1)])
    return out


def graph():
    texts = {module_of(p): strip_comments_and_strings(open(p, encoding="utf-8").read()) for p in files()}
    modules = set(texts)
    edges = {m: set() for m in modules}
    for mod, text in texts.items():
        for parts in imports(text):
            target = resolve(mod, parts, modules)
            # A child reading what its parent module holds for its children (`super::Result`)
            # is how a Rust module is built, not a cycle between files; a parent using its
            # child, and any sibling or cross edge, counts.
            if target and target != mod and mod[: len(target)] != target:
                edges[mod].add(target)
    return edges


def cycles(edges):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def long_functions(limit):
    found = []
    for p in sorted(files()):
        raw = open(p, encoding="utf-8").read()
        text = strip_comments_and_strings(raw)
        lines = text.split("\n")
        in_tests = None
        for i, line in enumerate(lines):
            if re.match(r"\s*mod tests\b", line):
                in_tests = i
            m = re.search(r"\bfn\s+(\w+)", line)
            if not m or in_tests is not None:
                continue
            depth, started, end = 0, False, None
            for j in range(i, len(lines)):
                for ch in lines[j]:
                    if ch == "{":
                        depth += 1
                        started = True
                    elif ch == "}":
                        depth -= 1
                if started and depth <= 0:
                    end = j
                    break
                if not started and lines[j].rstrip().endswith(";"):
                    break
            if end is not None and end - i + 1 > limit:
                found.append((end - i + 1, os.path.relpath(p, os.path.join(SRC, "..")), i + 1, m.group(1)))
    return sorted(found, reverse=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-lines", type=int, default=60)
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    cyc = cycles(graph())
    longs = long_functions(a.max_lines)
    print(f"import cycles between files: {len(cyc)}")
    if a.list:
        for c in cyc:
            print("  cycle: " + " <-> ".join("::".join(m) or "crate" for m in c))
    print(f"functions over {a.max_lines} lines: {len(longs)}")
    if a.list:
        for n, path, line, name in longs:
            print(f"  {n:4} {path}:{line} {name}")


if __name__ == "__main__":
    main()
