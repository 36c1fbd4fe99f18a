/** IPv4 ranges a server-side fetch must never reach: this host, private networks, link-local, CGNAT, multicast, reserved. */
const BLOCKED_V4: readonly [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
]

function parseV4(text: string): number | undefined {
  const parts = text.split('.')
  if (parts.length !== 4) return undefined
  let value = 0
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined
    value = value * 256 + Number(part)
  }
  return value
}

/** Parses an IPv6 address (with `::` and an embedded dotted IPv4 tail) into 8 groups. */
function parseV6(text: string): number[] | undefined {
  const address = text.replace(/^\[|\]$/g, '').split('%')[0] ?? ''
  let tail: number[] = []
  let head = address
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(address)
  if (dotted?.[1]) {
    const v4 = parseV4(dotted[1])
    if (v4 === undefined) return undefined
    tail = [v4 >>> 16, v4 & 0xffff]
    head = address.slice(0, -dotted[1].length)
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1)
  }
  const halves = head.split('::')
  if (halves.length > 2) return undefined
  const groups = (s: string | undefined) => (s ? s.split(':') : [])
  const left = groups(halves[0])
  const right = groups(halves[1])
  if ([...left, ...right].some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return undefined
  const fill = 8 - left.length - right.length - tail.length
  if (halves.length === 1 ? fill !== 0 : fill < 1) return undefined
  return [...left.map((g) => parseInt(g, 16)), ...Array<number>(halves.length === 1 ? 0 : fill).fill(0), ...right.map((g) => parseInt(g, 16)), ...tail]
}

function v4Blocked(value: number): boolean {
  return BLOCKED_V4.some(([base, bits]) => {
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0
    return (value & mask) >>> 0 === ((parseV4(base) as number) & mask) >>> 0
  })
}

function v6Blocked(g: number[]): boolean {
  const [a = 0, b = 0, c = 0] = g
  const zeroPrefix = (n: number) => g.slice(0, n).every((x) => x === 0)
  const embeddedV4 = ((g[6] ?? 0) * 65536 + (g[7] ?? 0)) >>> 0
  if (zeroPrefix(8)) return true // ::
  if (zeroPrefix(7) && g[7] === 1) return true // ::1
  if (zeroPrefix(5) && g[5] === 0xffff) return v4Blocked(embeddedV4) // IPv4-mapped ::ffff:0:0/96
  if (zeroPrefix(4) && g[4] === 0xffff && g[5] === 0) return v4Blocked(embeddedV4) // IPv4-translated ::ffff:0:0:0/96 (SIIT)
  if (zeroPrefix(6)) return true // deprecated IPv4-compatible ::/96
  if (a === 0x64 && b === 0xff9b) {
    // Well-known NAT64 64:ff9b::/96 reaches the embedded IPv4; the local-use 64:ff9b:1::/48 and the rest of the /32 reach the operator's own networks.
    return g.slice(2, 6).every((x) => x === 0) ? v4Blocked(embeddedV4) : true
  }
  if (a === 0x2002) return v4Blocked(((b << 16) | c) >>> 0) // 6to4
  if (a === 0x2001 && b === 0) return true // Teredo 2001::/32 (tunnels to an obfuscated IPv4)
  if (a === 0x2001 && b === 0x0002 && c === 0) return true // benchmarking 2001:2::/48
  if (a === 0x2001 && (b & 0xfff0) === 0x0010) return true // ORCHID 2001:10::/28
  if (a === 0x2001 && b === 0x0db8) return true // documentation
  if ((a & 0xfe00) === 0xfc00) return true // unique local fc00::/7
  if ((a & 0xffc0) === 0xfe80) return true // link-local fe80::/10
  if ((a & 0xffc0) === 0xfec0) return true // site-local (deprecated)
  if ((a & 0xff00) === 0xff00) return true // multicast
  if (a === 0x0100 && g.slice(1, 4).every((x) => x === 0)) return true // discard-only 100::/64
  return false
}

/** Whether `text` is an IP address literal (v4 dotted, or v6 with or without brackets). */
export function isIpLiteral(text: string): boolean {
  return parseV4(text) !== undefined || parseV6(text) !== undefined
}

/**
 * Whether a server-side fetch may connect to this address: false for loopback, private (RFC 1918, CGNAT),
 * link-local, unique-local, multicast, reserved and documentation ranges; for IPv6 forms that carry an IPv4
 * address (mapped `::ffff:0:0/96`, translated `::ffff:0:0:0/96`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) the
 * embedded IPv4 decides; local-use NAT64 `64:ff9b:1::/48` and Teredo are refused whole, as is anything that
 * does not parse as an address.
 */
export function isPublicAddress(address: string): boolean {
  const v4 = parseV4(address)
  if (v4 !== undefined) return !v4Blocked(v4)
  const v6 = parseV6(address)
  if (v6 !== undefined) return !v6Blocked(v6)
  return false
}
