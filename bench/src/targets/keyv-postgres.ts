import KeyvPostgres from '@keyv/postgres'
import Keyv from 'keyv'
import { keyvTarget } from './keyv.js'
import type { Target } from './target.js'

/** keyv@5 with @keyv/postgres: what users would otherwise pick on PostgreSQL. */
export async function keyvPostgresTarget(url: string): Promise<Target> {
  return keyvTarget(new Keyv({ store: new KeyvPostgres({ uri: url, table: 'keyv_bench' }), namespace: 'bench' }))
}
