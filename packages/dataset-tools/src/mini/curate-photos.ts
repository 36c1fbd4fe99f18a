/**
 * Regenerates `packages/dataset-tools/photos/` from the Debian wallpaper packages (maintainer tool, not run by builds):
 *
 *   apt-get download lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 mate-backgrounds plasma-workspace-wallpapers
 *   for f in *.deb; do p=${f%%_*}; mkdir -p debs/$p && dpkg-deb -x "$f" debs/$p; done
 *   npx tsx packages/dataset-tools/src/mini/curate-photos.ts debs
 *
 * Each photo is reduced to at most 1600 px on its long side and re-encoded as JPEG at the highest quality that keeps
 * the folder under the repository budget; ATTRIBUTION.json/.md record source, author, licence and the train/val split.
 */
import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import sharp from 'sharp'
import { PHOTO_SOURCES, type PhotoSource } from './photo-sources.ts'
import { DEFAULT_PHOTOS_DIR, PHOTO_MAX_SIDE, splitPhotos } from './photos.ts'

const BUDGET_BYTES = 14.5 * 1024 * 1024

interface CuratedPhoto extends PhotoSource {
  width: number
  height: number
  bytes: number
  sha256: string
  split: 'train' | 'val'
}

async function encodeAll(debRoot: string, quality: number): Promise<Array<{ source: PhotoSource; jpeg: Buffer }>> {
  return Promise.all(
    PHOTO_SOURCES.map(async (source) => {
      const original = path.join(debRoot, source.package, source.original)
      const jpeg = await sharp(original)
        .rotate()
        .resize(PHOTO_MAX_SIDE, PHOTO_MAX_SIDE, { fit: 'inside', withoutEnlargement: true, kernel: 'lanczos3' })
        .toColourspace('srgb')
        .jpeg({ quality, mozjpeg: true })
        .toBuffer()
      return { source, jpeg }
    }),
  )
}

async function curate(debRoot: string): Promise<void> {
  let quality = 95
  let encoded = await encodeAll(debRoot, quality)
  while (encoded.reduce((sum, e) => sum + e.jpeg.length, 0) > BUDGET_BYTES && quality > 70) {
    quality -= 2
    encoded = await encodeAll(debRoot, quality)
  }
  await mkdir(DEFAULT_PHOTOS_DIR, { recursive: true })
  const split = splitPhotos(encoded.map((e) => e.source.file))
  const curated: CuratedPhoto[] = []
  for (const { source, jpeg } of encoded) {
    await writeFile(path.join(DEFAULT_PHOTOS_DIR, source.file), jpeg)
    const meta = await sharp(jpeg).metadata()
    curated.push({
      ...source,
      width: meta.width ?? 0,
      height: meta.height ?? 0,
      bytes: jpeg.length,
      sha256: createHash('sha256').update(jpeg).digest('hex'),
      split: split.val.includes(source.file) ? 'val' : 'train',
    })
  }
  const total = curated.reduce((sum, p) => sum + p.bytes, 0)
  const record = { jpegQuality: quality, maxSide: PHOTO_MAX_SIDE, totalBytes: total, split, photos: curated }
  await writeFile(path.join(DEFAULT_PHOTOS_DIR, 'ATTRIBUTION.json'), `${JSON.stringify(record, null, 2)}\n`)
  await writeFile(path.join(DEFAULT_PHOTOS_DIR, 'ATTRIBUTION.md'), attributionMarkdown(curated, quality))
  console.log(`${curated.length} photos, ${(total / 1048576).toFixed(2)} MiB at JPEG quality ${quality}`)
}

function attributionMarkdown(photos: CuratedPhoto[], quality: number): string {
  const rows = photos.map((p) => `| ${p.file} | ${p.split} | ${p.package} ${p.packageVersion} | \`${p.original}\` | ${p.author} | ${p.licence} |`)
  return `# Photos shipped for GenImage-mini

Real photographs taken from Debian wallpaper packages (bookworm). Each was reduced to at most ${PHOTO_MAX_SIDE} px on
its long side and re-encoded as JPEG (quality ${quality}); nothing else was changed. Illustrations, renders and
abstract art in the same packages were left out. The images GenImage-mini derives from these photos (crops, and
model outputs made from crops) are adaptations: they carry the licence of their source photo, so a redistributed
GenImage-mini must keep this file. Licence texts: \`/usr/share/doc/<package>/copyright\` in each package and
\`/usr/share/common-licenses/\` on Debian. Machine-readable copy, with sizes and sha256: \`ATTRIBUTION.json\`.

Split: photos marked \`val\` are the only source of validation crops; \`train\` photos are the only source of
training crops and of the autoencoder's training data (see \`splitPhotos\` in \`src/mini/photos.ts\`).

| file | split | source package | original file | author | licence |
|---|---|---|---|---|---|
${rows.join('\n')}
`
}

const debRoot = process.argv[2]
if (!debRoot) {
  console.error('usage: tsx curate-photos.ts <folder with one extracted package per sub-folder>')
  process.exit(2)
}
await readFile(path.join(debRoot, PHOTO_SOURCES[0]!.package, PHOTO_SOURCES[0]!.original)).catch(() => {
  console.error(`no extracted packages under ${debRoot}`)
  process.exit(2)
})
await curate(debRoot)
