/** Longest file name kept, in code points (the extension is kept when a longer name is cut). */
export const MAX_FILE_NAME_CHARS = 200

/**
 * Characters that are invisible or reorder text: C0/C1 controls and DEL, line and paragraph separators, the
 * bidirectional marks, embeddings, overrides and isolates (U+061C, U+200E–U+200F, U+202A–U+202E, U+2066–U+2069),
 * the byte order mark and the interlinear annotation controls. Zero-width joiners stay: scripts and emoji need them.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is what this expression is for
const INVISIBLE_OR_REORDERING = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff\ufff9-\ufffb]/g

/** Lone UTF-16 surrogates (not half of a pair), which are not text. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

/** Markup and quoting characters, replaced so a name pasted into HTML or a quoted attribute cannot open a tag. */
const MARKUP = /[<>"`]/g

/**
 * The name of an uploaded file as the API echoes and stores it: the last path segment, NFC-normalised, without
 * control, bidirectional-override or other invisible characters, with `<>"` and backticks replaced by `_`,
 * whitespace runs collapsed, at most {@link MAX_FILE_NAME_CHARS} code points (keeping the extension). Ordinary
 * Unicode (é, 日本, emoji) is kept as sent. Undefined when nothing is left, or for the `blob` name browsers give
 * unnamed parts.
 * @example safeFileName('invoice\u202Egpj.exe') // 'invoicegpj.exe'
 */
export function safeFileName(raw: string): string | undefined {
  const lastSegment = raw.split(/[/\\]/).pop() ?? ''
  const cleaned = lastSegment
    .replace(LONE_SURROGATE, '')
    .normalize('NFC')
    .replace(INVISIBLE_OR_REORDERING, '')
    .replace(MARKUP, '_')
    .replace(/\s+/gu, ' ')
    .trim()
  if (cleaned === '' || cleaned === 'blob') return undefined
  return bounded(cleaned)
}

function bounded(name: string): string {
  const chars = Array.from(name)
  if (chars.length <= MAX_FILE_NAME_CHARS) return name
  const dot = name.lastIndexOf('.')
  const extension = dot > 0 ? Array.from(name.slice(dot)) : []
  const keepExtension = extension.length > 1 && extension.length <= 16
  const tail = keepExtension ? extension : []
  return [...chars.slice(0, MAX_FILE_NAME_CHARS - tail.length), ...tail].join('')
}
