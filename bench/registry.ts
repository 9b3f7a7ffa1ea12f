import type { Figure } from './figure.js';

/** A figure the harness knows, loaded only when it runs (figures pull in heavy modules). */
export interface FigureEntry {
  id: string;
  slug: string;
  title: string;
  load(): Promise<Figure>;
}

/** Every figure of the bench, in table order. */
export const FIGURES: readonly FigureEntry[] = [
  {
    id: '1',
    slug: 'transitions',
    title: 'State transitions, history events, largest state payload',
    load: async () => (await import('./figures/transitions.js')).transitionsFigure,
  },
  {
    id: '2',
    slug: 'reaction',
    title: 'Failure to reaction (sibling StopTask, rollbacks)',
    load: async () => (await import('./figures/reaction.js')).reactionFigure,
  },
  {
    id: '3',
    slug: 'overhead',
    title: 'Orchestration overhead over the critical path of the work',
    load: async () => (await import('./figures/overhead.js')).overheadFigure,
  },
  {
    id: '4',
    slug: 'tail-deploy',
    title: 'tail-deploy line latency, lines lost/duplicated, GetLogEvents rate',
    load: async () => (await import('./figures/tail-deploy.js')).tailDeployFigure,
  },
  {
    id: '5',
    slug: 'handlers',
    title: 'Lambda handler bundle size and cold init',
    load: async () => (await import('./figures/handlers.js')).handlersFigure,
  },
  {
    id: '6',
    slug: 'demo-synth',
    title: 'npm run demo wall time and cdk synth time',
    load: async () => (await import('./figures/demo-synth.js')).demoSynthFigure,
  },
  {
    id: '7',
    slug: 'cutover-skew',
    title: 'Traffic-shift skew across the groups of a wave, together vs independent',
    load: async () => (await import('./figures/cutover-skew.js')).cutoverSkewFigure,
  },
];

/**
 * The figures `--only` names (ids or slugs, comma-separated), in table order;
 * every figure when nothing is named. An unknown name is an error listing the known ones.
 */
export function selectFigures(only: readonly string[] | undefined, all: readonly FigureEntry[] = FIGURES) {
  if (!only || only.length === 0) return [...all];
  const wanted = new Set(only.flatMap((item) => item.split(',')).map((item) => item.trim().toLowerCase()));
  const unknown = [...wanted].filter(
    (name) => !all.some((entry) => entry.id === name || entry.slug === name),
  );
  if (unknown.length > 0) {
    const known = all.map((entry) => `${entry.id} (${entry.slug})`).join(', ');
    throw new Error(`--only: unknown figure ${unknown.join(', ')}; use one of ${known}.`);
  }
  return all.filter((entry) => wanted.has(entry.id) || wanted.has(entry.slug));
}
