import type { IncomingMessage } from 'node:http'
import { isIPv6 } from 'node:net'

/**
 * The address a connection's unauthenticated budget is counted under: IPv4 as is (also when it arrives as an
 * IPv4-mapped IPv6 address), IPv6 by its /64 prefix — one host usually holds a whole /64, so counting single IPv6
 * addresses would let it open a budget per address.
 */
export function addressKey(address: string | undefined): string {
  if (!address) return 'unknown'
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return mapped[1]!
  if (!isIPv6(address)) return address
  const zoneless = address.split('%')[0]!
  const [head = '', tail] = zoneless.split('::')
  const front = head === '' ? [] : head.split(':')
  const back = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? front : [...front, ...Array(8 - front.length - back.length).fill('0'), ...back]
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`
}

/** The default `clientAddress`: the peer of the TCP connection, grouped by `addressKey`. */
export const socketAddress = (request: IncomingMessage): string => addressKey(request.socket.remoteAddress)
