import type { Verdict } from './figure.js';

const HEADERS = ['figure', 'measurement', 'workload', 'value', 'target', 'met?'] as const;

function formatNumber(value: number): string {
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  return value.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

function valueCell(row: Verdict): string {
  if (row.value === null) return 'n/a';
  return `${formatNumber(row.value)} ${row.unit}`;
}

function targetCell(row: Verdict): string {
  return row.target ? `<= ${formatNumber(row.target.max)} ${row.unit}` : '-';
}

function metCell(row: Verdict): string {
  if (row.met === null) return row.value === null ? 'not measured' : '-';
  return row.met ? 'yes' : 'NO';
}

/**
 * The results as a plain-text table: one row per measurement with its workload,
 * value, target and verdict, then the notes of the rows that have one.
 */
export function renderTable(rows: readonly Verdict[]): string {
  const cells = rows.map((row) => [
    row.figure,
    row.name,
    row.workload,
    valueCell(row),
    targetCell(row),
    metCell(row),
  ]);
  const widths = HEADERS.map((header, column) =>
    Math.max(header.length, ...cells.map((line) => line[column].length)),
  );
  const line = (values: readonly string[]) =>
    values
      .map((value, column) => value.padEnd(widths[column]))
      .join(' | ')
      .trimEnd();
  const out = [line(HEADERS), widths.map((width) => '-'.repeat(width)).join('-|-'), ...cells.map(line)];
  const notes = rows.filter((row) => row.note);
  if (notes.length > 0) {
    out.push('', 'notes:');
    for (const row of notes) out.push(`  [${row.figure}] ${row.name}: ${row.note}`);
  }
  return `${out.join('\n')}\n`;
}
