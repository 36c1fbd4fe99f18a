import { ErrorResponse } from '@genimage/shared'
import { describe, expect, it } from 'vitest'
import { isIpLiteral, isPublicAddress } from '../src/inputs/ip-ranges.ts'
import { edgeWith, form, oipPeer } from './fixtures.ts'

/** Address → whether a server-side fetch may connect to it, with why. */
const TABLE: [address: string, isPublic: boolean, why: string][] = [
  ['::ffff:127.0.0.1', false, 'IPv4-mapped loopback, dotted'],
  ['::ffff:7f00:1', false, 'IPv4-mapped loopback, as the URL parser writes it'],
  ['0:0:0:0:0:ffff:7f00:1', false, 'IPv4-mapped loopback, uncompressed'],
  ['::FFFF:A9FE:A9FE', false, 'IPv4-mapped metadata address, upper case'],
  ['::ffff:0:0', false, 'IPv4-mapped 0.0.0.0'],
  ['::ffff:c0a8:101', false, 'IPv4-mapped 192.168.1.1'],
  ['::ffff:808:808', true, 'IPv4-mapped 8.8.8.8'],
  ['::ffff:0:7f00:1', false, 'IPv4-translated (SIIT) loopback'],
  ['::ffff:0:a00:1', false, 'IPv4-translated 10.0.0.1'],
  ['::ffff:0:808:808', true, 'IPv4-translated 8.8.8.8'],
  ['64:ff9b::7f00:1', false, 'well-known NAT64 of loopback'],
  ['64:ff9b::10.0.0.1', false, 'well-known NAT64 of 10.0.0.1, dotted'],
  ['64:ff9b::a9fe:a9fe', false, 'well-known NAT64 of the metadata address'],
  ['64:ff9b::c612:1', false, 'well-known NAT64 of benchmarking 198.18.0.1'],
  ['64:ff9b::808:808', true, 'well-known NAT64 of 8.8.8.8'],
  ['64:ff9b:1::808:808', false, 'local-use NAT64 64:ff9b:1::/48, even with a public tail'],
  ['64:ff9b:1:ffff::1', false, 'local-use NAT64, other layout'],
  ['64:ff9b:0:1::808:808', false, 'outside the /96 in 64:ff9b::/32 (unassigned)'],
  ['::7f00:1', false, 'deprecated IPv4-compatible'],
  ['2002:7f00:1::', false, '6to4 of loopback'],
  ['2002:808:808::1', true, '6to4 of 8.8.8.8'],
  ['2001::1', false, 'Teredo'],
  ['2001:2::1', false, 'benchmarking'],
  ['2001:db8::1', false, 'documentation'],
  ['fe80::1%eth0', false, 'link-local with a zone'],
  ['fd00::1', false, 'unique local'],
  ['2606:4700:4700::1111', true, 'public IPv6'],
  ['2001:4860:4860::8888', true, 'public IPv6 in 2001::/16 outside the special blocks'],
]

describe('isPublicAddress', () => {
  it('judges each address of the table', () => {
    for (const [address, isPublic, why] of TABLE) {
      expect({ address, why, literal: isIpLiteral(address.split('%')[0] as string), isPublic: isPublicAddress(address) }).toEqual({
        address,
        why,
        literal: true,
        isPublic,
      })
    }
  })

  /** What reaches the filter is `new URL(...).hostname`, which Node normalises: the filter must judge that form. */
  const normalisedByUrlParser: [url: string, hostname: string][] = [
    ['http://[::ffff:127.0.0.1]/', '[::ffff:7f00:1]'],
    ['http://[0:0:0:0:0:ffff:127.0.0.1]/', '[::ffff:7f00:1]'],
    ['http://[::ffff:0:127.0.0.1]/', '[::ffff:0:7f00:1]'],
    ['http://[64:ff9b::127.0.0.1]/', '[64:ff9b::7f00:1]'],
    ['http://[64:FF9B:1::10.0.0.1]/', '[64:ff9b:1::a00:1]'],
    ['http://[::127.0.0.1]/', '[::7f00:1]'],
    ['http://0x7f.1/', '127.0.0.1'],
    ['http://2130706433/', '127.0.0.1'],
  ]
  it('refuses the forms the URL parser normalises embedded IPv4 to', () => {
    for (const [url, normalised] of normalisedByUrlParser) {
      const { hostname } = new URL(url)
      expect({ url, hostname, isPublic: isPublicAddress(hostname.replace(/^\[|\]$/g, '')) }).toEqual({ url, hostname: normalised, isPublic: false })
    }
  })
})

describe('url input with embedded-IPv4 hosts', () => {
  it('answers 400 url_not_allowed before connecting', async () => {
    const resolveHost = async (host: string) => {
      throw new Error(`no DNS in this test (${host})`)
    }
    const { app, rows } = await edgeWith({ r1: oipPeer() }, { allowUrlInput: true }, { resolveHost })
    for (const host of ['[::ffff:0:127.0.0.1]', '[64:ff9b:1::808:808]', '[64:ff9b::192.168.0.1]', '[::ffff:169.254.169.254]']) {
      const res = await app.request('/v1/detect', { method: 'POST', body: form([{ name: 'url', value: `http://${host}:9/a.png` }]) })
      expect({ host, status: res.status, code: ErrorResponse.parse(await res.json()).error.code }).toEqual({ host, status: 400, code: 'url_not_allowed' })
    }
    expect(await rows()).toHaveLength(0)
  })
})
