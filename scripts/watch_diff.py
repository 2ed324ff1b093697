"""What ansible-core said differently to the role's tests on two versions (scripts/watch).

    python scripts/watch_diff.py RELEASE_LOG PRE_RELEASE_LOG RELEASE_RC PRE_RELEASE_RC

Each log is ansible's own (ANSIBLE_LOG_PATH) over every playbook run of the
tests. Its warnings, deprecation notices and errors are compared once each,
with what varies between runs (temporary paths, numbers, host names of the
tests' fleets) written out of them.
"""

import re
import sys

# "2026-12-06 04:08:25,552 p=18069 u=root n=ansible WARNING| " (older releases: "n=ansible | ").
STARTS = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ p=\d+ u=\S+ n=\S+(?: [A-Z]+)? ?\| ")
KINDS = ("[DEPRECATION WARNING]", "[WARNING]", "[ERROR]", "ERROR!")
STRATEGY = "strategy"
# What differs between two runs of the same test, not between two versions of ansible-core.
VARYING = [
    (re.compile(r"/tmp/\S+"), "<tmp>"),
    (re.compile(r"\b(?:web|db|app|node|host|cache|canary|full|left|ghost)-?\d*\b"), "<host>"),
    (re.compile(r"\d+(\.\d+)?"), "<n>"),
    (re.compile(r"\s+"), " "),
]


def notices(path):
    """{normalized notice: how many times it was displayed} of one ansible log."""
    found = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return found
    records, current = [], None
    for line in lines:
        if STARTS.match(line):
            current = [STARTS.sub("", line)]
            records.append(current)
        elif current is not None:
            current.append(line)
    for record in records:
        text = " ".join(part.strip() for part in record).strip()
        if not text.startswith(KINDS):
            continue
        for pattern, replacement in VARYING:
            text = pattern.sub(replacement, text)
        found[text] = found.get(text, 0) + 1
    return found


def show(title, messages, counts):
    print("%s: %d" % (title, len(messages)))
    for text in sorted(messages):
        print("  - (%dx) %s" % (counts[text], text[:400]))


def main(release_log, pre_log, release_rc, pre_rc):
    before, after = notices(release_log), notices(pre_log)
    print("The role's tests: %s on the release, %s on the pre-release." % (
        "passed" if release_rc == "0" else "FAILED", "passed" if pre_rc == "0" else "FAILED"))
    show("New on the pre-release", set(after) - set(before), after)
    show("Gone on the pre-release", set(before) - set(after), before)
    show("On both", set(before) & set(after), after)
    strategy = [text for text in after if STRATEGY in text.lower()]
    if any("invalid play strategy" in text.lower() for text in strategy):
        print("RISK: the pre-release refuses the collection's strategy; the role cannot run on it.")
    elif strategy:
        print("The known risk, third-party strategies: deprecated, still loaded.")
    else:
        print("The known risk, third-party strategies: no notice about strategies at all on the pre-release.")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
