import { execFileSync } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Builder, LocalSigner } from '@contentauth/c2pa-node'

/**
 * Test fixtures for C2PA content credentials: a self-made ES256 certificate chain (openssl) and images signed with
 * it by the real C2PA library, so tests read genuine manifests.
 */

/** A test root CA and a signer certificate it issued (the leaf carries the EKU C2PA requires of signers). */
export interface TestPki {
  /** The root CA certificate (PEM): the trust anchor. */
  caPem: string
  /** Its path, for C2PA_TRUST_ANCHORS. */
  caPath: string
  /** Leaf then root (PEM), as the signer embeds them. */
  chainPem: Buffer
  /** The leaf's private key (PKCS#8 PEM). */
  keyPem: Buffer
}

const EXTENSIONS = `[ca_ext]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
[leaf_ext]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=emailProtection
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid,issuer
[req]
distinguished_name=dn
[dn]
`

function openssl(dir: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT')
      throw new Error('these tests need the openssl command to make a test certificate chain; install openssl (Debian: apt-get install openssl)')
    throw new Error(`openssl ${args[0]} failed: ${String((error as { stderr?: Buffer }).stderr ?? error)}`)
  }
}

/** Makes an ES256 root CA and a signer certificate in `dir`; `name` sets the subjects, so two PKIs differ. */
export async function makeTestPki(dir: string, name = 'Test'): Promise<TestPki> {
  await writeFile(join(dir, 'ext.cnf'), EXTENSIONS)
  const req = ['-config', 'ext.cnf']
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'])
  openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-key',
    'ca.key',
    '-sha256',
    '-days',
    '30',
    '-subj',
    `/CN=${name} Root/O=${name} CA`,
    ...req,
    '-extensions',
    'ca_ext',
    '-out',
    'ca.pem',
  ])
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'leaf.key'])
  openssl(dir, ['pkcs8', '-topk8', '-nocrypt', '-in', 'leaf.key', '-out', 'leaf.p8'])
  openssl(dir, ['req', '-new', '-key', 'leaf.key', '-subj', `/CN=${name} Generator Signer/O=${name} Generator Inc`, ...req, '-out', 'leaf.csr'])
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '30',
    '-sha256',
    '-extfile',
    'ext.cnf',
    '-extensions',
    'leaf_ext',
    '-out',
    'leaf.pem',
  ])
  const caPem = await readFile(join(dir, 'ca.pem'), 'utf8')
  const chainPem = Buffer.concat([await readFile(join(dir, 'leaf.pem')), Buffer.from(caPem)])
  return { caPem, caPath: join(dir, 'ca.pem'), chainPem, keyPem: await readFile(join(dir, 'leaf.p8')) }
}

export const IPTC = 'http://cv.iptc.org/newscodes/digitalsourcetype/'

/** Signs `image` with a manifest whose `c2pa.created` action states `digitalSourceType` (an IPTC term). */
export function signImage(pki: TestPki, image: Uint8Array, mimeType: 'image/jpeg' | 'image/png', digitalSourceType = 'trainedAlgorithmicMedia'): Buffer {
  const manifest = {
    claim_generator_info: [{ name: 'genimage-test', version: '1' }],
    title: 'signed test image',
    format: mimeType,
    assertions: [{ label: 'c2pa.actions', data: { actions: [{ action: 'c2pa.created', digitalSourceType: `${IPTC}${digitalSourceType}` }] } }],
  }
  const output: { buffer: Buffer | null } = { buffer: null }
  Builder.withJson(manifest).sign(LocalSigner.newSigner(pki.chainPem, pki.keyPem, 'es256'), { buffer: Buffer.from(image), mimeType }, output)
  if (!output.buffer) throw new Error('the C2PA library returned no signed image')
  return output.buffer
}

/**
 * the signed JPEG with one value of its last quantisation table changed (the image's own; the manifest's thumbnail comes before): still a decodable JPEG (its pixels change a little), but no
 * longer the bytes the manifest's hash covers.
 */
export function tamperJpeg(signed: Uint8Array): Buffer {
  const copy = Buffer.from(signed)
  const dqt = copy.lastIndexOf(Buffer.from([0xff, 0xdb]))
  if (dqt < 0) throw new Error('no quantisation table in this JPEG')
  const at = dqt + 5 + 10
  copy[at] = (copy[at] as number) >= 255 ? 254 : (copy[at] as number) + 1
  return copy
}
