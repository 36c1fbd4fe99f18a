// Minimal types for the parts of yauzl 3 this package uses (the package ships no types).
declare module 'yauzl' {
  import type { Readable } from 'node:stream'
  import type { EventEmitter } from 'node:events'
  export interface Entry {
    fileName: string | Buffer
    fileNameRaw: Buffer
    extraFields: { id: number; data: Buffer }[]
    generalPurposeBitFlag: number
    externalFileAttributes: number
    versionMadeBy: number
    uncompressedSize: number
    compressedSize: number
    crc32: number
  }
  export interface ZipFile extends EventEmitter {
    entryCount: number
    readEntry(): void
    openReadStream(entry: Entry, callback: (error: Error | null, stream: Readable) => void): void
    close(): void
  }
  export interface OpenOptions {
    autoClose?: boolean
    lazyEntries?: boolean
    decodeStrings?: boolean
    validateEntrySizes?: boolean
    strictFileNames?: boolean
  }
  export function open(path: string, options: OpenOptions, callback: (error: Error | null, zipfile: ZipFile) => void): void
  export function getFileNameLowLevel(flag: number, raw: Buffer, extraFields: Entry['extraFields'], strict: boolean): string
  const yauzl: { open: typeof open; getFileNameLowLevel: typeof getFileNameLowLevel }
  export default yauzl
}
