// Plain-text tables for the demo's and the benchmark's summaries: columns padded, numbers right-aligned.

/** A number with an optional unit (`12`, `3.2 MiB`, `40 ms`, `2.66×`), or a dash for none. */
const NUMBER = /^(–|-?[\d.,]+ ?[A-Za-z×]*)$/;

export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = head.map((_, i) => rows.length > 0 && rows.every((r) => NUMBER.test(r[i] ?? '')));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
