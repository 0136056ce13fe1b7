/** Tests start their own PostgreSQL: see `src/testing/server.ts` (also used by the bench). */
export { startPostgres, type TestPostgres } from '../../src/testing/index.js'
