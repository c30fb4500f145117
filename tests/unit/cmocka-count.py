#!/usr/bin/env python3
"""cmocka-count.py LOG.json NAMES - counts the cmocka tests of one `meson test` run.

LOG.json is meson's test log (meson-logs/<logbase>.json, one object per test
program); NAMES is a file naming, one a line, the test programs that run had to run
(the output of `meson test --list --suite S`: "project:suite / name").
Reads each program's standard output, where cmocka writes, per group,
"[==========] Running N test(s)." and then per test "[ RUN      ] t" followed by
"[       OK ] t", "[  FAILED  ] t", "[  ERROR   ] t" or "[  SKIPPED ] t". The unit
test programs are built with stdout line-buffered (tests/unit/line-buffered.c), so a
program that dies mid-way (a sanitizer report aborts it) leaves every line up to the
test it died in.

Per program, and in total:
  passed   tests with "[       OK ]"
  failed   tests with FAILED or ERROR; the test a crash interrupted and every test
           of a group that never reported (N from "Running N" minus the results
           seen); one more when the program failed (exit status, signal, meson
           timeout) without any failed test to show for it; a program that never
           reported, or ran no test at all, counts as one failed
  skipped  tests with "[  SKIPPED ]", and lines "[  SKIPPED ] <text>" outside a
           test (a program saying it skips a part, e.g. test-store without
           LC_TEST_PG_URL)

Prints one line per program ("unit-token: 5 passed, 0 failed, 0 skipped"), each
failure and skip with its reason ("  FAILED unit-token test_x: why"), and last
"TOTAL passed failed skipped". Exit status 0 always: the totals are the verdict.
"""
import json
import re
import sys

RUNNING = re.compile(r'^\[==========\] (?:.*: )?Running (\d+) test\(s\)\.')
RESULT = re.compile(r'^\[ +(RUN|OK|FAILED|ERROR|SKIPPED) +\] (.*)$')


def count(name, rec):
    """(passed, failed, skipped, notes) of one program's log record (None: missing)."""
    if rec is None:
        return 0, 1, 0, [f'FAILED {name}: did not run (no result in the meson log)']
    passed = failed = skipped = 0
    notes = []
    defined = 0  # sum of "Running N"
    results = 0  # tests that reported a result (or were interrupted)
    running = None  # the test between its RUN line and its result
    for line in rec.get('stdout', '').splitlines():
        m = RUNNING.match(line)
        if m:
            defined += int(m.group(1))
            continue
        m = RESULT.match(line)
        if not m:
            continue
        kind, what = m.group(1), m.group(2).strip()
        if kind == 'RUN':
            if running is not None:
                results += 1
                failed += 1
                notes.append(f'FAILED {name} {running}: no result')
            running = what
            continue
        if running is None or what != running:
            # not a test's result: the program's own note ("[  SKIPPED ] PostgreSQL ...")
            if kind == 'SKIPPED':
                skipped += 1
                notes.append(f'SKIPPED {name}: {what}')
            continue
        running = None
        results += 1
        if kind == 'OK':
            passed += 1
        elif kind == 'SKIPPED':
            skipped += 1
            notes.append(f'SKIPPED {name} {what}')
        else:
            failed += 1
            notes.append(f'FAILED {name} {what}')
    result = rec.get('result', '?')
    rc = rec.get('returncode')
    how = f'{result}, exit status {rc}'
    if running is not None:
        results += 1
        failed += 1
        notes.append(f'FAILED {name} {running}: interrupted ({how})')
    if defined > results:
        failed += defined - results
        notes.append(f'FAILED {name}: {defined - results} test(s) never ran ({how})')
    if result != 'OK' or rc != 0:
        if failed == 0:
            failed = 1
            notes.append(f'FAILED {name}: the program failed ({how}) with no failed test to show')
    elif defined == 0:
        failed += 1
        notes.append(f'FAILED {name}: ran no tests')
    return passed, failed, skipped, notes


def main():
    log = sys.argv[1]
    with open(sys.argv[2], encoding='utf-8') as f:
        names = [line.strip() for line in f if line.strip()]
    recs = {}
    try:
        with open(log, encoding='utf-8') as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    recs[r['name']] = r
    except FileNotFoundError:
        pass
    tp = tf = ts = 0
    for full in names or sorted(recs):
        name = full.split(' / ')[-1]
        p, f, s, notes = count(name, recs.get(full))
        print(f'{name}: {p} passed, {f} failed, {s} skipped')
        for n in notes:
            print('  ' + n)
        tp, tf, ts = tp + p, tf + f, ts + s
    if not names and not recs:
        tf += 1
        print('  FAILED: no test program ran')
    print(f'TOTAL {tp} {tf} {ts}')


if __name__ == '__main__':
    main()
