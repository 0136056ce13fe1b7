// Compares request/response round trips of a small payload over node:http2 streams (h2c, one session) and over one
// `ws` WebSocket, on loopback, server in its own process: sequential, and 100 requests in flight. Not a test; run it
// with `node packages/server/scripts/compare-transports.mjs [rounds] [reps]`. Prints ops/s (median of `reps`, the two
// transports interleaved) and CPU microseconds per round trip on each side. See PROTOCOL.md, "Why WebSocket".
import { spawn } from 'node:child_process'
import http2 from 'node:http2'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'

const ROUNDS = Number(process.argv[2] ?? 20_000)
const REPS = Number(process.argv[3] ?? 5)
const IN_FLIGHT = 100
/** About the size of a GET request frame and its answer for a short key and a 100-byte value. */
const REQUEST = Buffer.alloc(32, 1)
const ANSWER = Buffer.alloc(120, 2)

if (process.argv[2] === '--serve') {
  const { WebSocketServer } = await import('ws')
  const h2 = http2.createServer()
  h2.on('stream', (stream) => {
    stream.on('data', () => {})
    stream.on('end', () => {
      stream.respond({ ':status': 200 })
      stream.end(ANSWER)
    })
  })
  await new Promise((resolve) => h2.listen(0, '127.0.0.1', resolve))
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
  await new Promise((resolve) => wss.once('listening', resolve))
  wss.on('connection', (socket) => {
    socket.on('message', (data) => {
      // Echo the request id (first 4 bytes) in front of the answer, as the Cubby protocol does.
      const out = Buffer.allocUnsafe(4 + ANSWER.length)
      data.copy(out, 0, 0, 4)
      ANSWER.copy(out, 4)
      socket.send(out)
    })
  })
  process.stdin.on('data', () => {
    const { user, system } = process.cpuUsage()
    process.stdout.write(`cpu ${user + system}\n`)
  })
  process.stdout.write(`ready ${h2.address().port} ${wss.address().port}\n`)
} else {
  await compare()
}

async function compare() {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  let onLine = () => {}
  let pending = ''
  child.stdout.on('data', (chunk) => {
    pending += chunk
    let end = pending.indexOf('\n')
    while (end >= 0) {
      onLine(pending.slice(0, end))
      pending = pending.slice(end + 1)
      end = pending.indexOf('\n')
    }
  })
  const nextLine = () => new Promise((resolve) => (onLine = resolve))
  const [, h2Port, wsPort] = (await nextLine()).split(' ').map(Number)
  const serverCpu = async () => {
    const line = nextLine()
    child.stdin.write('x\n')
    return Number((await line).split(' ')[1])
  }

  const session = http2.connect(`http://127.0.0.1:${h2Port}`)
  await new Promise((resolve, reject) => session.once('connect', resolve).once('error', reject))
  const h2Call = () =>
    new Promise((resolve, reject) => {
      const stream = session.request({ ':method': 'POST', ':path': '/get' })
      const chunks = []
      stream.on('data', (chunk) => chunks.push(chunk))
      stream.on('end', () => resolve(Buffer.concat(chunks)))
      stream.on('error', reject)
      stream.end(REQUEST)
    })

  const socket = new WebSocket(`ws://127.0.0.1:${wsPort}`, { perMessageDeflate: false })
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject))
  const waiting = new Map()
  let nextId = 1
  socket.on('message', (data) => {
    const id = data.readUInt32LE(0)
    const resolve = waiting.get(id)
    waiting.delete(id)
    resolve(data)
  })
  const wsCall = () =>
    new Promise((resolve) => {
      const id = nextId++
      const frame = Buffer.from(REQUEST)
      frame.writeUInt32LE(id, 0)
      waiting.set(id, resolve)
      socket.send(frame)
    })

  const sequential = async (call) => {
    for (let i = 0; i < ROUNDS; i++) await call()
  }
  const concurrent = async (call) => {
    let started = 0
    const worker = async () => {
      while (started < ROUNDS) {
        started++
        await call()
      }
    }
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
  }
  const measure = async (call, shape) => {
    const server0 = await serverCpu()
    const client0 = process.cpuUsage()
    const t0 = performance.now()
    await shape(call)
    const seconds = (performance.now() - t0) / 1000
    const client = process.cpuUsage(client0)
    const server = (await serverCpu()) - server0
    return {
      ops: ROUNDS / seconds,
      clientUs: (client.user + client.system) / ROUNDS,
      serverUs: server / ROUNDS,
    }
  }

  const cases = [
    ['http2 stream per request', 'sequential', h2Call, sequential],
    ['WebSocket frame per request', 'sequential', wsCall, sequential],
    ['http2 stream per request', `${IN_FLIGHT} in flight`, h2Call, concurrent],
    ['WebSocket frame per request', `${IN_FLIGHT} in flight`, wsCall, concurrent],
  ]
  for (const [, , call, shape] of cases) await measure(call, shape) // warm-up
  const results = cases.map(() => [])
  for (let rep = 0; rep < REPS; rep++) {
    for (const [i, [, , call, shape]] of cases.entries()) results[i].push(await measure(call, shape))
  }
  const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]
  console.log(
    `${new Date().toISOString().slice(0, 10)} · ${cpus().length} cores · Node ${process.version} · ${ROUNDS} round ` +
      `trips × ${REPS} reps (median) · load average ${loadavg()
        .map((n) => n.toFixed(1))
        .join(' ')}\n`,
  )
  console.log('| transport | shape | round trips/s | client CPU µs/op | server CPU µs/op |')
  console.log('|---|---|---:|---:|---:|')
  for (const [i, [name, shapeName]] of cases.entries()) {
    const r = results[i]
    console.log(
      `| ${name} | ${shapeName} | ${Math.round(median(r.map((x) => x.ops))).toLocaleString('en')} | ` +
        `${median(r.map((x) => x.clientUs)).toFixed(1)} | ${median(r.map((x) => x.serverUs)).toFixed(1)} |`,
    )
  }
  session.close()
  socket.close()
  child.kill()
}
