import { readdir, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { isImageFileName } from '@genimage/shared/genimage'

/** One image to score, as the user named it (or as found under a folder they named). */
export interface ImageFile {
  /** The path as printed: relative when the user gave a relative path. */
  path: string
  absolute: string
}

/** A path that could not be read as an image or a folder of images. */
export interface PathProblem {
  path: string
  code: 'file_not_found' | 'not_an_image'
  message: string
}

/**
 * The images named on the command line: files as given (any extension; the edge checks the bytes), folders walked
 * recursively for image files by extension (sorted, hidden entries skipped). Missing paths are problems, not errors.
 */
export async function collectImageFiles(paths: readonly string[]): Promise<{ files: ImageFile[]; problems: PathProblem[] }> {
  const files: ImageFile[] = []
  const problems: PathProblem[] = []
  const seen = new Set<string>()
  const add = (path: string) => {
    const absolute = resolve(path)
    if (seen.has(absolute)) return
    seen.add(absolute)
    files.push({ path, absolute })
  }
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined)
    if (!info) problems.push({ path, code: 'file_not_found', message: 'no such file or folder' })
    else if (info.isDirectory()) {
      const found = await walk(path)
      if (found.length === 0) problems.push({ path, code: 'not_an_image', message: 'the folder holds no image files' })
      for (const file of found) add(file)
    } else add(path)
  }
  return { files, problems }
}

async function walk(folder: string): Promise<string[]> {
  const entries = (await readdir(folder, { withFileTypes: true })).filter((e) => !e.name.startsWith('.')).sort((a, b) => a.name.localeCompare(b.name))
  const found: string[] = []
  for (const entry of entries) {
    const path = join(folder, entry.name)
    if (entry.isDirectory()) found.push(...(await walk(path)))
    else if (entry.isFile() && isImageFileName(entry.name)) found.push(path)
  }
  return found
}
