/**
 * `@cubby/backend-postgres/testing`: a throwaway PostgreSQL server for tests and the bench — `initdb` into a
 * temporary directory, `pg_ctl` on a free loopback port, stopped by `stop()` and shut down if the test process exits
 * first. Needs Debian's postgresql (`/usr/lib/postgresql/N/bin`) or CUBBY_PG_BIN; without it, it fails with an
 * install hint.
 */
export { postgresBin, startPostgres, type TestPostgres, type TestPostgresOptions } from './server.js'
