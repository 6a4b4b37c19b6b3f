// Under CI=true a skipped test is a failure: an integration test that quietly skips on a machine without
// Nix, sshd or root would otherwise let CI pass without testing anything real.
import type { Reporter, TestModule } from 'vitest/node';

export default class NoSkipsReporter implements Reporter {
  onTestRunEnd(testModules: readonly TestModule[]): void {
    if (process.env.CI !== 'true') return;
    const skipped: string[] = [];
    for (const mod of testModules) {
      for (const test of mod.children.allTests('skipped')) skipped.push(`${mod.moduleId} > ${test.fullName}`);
    }
    if (skipped.length === 0) return;
    console.error(`\nCI=true and ${skipped.length} test(s) were skipped; a skip is a failure here:`);
    for (const name of skipped) console.error(`  - ${name}`);
    process.exitCode = 1;
  }
}
