import { Connection } from './connection.js'

/** Open connections of this process, by URL and timeout: backends of one server share one socket. */
const connections = new Map<string, Connection>()

/** A connection to `url` (shared with other backends of the same URL and timeout); release it with `release`. */
export function acquire(url: string, timeoutMs: number): Connection {
  const key = `${timeoutMs} ${url}`
  let connection = connections.get(key)
  if (!connection) {
    connection = new Connection({ url, timeoutMs })
    connections.set(key, connection)
    const made = connection
    const close = made.close.bind(made)
    made.close = () => {
      if (connections.get(key) === made) connections.delete(key)
      close()
    }
  }
  connection.refs++
  return connection
}

/** Gives a connection back; the last user closes it. */
export function release(connection: Connection): void {
  connection.refs--
  if (connection.refs <= 0) connection.close()
}
