/** Small pieces of text the command line prints: counts, sizes, durations and aligned columns. */

/** `1 event`, `2 events`, `0 events`; `plural(2, 'entry', 'entries')` for the irregular ones. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** Decimal megabytes (as disks and network rates are counted), one decimal. */
export function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** A whole number with thousands separators, as a person reads it: 12,345. */
export function thousands(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** `42s`, `3:07`, `1:02:45`: seconds, or minutes and seconds, or hours. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`;
}

/**
 * Rows under a header, each column as wide as its widest cell, two spaces apart; the last column is not
 * padded. `rule` draws a line of dashes under the header, as `az -o table` does. Numbers align right.
 */
export function columns(
  header: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
  options: { rule?: boolean; right?: ReadonlySet<number> } = {},
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => {
        if (options.right?.has(i)) return cell.padStart(widths[i]!);
        return i === cells.length - 1 ? cell : cell.padEnd(widths[i]!);
      })
      .join('  ')
      .trimEnd();
  const lines = [line(header)];
  if (options.rule) lines.push(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) lines.push(line(row));
  return `${lines.join('\n')}\n`;
}
