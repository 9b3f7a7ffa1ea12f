import { describe, expect, it } from 'vitest';
import { type Measurement, verdictOf } from '../../bench/figure.js';
import { renderTable } from '../../bench/table.js';

const rows: Measurement[] = [
  {
    figure: '1',
    name: 'state transitions',
    workload: '4 envs x 5 services',
    value: 97,
    unit: 'count',
    target: { max: 150 },
  },
  {
    figure: '5',
    name: 'bundle size plan',
    workload: 'esbuild',
    value: 312.5,
    unit: 'KB',
    target: { max: 250 },
  },
  { figure: '6', name: 'demo wall time', workload: 'npm run demo', value: 21.4, unit: 's' },
  {
    figure: '4',
    name: 'tail-deploy',
    workload: '-',
    value: null,
    unit: '',
    note: 'failed: cli/ is missing',
  },
];

describe('verdictOf', () => {
  it.each([
    [{ value: 150, target: { max: 150 } }, true],
    [{ value: 151, target: { max: 150 } }, false],
    [{ value: 3, target: undefined }, null],
    [{ value: null, target: { max: 1 } }, null],
  ])('%j -> met %s', (partial, met) => {
    const row: Measurement = { figure: '1', name: 'n', workload: 'w', unit: 'count', ...partial };
    expect(verdictOf(row).met).toBe(met);
  });
});

describe('renderTable', () => {
  const text = renderTable(rows.map(verdictOf));
  const lines = text.trimEnd().split('\n');

  it('has a header with every column', () => {
    expect(lines[0].split('|').map((cell) => cell.trim())).toEqual([
      'figure',
      'measurement',
      'workload',
      'value',
      'target',
      'met?',
    ]);
  });

  it('prints every measurement with its value, target and verdict', () => {
    const cells = (name: string) =>
      lines
        .find((line) => line.includes(name))
        ?.split('|')
        .map((cell) => cell.trim());
    expect(cells('state transitions')).toEqual([
      '1',
      'state transitions',
      '4 envs x 5 services',
      '97 count',
      '<= 150 count',
      'yes',
    ]);
    expect(cells('bundle size plan')).toEqual([
      '5',
      'bundle size plan',
      'esbuild',
      '312.5 KB',
      '<= 250 KB',
      'NO',
    ]);
    expect(cells('demo wall time')?.slice(3)).toEqual(['21.4 s', '-', '-']);
    expect(cells('tail-deploy')?.slice(3)).toEqual(['n/a', '-', 'not measured']);
  });

  it('aligns the columns', () => {
    const pipes = (line: string) => [...line.matchAll(/\|/g)].map((match) => match.index);
    const header = pipes(lines[0]);
    for (const line of lines.slice(2, 2 + rows.length)) expect(pipes(line)).toEqual(header);
  });

  it('lists the notes under the table', () => {
    expect(text).toContain('notes:\n  [4] tail-deploy: failed: cli/ is missing');
  });
});
