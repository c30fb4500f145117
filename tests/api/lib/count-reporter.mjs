// count-reporter.mjs - a node:test reporter that counts what really happened, for
// scripts/test.sh (`--test-reporter=./tests/api/lib/count-reporter.mjs`).
//
// node's own totals cannot be trusted for a pass/fail verdict: a test that hits its
// timeout or is cancelled because its describe()'s before() threw counts as
// "cancelled", a failing after() hook of a describe() counts nowhere, and a file that
// defines no test at all is reported as one passing test. This reporter counts the
// leaf tests (not the describe() suites, not the per-file wrappers) and adds a
// failure for everything else that did not pass:
//
//   passed    a leaf test that passed and was not skipped
//   failed    a leaf test that failed, timed out or was cancelled (a before() hook
//             that threw cancels the tests of its suite: each counts); plus one per
//             suite or file that failed on its own (an after() hook that threw, a
//             describe() callback that threw, a file whose process exited non-zero or
//             was killed at its time limit) when none of its tests failed already;
//             plus one per file that ran no test (and per file of LC_TEST_FILES, the
//             files the runner passed, that reported nothing)
//   skipped   a leaf test or a whole describe() marked skip (a skipped suite counts
//             once: node does not say how many tests it holds)
//   todo      a test marked todo (scripts/test.sh counts it as failed)
//
// At the end it writes one JSON object: {passed, failed, skipped, todo, failures:
// [{file, test, why}], skips: [{file, test, why}], files: {FILE: {passed, failed,
// skipped, todo}}}. No output at all means the run did not finish: a failure.
import path from 'node:path';

export default async function* countReporter(source) {
    const files = new Map();
    const failures = [];
    const skips = [];
    const stateOf = (file) => {
        let s = files.get(file);
        if (!s) {
            s = { passed: 0, failed: 0, skipped: 0, todo: 0, failedBelow: [] };
            files.set(file, s);
        }
        return s;
    };
    const rel = (f) => (f ? path.relative(process.cwd(), f) : '(unknown file)');
    const why = (d) => {
        const e = d.details?.error;
        const type = e?.failureType ?? 'failed';
        const msg = String(e?.cause?.message ?? e?.message ?? '').split('\n')[0].slice(0, 300);
        return msg ? `${type}: ${msg}` : type;
    };

    for await (const ev of source) {
        if (ev.type !== 'test:pass' && ev.type !== 'test:fail') continue;
        const d = ev.data;
        const file = d.file ?? '';
        const s = stateOf(file);
        const isFile = d.nesting === 0 && file && path.resolve(String(d.name)) === file;
        const isSuite = d.details?.type === 'suite';
        if (isFile) {
            // Reported only when the file itself failed, or when it defined no test.
            if (ev.type === 'test:fail' && s.failed === 0) {
                s.failed++;
                failures.push({ file: rel(file), test: '(the file)', why: why(d) });
            } else if (ev.type === 'test:pass' && s.passed + s.failed + s.skipped + s.todo === 0) {
                s.failed++;
                failures.push({ file: rel(file), test: '(the file)', why: 'ran no tests' });
            }
            continue;
        }
        if (isSuite) {
            const below = s.failedBelow[d.nesting] ?? 0;
            s.failedBelow[d.nesting] = 0;
            if (ev.type === 'test:pass' && d.skip !== undefined) {
                s.skipped++;
                skips.push({ file: rel(file), test: `${d.name} (whole suite)`, why: String(d.skip || 'skipped') });
            } else if (ev.type === 'test:fail' && below === 0 &&
                d.details?.error?.failureType !== 'subtestsFailed') {
                s.failed++;
                for (let k = 0; k < d.nesting; k++) s.failedBelow[k] = (s.failedBelow[k] ?? 0) + 1;
                failures.push({ file: rel(file), test: `${d.name} (suite)`, why: why(d) });
            }
            continue;
        }
        if (ev.type === 'test:pass' && d.skip !== undefined) {
            s.skipped++;
            skips.push({ file: rel(file), test: d.name, why: String(d.skip || 'skipped') });
        } else if (d.todo !== undefined) {
            s.todo++;
            failures.push({ file: rel(file), test: d.name, why: `todo: ${d.todo || ''}` });
        } else if (ev.type === 'test:pass') {
            s.passed++;
        } else {
            s.failed++;
            for (let k = 0; k < d.nesting; k++) s.failedBelow[k] = (s.failedBelow[k] ?? 0) + 1;
            failures.push({ file: rel(file), test: d.name, why: why(d) });
        }
    }

    // Every file named by the runner must have run at least one test.
    for (const f of (process.env.LC_TEST_FILES ?? '').split(/\s+/).filter(Boolean)) {
        const abs = path.resolve(f);
        const s = stateOf(abs);
        if (s.passed + s.failed + s.skipped + s.todo === 0) {
            s.failed++;
            failures.push({ file: rel(abs), test: '(the file)', why: 'ran no tests' });
        }
    }
    const out = { passed: 0, failed: 0, skipped: 0, todo: 0, failures, skips, files: {} };
    for (const [file, s] of files) {
        for (const k of ['passed', 'failed', 'skipped', 'todo']) out[k] += s[k];
        out.files[rel(file)] = { passed: s.passed, failed: s.failed, skipped: s.skipped, todo: s.todo };
    }
    yield JSON.stringify(out) + '\n';
}
