/** Minimal SVG drawing for reports: every chart is plain SVG 1.1 text, no library. */

const escapeXml = (text: string) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!)

const FONT = 'font-family="Helvetica, Arial, sans-serif"'

function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${FONT} ${attrs}>${escapeXml(content)}</text>`
}

function svg(width: number, height: number, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n')
}

/** White (0.5, chance) to blue (1.0); below chance towards red. */
export function accuracyColour(accuracy: number): string {
  const t = Math.max(-1, Math.min(1, (accuracy - 0.5) * 2))
  const mix = (a: number, b: number, f: number) => Math.round(a + (b - a) * f)
  const [r, g, b] = t >= 0 ? [mix(255, 33, t), mix(255, 102, t), mix(255, 172, t)] : [mix(255, 202, -t), mix(255, 0, -t), mix(255, 32, -t)]
  return `rgb(${r},${g},${b})`
}

const LEGEND_HEIGHT = 160

/** The heatmap's colour scale: 0 (red) through 50 (white, chance) to 100 (blue), with ticks every 25 points. */
function colourLegend(x: number, y: number): string[] {
  const steps = 20
  const body = [text(x, y - 8, 'accuracy (%)', 'font-size="11" fill="#555"')]
  for (let k = 0; k < steps; k++) {
    const value = 1 - (k + 0.5) / steps
    body.push(
      `<rect x="${x}" y="${(y + (k * LEGEND_HEIGHT) / steps).toFixed(1)}" width="16" height="${(LEGEND_HEIGHT / steps + 0.5).toFixed(1)}" fill="${accuracyColour(value)}"/>`,
    )
  }
  body.push(`<rect x="${x}" y="${y}" width="16" height="${LEGEND_HEIGHT}" fill="none" stroke="#999"/>`)
  for (const tick of [1, 0.75, 0.5, 0.25, 0]) {
    const ty = y + (1 - tick) * LEGEND_HEIGHT
    body.push(`<line x1="${x + 16}" x2="${x + 20}" y1="${ty}" y2="${ty}" stroke="#555"/>`)
    body.push(text(x + 24, ty + 4, `${tick * 100}${tick === 0.5 ? ' chance' : ''}`, 'font-size="10"'))
  }
  return body
}

/** A matrix of accuracies (rows: trained on, columns: tested on) with the value printed in each cell and a colour legend. */
export function heatmapSvg(
  title: string,
  rows: readonly string[],
  columns: readonly string[],
  cell: (row: number, column: number) => number | undefined,
): string {
  const size = 64
  const left = 20 + Math.max(...rows.map((r) => r.length)) * 7
  const top = 60 + Math.max(...columns.map((c) => c.length)) * 5
  const body: string[] = [
    text(10, 22, title, 'font-size="15" font-weight="bold"'),
    text(left, top - 8 - Math.max(...columns.map((c) => c.length)) * 5 + 8, 'tested on →', 'font-size="11" fill="#555"'),
  ]
  for (const [j, c] of columns.entries()) {
    body.push(
      text(left + j * size + size / 2, top - 6, c, `font-size="11" text-anchor="start" transform="rotate(-40 ${left + j * size + size / 2} ${top - 6})"`),
    )
  }
  rows.forEach((r, i) => {
    body.push(text(left - 8, top + i * size + size / 2 + 4, r, 'font-size="11" text-anchor="end"'))
    columns.forEach((_, j) => {
      const value = cell(i, j)
      const x = left + j * size
      const y = top + i * size
      body.push(
        `<rect class="cell" x="${x}" y="${y}" width="${size}" height="${size}" fill="${value === undefined ? '#eeeeee' : accuracyColour(value)}" stroke="${i === j ? '#000' : '#fff'}" stroke-width="${i === j ? 2 : 1}"/>`,
      )
      body.push(
        text(
          x + size / 2,
          y + size / 2 + 4,
          value === undefined ? '–' : (100 * value).toFixed(1),
          `font-size="12" text-anchor="middle" fill="${value !== undefined && Math.abs(value - 0.5) > 0.35 ? '#fff' : '#000'}"`,
        ),
      )
    })
  })
  body.push(
    text(
      10,
      top + rows.length * size + 20,
      "rows: trained on; cells: accuracy (%) on the column's val set; outlined: own generator",
      'font-size="11" fill="#555"',
    ),
  )
  const legendX = left + columns.length * size + 24
  body.push(...colourLegend(legendX, top))
  return svg(Math.max(560, legendX + 90), Math.max(top + rows.length * size + 32, top + LEGEND_HEIGHT + 24), body)
}

/** Grouped vertical bars: one group per category, one bar per series, values in [0, 1]. */
export function groupedBarsSvg(
  title: string,
  categories: readonly string[],
  series: ReadonlyArray<{ name: string; values: ReadonlyArray<number | undefined> }>,
): string {
  const palette = ['#2166ac', '#d6604d', '#4d9221', '#8073ac', '#e08214', '#35978f']
  const plotHeight = 220
  const barWidth = 18
  const groupWidth = Math.max(series.length * barWidth + 24, 96)
  const left = 50
  const top = 40
  const width = left + categories.length * groupWidth + 160
  const body: string[] = [text(10, 22, title, 'font-size="15" font-weight="bold"')]
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    const y = top + plotHeight * (1 - tick)
    body.push(
      `<line x1="${left}" x2="${left + categories.length * groupWidth}" y1="${y}" y2="${y}" stroke="${tick === 0.5 ? '#999' : '#e0e0e0'}" stroke-dasharray="${tick === 0.5 ? '4 3' : ''}"/>`,
    )
    body.push(text(left - 6, y + 4, `${tick * 100}`, 'font-size="10" text-anchor="end"'))
  }
  categories.forEach((category, i) => {
    const x0 = left + i * groupWidth + (groupWidth - series.length * barWidth) / 2
    series.forEach((s, k) => {
      const value = s.values[i]
      if (value === undefined) return
      const h = plotHeight * Math.max(0, Math.min(1, value))
      body.push(
        `<rect x="${x0 + k * barWidth}" y="${(top + plotHeight - h).toFixed(1)}" width="${barWidth - 2}" height="${h.toFixed(1)}" fill="${palette[k % palette.length]}"><title>${escapeXml(`${s.name} · ${category}: ${(100 * value).toFixed(1)}%`)}</title></rect>`,
      )
    })
    body.push(text(x0 + (series.length * barWidth) / 2, top + plotHeight + 16, category, 'font-size="11" text-anchor="middle"'))
  })
  series.forEach((s, k) => {
    const y = top + 10 + k * 18
    body.push(
      `<rect x="${width - 150}" y="${y - 10}" width="12" height="12" fill="${palette[k % palette.length]}"/>`,
      text(width - 132, y, s.name, 'font-size="11"'),
    )
  })
  body.push(text(left, top + plotHeight + 34, 'accuracy (%); dashed line: chance', 'font-size="11" fill="#555"'))
  return svg(width, top + plotHeight + 44, body)
}

/** Value ticks (and grid lines) per panel of {@link lineChartSvg}, bottom and top included: 0, ¼, ½, ¾ and all of the range. */
const Y_TICKS = 4

/** Lines over epochs: one panel per metric, one line per series, a tick at every epoch (at most ten) and five value ticks. */
export function lineChartSvg(
  title: string,
  panels: ReadonlyArray<{ label: string; series: ReadonlyArray<{ name: string; points: ReadonlyArray<[number, number]> }> }>,
): string {
  const palette = ['#2166ac', '#d6604d', '#4d9221', '#8073ac', '#e08214', '#35978f', '#762a83', '#1b7837']
  const panelWidth = 320
  const panelHeight = 180
  const left = 50
  const top = 58
  const names = [...new Set(panels.flatMap((p) => p.series.map((s) => s.name)))]
  const body: string[] = [text(10, 22, title, 'font-size="15" font-weight="bold"')]
  panels.forEach((panel, p) => {
    const x0 = left + p * (panelWidth + 60)
    const all = panel.series.flatMap((s) => s.points)
    const maxX = Math.max(1, ...all.map(([x]) => x))
    const minY = Math.min(0, ...all.map(([, y]) => y))
    const maxY = Math.max(1e-9, ...all.map(([, y]) => y))
    const sx = (x: number) => x0 + ((x - 1) / Math.max(1, maxX - 1)) * panelWidth
    const sy = (y: number) => top + panelHeight - ((y - minY) / (maxY - minY || 1)) * panelHeight
    body.push(`<rect x="${x0}" y="${top}" width="${panelWidth}" height="${panelHeight}" fill="none" stroke="#bbb"/>`)
    body.push(text(x0, top - 6, panel.label, 'font-size="12"'))
    for (let k = 0; k <= Y_TICKS; k++) {
      const value = minY + ((maxY - minY) * k) / Y_TICKS
      const y = sy(value)
      if (k > 0 && k < Y_TICKS) body.push(`<line x1="${x0}" x2="${x0 + panelWidth}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#eee"/>`)
      body.push(text(x0 - 4, y + 4, value.toFixed(2), 'font-size="10" text-anchor="end"'))
    }
    body.push(text(x0 + panelWidth / 2, top + panelHeight + 30, 'epoch', 'font-size="11" text-anchor="middle"'))
    const every = Math.max(1, Math.ceil(maxX / 10))
    for (let epoch = 1; epoch <= maxX; epoch += every) body.push(text(sx(epoch), top + panelHeight + 14, String(epoch), 'font-size="10" text-anchor="middle"'))
    panel.series.forEach((s) => {
      const colour = palette[names.indexOf(s.name) % palette.length]
      const d = s.points.map(([x, y], i) => `${i ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')
      if (s.points.length) body.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="2"/>`)
      for (const [x, y] of s.points) body.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.5" fill="${colour}"/>`)
    })
  })
  const legendX = left + panels.length * (panelWidth + 60)
  for (const [k, name] of names.entries()) {
    body.push(
      `<rect x="${legendX}" y="${top + k * 18}" width="12" height="12" fill="${palette[k % palette.length]}"/>`,
      text(legendX + 18, top + 10 + k * 18, name, 'font-size="11"'),
    )
  }
  return svg(legendX + 220, Math.max(top + panelHeight + 40, top + names.length * 18 + 20), body)
}
