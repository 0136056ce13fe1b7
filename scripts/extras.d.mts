/** The repository's `.extras` directory (packages installed by scripts/ensure-extras.mjs). */
export declare const extrasDir: string
/** Imports `name` from `.extras/node_modules`. */
// biome-ignore lint/suspicious/noExplicitAny: an untyped module from outside the lockfile
export declare function importExtra(name: string): Promise<any>
