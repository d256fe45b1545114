// The last lines `npm test` prints: each step's result and time, and the test runner's counts in its own
// summary form, read from its JSON report (the runner prints them too, but far above the later steps).
import { existsSync, readFileSync } from 'node:fs';

const ALL_STEPS = [
  'lint',
  'typecheck',
  'tests',
  'API fuzzing, quick form',
  'benchmark, quick form',
  'chaos test, short form',
];

/** Counts of a vitest JSON report (`--reporter=json`), or undefined when the run wrote none. */
export function vitestCounts(reportPath) {
  if (!existsSync(reportPath)) return undefined;
  const report = JSON.parse(readFileSync(reportPath, 'utf8'));
  const files = report.testResults ?? [];
  return {
    files: files.length,
    failedFiles: files.filter((f) => f.status === 'failed').map((f) => f.name),
    tests: report.numTotalTests,
    passed: report.numPassedTests,
    failed: report.numFailedTests,
    skipped: (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0),
  };
}

/** The summary block: one line a step (`not run` after a failure), then the test counts. */
export function summary(steps, reportPath, code) {
  const lines = [`[test] summary: ${code === 0 ? 'every step passed' : `failed (exit ${code})`}`];
  for (const name of ALL_STEPS) {
    const done = steps.find((s) => s.name === name);
    const result = done ? (done.code === 0 ? 'passed' : `FAILED (exit ${done.code})`) : 'not run';
    const time = done ? `${Math.round(done.seconds)} s` : '';
    lines.push(`  ${name.padEnd(26)} ${result.padEnd(16)} ${time.padStart(6)}`);
  }
  const counts = vitestCounts(reportPath);
  if (counts) {
    const passedFiles = counts.files - counts.failedFiles.length;
    const fileParts = [
      ...(counts.failedFiles.length ? [`${counts.failedFiles.length} failed`] : []),
      `${passedFiles} passed`,
    ];
    const testParts = [
      ...(counts.failed ? [`${counts.failed} failed`] : []),
      `${counts.passed} passed`,
      ...(counts.skipped ? [`${counts.skipped} skipped`] : []),
    ];
    lines.push(` Test Files  ${fileParts.join(' | ')} (${counts.files})`);
    lines.push(`      Tests  ${testParts.join(' | ')} (${counts.tests})`);
    for (const name of counts.failedFiles) lines.push(`  failed: ${name}`);
    // The plain closing line CI reads to count what ran ("N passed, N failed" alone on a line): without
    // it, the fuzzer's pytest-style "== 2 warnings in 164s ==" above was taken for a run of no test.
    lines.push(
      `tests: ${counts.passed} passed, ${counts.failed} failed${counts.skipped ? `, ${counts.skipped} skipped` : ''}`,
    );
  }
  return lines.join('\n');
}
