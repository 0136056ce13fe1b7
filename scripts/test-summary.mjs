// Reads vitest's JSON report and prints the one line CI reads: "N passed, N failed".
// Exits non-zero when a test failed, a file failed to load, or the test command itself failed.
import { existsSync, readFileSync } from 'node:fs'

const [file, status = '0'] = process.argv.slice(2)
let passed = 0
let failed = 0
if (file && existsSync(file)) {
  const report = JSON.parse(readFileSync(file, 'utf8'))
  passed = report.numPassedTests ?? 0
  failed = report.numFailedTests ?? 0
  // A test file that failed to load (syntax error, failed hook) has no failing test but must fail CI.
  for (const suite of report.testResults ?? []) {
    if (suite.status === 'failed' && (suite.assertionResults ?? []).every((t) => t.status !== 'failed')) failed++
  }
}
if (Number(status) !== 0 && failed === 0) failed = 1 // the build or the runner failed before reporting
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed > 0 ? 1 : 0)
