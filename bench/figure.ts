/**
 * What a figure module measures and how the bench reports it: one row per
 * measurement, each with its workload and, where the issue sets one, its target.
 */

/** An upper bound a measurement should stay within. */
export interface Target {
  /** The value must be at most this. */
  max: number;
}

/** One measured value, as a row of the table and an entry of `bench/results.json`. */
export interface Measurement {
  /** Id of the figure that measured it (`1`...`7`). */
  figure: string;
  /** What was measured (`state transitions`, `bundle size plan`...). */
  name: string;
  /** The work the value was measured on (`4 envs x 5 services, ...`). */
  workload: string;
  /** The value; null when it could not be measured (the note says why). */
  value: number | null;
  /** Unit of `value` and of the target (`count`, `ms`, `KB`, `%`, `s`, `lines/s`). */
  unit: string;
  target?: Target;
  /** Why the value is missing, or what it leaves out. */
  note?: string;
}

/** A measurement with its verdict, as written to `bench/results.json`. */
export interface Verdict extends Measurement {
  /** True or false when there is a target and a value; null otherwise. */
  met: boolean | null;
}

/** What every figure gets from the harness. */
export interface FigureContext {
  /** Absolute path of the repository root. */
  repoRoot: string;
  /** Smaller workloads, for a quick look and for the tests. */
  quick: boolean;
  /** Progress lines (stderr), so stdout carries only the table. */
  log(line: string): void;
}

/** One figure of the bench: a module in `bench/figures/`. */
export interface Figure {
  /** `1`...`7`, as `--only` names it. */
  id: string;
  /** A short name, also accepted by `--only`. */
  slug: string;
  /** One line on what the figure says. */
  title: string;
  run(context: FigureContext): Promise<Measurement[]>;
}

/** Whether a measurement meets its target; null when it has no target or no value. */
export function verdictOf(measurement: Measurement): Verdict {
  const { value, target } = measurement;
  const met = target === undefined || value === null ? null : value <= target.max;
  return { ...measurement, met };
}
