// Renders the job summary's HTML for a terminal: headings, the table as aligned columns, lists.
export function renderSummary(html: string): string {
  const text = (s: string) =>
    s
      .replace(/<[^>]+>/g, '')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&')
      .trim()
  const lines: string[] = []
  const tokens =
    html.match(
      /<h\d>[\s\S]*?<\/h\d>|<table>[\s\S]*?<\/table>|<ul>[\s\S]*?<\/ul>|<pre>[\s\S]*?<\/pre>|<details>[\s\S]*?<\/details>|<p>[\s\S]*?<\/p>/g
    ) ?? []
  for (const token of tokens) {
    if (token.startsWith('<table')) {
      const rows = [...token.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((r) =>
        [...r[1].matchAll(/<t[hd]>([\s\S]*?)<\/t[hd]>/g)].map((c) => text(c[1]))
      )
      const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)))
      const line = (cells: string[]) =>
        `  ${cells.map((cell, c) => (c < cells.length - 1 ? cell.padEnd(widths[c]) : cell)).join('  ')}`
      for (const [i, row] of rows.entries()) {
        lines.push(line(row))
        if (i === 0) lines.push(line(widths.map((w) => '-'.repeat(Math.min(w, 30)))))
      }
    } else if (token.startsWith('<ul') || token.startsWith('<details')) {
      const summary = /<summary>([\s\S]*?)<\/summary>/.exec(token)?.[1]
      if (summary) lines.push(text(summary))
      for (const item of token.matchAll(/<li>([\s\S]*?)<\/li>/g)) lines.push(`  • ${text(item[1])}`)
    } else {
      lines.push(text(token))
    }
    lines.push('')
  }
  return lines.join('\n')
}
