/** Side of the square thumbnail drawn for each dropped image, in CSS pixels. */
export const THUMBNAIL_SIZE = 96

/**
 * A small preview of `file` drawn in this browser (a `data:` PNG, at most {@link THUMBNAIL_SIZE} on its longer
 * side); undefined when the browser cannot decode it (a PDF, a truncated JPEG). Never uploaded or stored.
 */
export async function thumbnailOf(file: Blob): Promise<string | undefined> {
  try {
    const bitmap = await createImageBitmap(file)
    const scale = Math.min(1, THUMBNAIL_SIZE / Math.max(bitmap.width, bitmap.height))
    const canvas = document.createElement('canvas')
    canvas.width = Math.max(1, Math.round(bitmap.width * scale))
    canvas.height = Math.max(1, Math.round(bitmap.height * scale))
    canvas.getContext('2d')?.drawImage(bitmap, 0, 0, canvas.width, canvas.height)
    bitmap.close()
    return canvas.toDataURL('image/png')
  } catch {
    return undefined
  }
}

const shellQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`

/**
 * The `curl` command that sends the same request to `POST /v1/detect`; the key, when one is in use, stays in
 * `$GENIMAGE_API_KEY` so the command can be copied or shown without leaking it.
 */
export function detectCurl(origin: string, input: { file: string } | { url: string }, model: string, withKey: boolean): string {
  const parts = ['curl -sS', `${origin}/v1/detect`]
  if (withKey) parts.push(`-H "Authorization: Bearer $GENIMAGE_API_KEY"`)
  parts.push('file' in input ? `-F ${shellQuote(`image=@${input.file}`)}` : `-F ${shellQuote(`url=${input.url}`)}`)
  if (model) parts.push(`-F ${shellQuote(`model=${model}`)}`)
  return parts.join(' \\\n  ')
}

/** Whether a model's training-data line names GenImage-mini (small crops of toy generators), not GenImage. */
export const isGenImageMini = (trainingData: string | undefined): boolean => /genimage[-_ ]?mini/i.test(trainingData ?? '')
