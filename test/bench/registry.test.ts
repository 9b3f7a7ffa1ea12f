import { describe, expect, it } from 'vitest';
import { FIGURES, selectFigures } from '../../bench/registry.js';

describe('selectFigures', () => {
  it('selects every figure when nothing is named', () => {
    expect(selectFigures(undefined)).toEqual(FIGURES);
    expect(selectFigures([])).toEqual(FIGURES);
  });

  it('selects by id or by name, comma-separated or repeated', () => {
    expect(selectFigures(['5']).map((entry) => entry.id)).toEqual(['5']);
    expect(selectFigures(['handlers']).map((entry) => entry.id)).toEqual(['5']);
    const ids = FIGURES.map((entry) => entry.id);
    expect(selectFigures([ids.join(',')]).map((entry) => entry.id)).toEqual(ids);
  });

  it('refuses an unknown figure and lists the known ones', () => {
    expect(() => selectFigures(['42'])).toThrow(/unknown figure 42; use one of .*5 \(handlers\)/);
  });
});
