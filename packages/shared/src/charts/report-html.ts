/**
 * The experiment report as one self-contained HTML page: the same markdown `buildExperimentReport` writes, rendered
 * for the subset it uses (headings, paragraphs, bullet lists, pipe tables, bold, italics, code, images), with every
 * SVG chart inlined so the file opens in a browser on its own.
 */

const escapeHtml = (text: string) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)

/** Inline markdown: `code`, **bold**, *italics*, escaped everywhere else. */
function inline(text: string): string {
  return text
    .split(/(`[^`]+`)/)
    .map((part) =>
      part.startsWith('`') && part.endsWith('`') && part.length > 1
        ? `<code>${escapeHtml(part.slice(1, -1))}</code>`
        : escapeHtml(part)
            .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
            .replace(/(^|[\s(])\*([^*\s][^*]*)\*/g, '$1<em>$2</em>'),
    )
    .join('')
}

const cells = (line: string) =>
  line
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim().replaceAll('\\|', '|'))

function tableHtml(lines: readonly string[]): string {
  const [header, align, ...body] = lines
  const right = cells(align ?? '').map((a) => a.endsWith(':'))
  const cell = (tag: 'th' | 'td', text: string, i: number) => `<${tag}${right[i] ? ' class="num"' : ''}>${inline(text)}</${tag}>`
  return [
    '<table>',
    `<thead><tr>${cells(header ?? '')
      .map((c, i) => cell('th', c, i))
      .join('')}</tr></thead>`,
    '<tbody>',
    ...body.map(
      (line) =>
        `<tr>${cells(line)
          .map((c, i) => cell('td', c, i))
          .join('')}</tr>`,
    ),
    '</tbody>',
    '</table>',
  ].join('\n')
}

/**
 * The report's markdown as an HTML fragment (no `<html>`, no styles, no scripts), with the SVGs of `files` inlined
 * where the markdown links them (`![alt](name.svg)`): the body of {@link experimentReportHtml}, and what the web
 * console shows.
 */
export function experimentReportBodyHtml(markdown: string, files: Readonly<Record<string, string>>): string {
  const out: string[] = []
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; ) {
    const line = lines[i]!
    const heading = /^(#{1,4}) (.*)$/.exec(line)
    const image = /^!\[([^\]]*)\]\(([^)]+)\)$/.exec(line.trim())
    if (heading) {
      const level = heading[1]!.length
      out.push(`<h${level}>${inline(heading[2]!)}</h${level}>`)
      i++
    } else if (image) {
      const svg = files[image[2]!]
      out.push(svg ? `<figure>${svg.replace(/^<\?xml[^>]*>\s*/, '')}<figcaption>${escapeHtml(image[1]!)}</figcaption></figure>` : `<p>${escapeHtml(line)}</p>`)
      i++
    } else if (line.startsWith('|')) {
      const block: string[] = []
      while (i < lines.length && lines[i]!.startsWith('|')) block.push(lines[i++]!)
      out.push(tableHtml(block))
    } else if (line.startsWith('- ')) {
      const items: string[] = []
      while (i < lines.length && lines[i]!.startsWith('- ')) items.push(`<li>${inline(lines[i++]!.slice(2))}</li>`)
      out.push(`<ul>\n${items.join('\n')}\n</ul>`)
    } else if (line.trim() === '') i++
    else {
      const paragraph: string[] = []
      while (i < lines.length && lines[i]!.trim() !== '' && !/^(#|\||- |!\[)/.test(lines[i]!)) paragraph.push(lines[i++]!)
      out.push(`<p>${inline(paragraph.join(' '))}</p>`)
    }
  }
  return out.join('\n')
}

/** Renders `markdown` as a self-contained page, with the SVGs of `files` inlined where the markdown links them. */
export function experimentReportHtml(title: string, markdown: string, files: Readonly<Record<string, string>>): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body { font: 15px/1.5 Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222 }
table { border-collapse: collapse; margin: 1em 0; font-size: 13px } th, td { border: 1px solid #ccc; padding: 3px 8px } th { background: #f4f4f4 }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums } code { background: #f4f4f4; padding: 0 3px }
figure { margin: 1em 0; overflow-x: auto } figcaption { color: #555; font-size: 13px } svg { max-width: 100%; height: auto }
</style>
</head>
<body>
${experimentReportBodyHtml(markdown, files)}
</body>
</html>
`
}
