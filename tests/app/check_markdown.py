#!/usr/bin/env python3
"""Checks the repository's Markdown as a reader meets it (test_docs.sh).

1. Code fences close: inside a ``` block only a bare ``` line closes it; a
   ```lang line there means the previous block was never closed, and what
   follows (headings included) would render as code.
2. Relative links resolve: [text](path#anchor) names a file or directory of
   the repository, and the anchor is an explicit <a id="..."> of the target
   or the GitHub slug of one of its headings.

Usage: check_markdown.py FILE.md...   Prints one line per problem
("file:line: ..."); exit 1 when there is one.
"""
import os
import re
import sys

FENCE = re.compile(r"^(\s*)```(.*)$")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
ANCHOR = re.compile(r'<a id="([^"]+)"')
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


def slug(heading):
    """GitHub's anchor of a heading: lower case, punctuation but - and _ dropped, spaces to -."""
    text = re.sub(r"`|\*\*|\*", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def prose_lines(path):
    """(line number, text) of the lines outside code blocks; fence problems as (line, None, message)."""
    out, problems, opened = [], [], None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = FENCE.match(line.rstrip("\n"))
            if m and opened is None:
                opened = n
                continue
            if m and opened is not None:
                if m.group(2).strip():
                    problems.append(f"{path}:{n}: code fence '```{m.group(2).strip()}' inside the block opened on "
                                    f"line {opened}: close that block first")
                    opened = n
                else:
                    opened = None
                continue
            if opened is None:
                out.append((n, line.rstrip("\n")))
    if opened is not None:
        problems.append(f"{path}:{opened}: code fence never closed")
    return out, problems


def anchors(path, cache={}):
    if path not in cache:
        lines, _ = prose_lines(path)
        found = set()
        for _, text in lines:
            found.update(ANCHOR.findall(text))
            h = HEADING.match(text)
            if h:
                found.add(slug(h.group(1)))
        cache[path] = found
    return cache[path]


def check(path):
    lines, problems = prose_lines(path)
    for n, text in lines:
        text = re.sub(r"`[^`]*`", "", text)  # links inside inline code are not links
        for target in LINK.findall(text):
            if re.match(r"^[a-z]+:", target):
                continue  # http:, mailto:
            file, _, anchor = target.partition("#")
            dest = os.path.normpath(os.path.join(os.path.dirname(path), file)) if file else path
            if not os.path.exists(dest):
                problems.append(f"{path}:{n}: link to '{target}': {dest} does not exist")
            elif anchor and dest.endswith(".md") and anchor not in anchors(dest):
                problems.append(f"{path}:{n}: link to '{target}': no heading or <a id> '{anchor}' in {dest}")
    return problems


def main(files):
    problems = [p for f in files for p in check(f)]
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
