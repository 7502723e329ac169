import type { Reporter, TestModule } from 'vitest/node';

/** Prints the plain closing line CI reads: "tests: N passed, N failed[, N skipped]". */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>) {
    const counts = { passed: 0, failed: 0, skipped: 0, pending: 0 };
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) counts[test.result().state] += 1;
      if (mod.state() === 'failed' && [...mod.children.allTests()].length === 0) counts.failed += 1; // a file that failed to load
    }
    const skipped = counts.skipped + counts.pending;
    console.log(`\ntests: ${counts.passed} passed, ${counts.failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  }
}
