/**
 * `@cubby/cli`: the `cubby` command line. `run(argv, io)` runs it in-process; the transfer functions are the
 * building blocks of `export`, `import` and `migrate`, usable from code.
 */
export { type Connection, type ConnectOptions, connect, redactUrl, resolveUrl } from './connection.js'
export { CliError, EXIT, type ExitCode } from './exit-codes.js'
export * from './export-format.js'
export type { CliIO } from './io.js'
export { run } from './program.js'
export { formatScope, parseScope } from './scope-arg.js'
export { type ExportOptions, type ExportStats, exportStore } from './transfer/export.js'
export { type ImportOptions, type ImportStats, importStore } from './transfer/import.js'
export { type MigrateOptions, type MigrateReport, migrateStore } from './transfer/migrate.js'
export { type Difference, type VerifyOptions, type VerifyReport, verifyCopy } from './transfer/verify.js'
