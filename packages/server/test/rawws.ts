import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { onTestFinished } from 'vitest'

/** A raw TCP WebSocket client: the handshake by hand, then any bytes (for frames a real client never sends). */
export function rawConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    onTestFinished(() => {
      socket.destroy()
    })
    let head = Buffer.alloc(0)
    socket.on('error', () => {})
    socket.once('connect', () => {
      socket.write(
        'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
          'Sec-WebSocket-Protocol: cubby.v1\r\n\r\n',
      )
    })
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk])
      if (head.indexOf('\r\n\r\n') < 0) return
      socket.off('data', onData)
      if (!head.subarray(0, 12).toString().includes('101')) reject(new Error(head.toString()))
      else resolve(socket)
    }
    socket.on('data', onData)
    socket.once('close', () => reject(new Error('closed during the handshake')))
  })
}

/** A masked client frame (binary unless `opcode` says otherwise). */
export function maskedFrame(payload: Uint8Array, opcode = 2): Buffer {
  const data = Buffer.from(payload)
  const mask = randomBytes(4)
  let head: Buffer
  if (data.length < 126) head = Buffer.from([0x80 | opcode, 0x80 | data.length])
  else if (data.length < 65536) {
    head = Buffer.alloc(4)
    head[0] = 0x80 | opcode
    head[1] = 0x80 | 126
    head.writeUInt16BE(data.length, 2)
  } else {
    head = Buffer.alloc(10)
    head[0] = 0x80 | opcode
    head[1] = 0x80 | 127
    head.writeBigUInt64BE(BigInt(data.length), 2)
  }
  for (let i = 0; i < data.length; i++) data[i] = data[i]! ^ mask[i & 3]!
  return Buffer.concat([head, mask, data])
}
