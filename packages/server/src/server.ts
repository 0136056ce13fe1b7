import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { FrameWriter, PROTOCOL_VERSION, SUBPROTOCOL, writeHello } from '@cubby/backend-remote/wire'
import { rawScopeAt } from '@cubby/core/raw'
import { WebSocketServer } from 'ws'
import { ServerConnection, type ServerShared } from './connection.js'
import { type CubbyServerOptions, resolveServerOptions } from './options.js'
import { ConnectionSlots } from './slots.js'
import { RawScopes } from './views.js'
import { WatchRegistry } from './watches.js'

/**
 * Serves an open cubby over the Cubby remote protocol (packages/server/PROTOCOL.md). Mount it on an existing
 * `node:http` server with `server.on('upgrade', cubbyServer.handleUpgrade)` (and optionally
 * `cubbyServer.handleRequest` for plain requests), or let it listen on its own with `listen()`.
 */
export class CubbyServer {
  private readonly shared: ServerShared
  private readonly wss: WebSocketServer
  private readonly connections = new Set<ServerConnection>()
  private readonly hello: Uint8Array
  private ticker: NodeJS.Timeout | undefined
  private http: Server | undefined
  private closing = false

  constructor(options: CubbyServerOptions) {
    const resolved = resolveServerOptions(options)
    const root = rawScopeAt(resolved.cubby, [])
    this.shared = {
      options: resolved,
      clock: resolved.clock ?? (() => root.now()),
      cubby: resolved.cubby,
      raw: new RawScopes(resolved.cubby, { verifyValues: resolved.verifyValues }),
      watches: new WatchRegistry(resolved.watchResumeMs, resolved.watchReplay),
      slots: new ConnectionSlots(
        resolved.maxUnauthenticated,
        resolved.maxConnectionsPerContext,
        resolved.maxUnauthenticatedPerAddress,
      ),
    }
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: resolved.maxFrameBytes,
      // Frames are small and values already compact: compression would cost CPU on both sides for every frame.
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    })
    const { limits, backend } = resolved.cubby
    const w = new FrameWriter()
    writeHello(w, {
      version: PROTOCOL_VERSION,
      maxFrameBytes: resolved.maxFrameBytes,
      maxInFlight: resolved.maxInFlight,
      maxKeyBytes: limits.maxKeyBytes,
      maxValueBytes: limits.maxValueBytes,
      maxBatchSize: limits.maxBatchSize,
      maxPageSize: limits.maxPageSize,
      ttl: backend.capabilities.ttl,
      watch: backend.capabilities.watch,
      quotas: backend.capabilities.quotas,
      persistent: backend.capabilities.persistent,
      minQuotaDepth: backend.capabilities.minQuotaDepth,
      backend: backend.name,
    })
    this.hello = w.finish().slice()
  }

  /** Connections currently open. */
  get connectionCount(): number {
    return this.connections.size
  }

  /**
   * The `'upgrade'` listener of a `node:http` server: takes over WebSocket requests for the Cubby protocol.
   * Connections still in their HTTP handshake are the host server's: bound them there (`headersTimeout` and
   * `requestTimeout` of a few seconds, `connectionsCheckingInterval` well below them), or slow handshakes hold sockets
   * that no limit of this server counts.
   */
  readonly handleUpgrade = (request: IncomingMessage, socket: Socket, head: Buffer): void => {
    const refuse = (status: string, message: string) => {
      socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${message}\n`)
      socket.destroy()
    }
    if (this.closing) {
      refuse('503 Service Unavailable', 'the server is closing')
      return
    }
    if (this.connections.size >= this.shared.options.maxConnections) {
      refuse('503 Service Unavailable', 'too many connections; retry later')
      return
    }
    const { allowedOrigins, clientAddress } = this.shared.options
    const origin = request.headers.origin
    if (allowedOrigins && origin !== undefined && !allowedOrigins.has(origin.toLowerCase())) {
      refuse('403 Forbidden', 'this origin may not connect (allowedOrigins)')
      return
    }
    let address: string
    try {
      address = String(clientAddress(request))
    } catch {
      refuse('500 Internal Server Error', 'the clientAddress option failed on this request')
      return
    }
    const refusal = this.shared.slots.refusal(address)
    if (refusal) {
      refuse(
        '503 Service Unavailable',
        refusal === 'address'
          ? 'too many connections from this address waiting to authenticate; retry later'
          : 'too many connections waiting to authenticate; retry later',
      )
      return
    }
    const offered = String(request.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
    if (!offered.includes(SUBPROTOCOL)) {
      refuse('400 Bad Request', `this server speaks the ${SUBPROTOCOL} WebSocket subprotocol`)
      return
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      const connection = new ServerConnection(this.shared, ws, socket, (gone) => {
        this.connections.delete(gone)
        this.shared.slots.closed(gone)
      })
      this.shared.slots.opened(connection, address)
      this.connections.add(connection)
      this.startTicker()
      ws.send(this.hello)
    })
  }

  /** A `'request'` listener for plain HTTP requests: answers 426, since the protocol runs over WebSocket. */
  readonly handleRequest = (_request: IncomingMessage, response: ServerResponse): void => {
    response.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket', Connection: 'Upgrade' })
    response.end(`this is a Cubby server: connect with a WebSocket client using subprotocol ${SUBPROTOCOL}\n`)
  }

  /**
   * Listens on its own HTTP server (loopback by default), with the header timeout bounding slow handshakes.
   * Resolves with the bound address.
   */
  listen(port = 0, host = '127.0.0.1'): Promise<AddressInfo> {
    const { authTimeoutMs } = this.shared.options
    const http = createServer({
      headersTimeout: authTimeoutMs,
      requestTimeout: authTimeoutMs,
      // Node checks those timeouts only this often (30 s by default), so a slow handshake would outlive them.
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(authTimeoutMs / 4))),
    })
    http.on('request', this.handleRequest)
    http.on('upgrade', this.handleUpgrade)
    this.http = http
    return new Promise((resolve, reject) => {
      http.once('error', reject)
      http.listen(port, host, () => {
        http.off('error', reject)
        resolve(http.address() as AddressInfo)
      })
    })
  }

  /** Closes every connection and watch, and the server `listen()` opened (the cubby stays open: it is yours). */
  async close(): Promise<void> {
    this.closing = true
    clearInterval(this.ticker)
    for (const connection of [...this.connections]) connection.kill(1001, 'server closing')
    this.shared.watches.closeAll()
    this.wss.close()
    const http = this.http
    if (http) {
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
    }
  }

  private startTicker(): void {
    if (this.ticker) return
    const { authTimeoutMs, idleTimeoutMs, bodyTimeoutMs, pingIntervalMs, pongTimeoutMs } = this.shared.options
    const shortest = Math.min(authTimeoutMs, idleTimeoutMs, bodyTimeoutMs, pingIntervalMs, pongTimeoutMs)
    const period = Math.max(20, Math.min(1000, Math.floor(shortest / 4)))
    this.ticker = setInterval(() => {
      const now = Date.now()
      const clockNow = this.shared.clock()
      for (const connection of [...this.connections]) connection.tick(now, clockNow)
    }, period)
    this.ticker.unref()
  }
}

/** Creates a server for `options.cubby`; see `CubbyServer`. */
export function createCubbyServer(options: CubbyServerOptions): CubbyServer {
  return new CubbyServer(options)
}
