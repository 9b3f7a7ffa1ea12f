import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Figure, FigureContext, Measurement } from '../figure.js';
import { runProcess, tailOf } from '../processes.js';
import { median, round } from '../stats.js';

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const NPX = process.platform === 'win32' ? 'npx.cmd' : 'npx';

/** `npm run demo`, timed from spawn to exit; it must succeed to count. */
async function demoWallSeconds(context: FigureContext): Promise<number> {
  const result = await runProcess(NPM, ['run', 'demo'], {
    cwd: context.repoRoot,
    env: { ...process.env, NO_COLOR: '1' },
    timeoutMs: 300_000,
  });
  if (result.code !== 0) {
    throw new Error(
      `npm run demo exited ${result.code ?? result.signal}:\n${tailOf(result.stdout + result.stderr)}`,
    );
  }
  return result.elapsedMs / 1000;
}

/** `npx cdk synth --quiet`, into a scratch output folder (cdk.out stays untouched); the handlers come pre-bundled. */
async function cdkSynthSeconds(context: FigureContext): Promise<number> {
  const outdir = await mkdtemp(join(tmpdir(), 'stepdeploy-bench-cdk-'));
  try {
    const result = await runProcess(NPX, ['cdk', 'synth', '--quiet', '--output', outdir], {
      cwd: context.repoRoot,
      timeoutMs: 600_000,
    });
    if (result.code !== 0) {
      throw new Error(`cdk synth exited ${result.code ?? result.signal}:\n${tailOf(result.stderr)}`);
    }
    return result.elapsedMs / 1000;
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

/** The sample stack synthesized in this process, as the tests and the local AWS do it. */
async function inProcessSynthSeconds(runs: number): Promise<number> {
  const { synthesizeSampleTemplate } = await import('../../infra/synthesize.js');
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    synthesizeSampleTemplate();
    times.push((performance.now() - started) / 1000);
  }
  return median(times);
}

/** Figure 6: how long the demo takes, and how long synthesizing takes through the CDK CLI and in process. */
export const demoSynthFigure: Figure = {
  id: '6',
  slug: 'demo-synth',
  title: 'npm run demo wall time and cdk synth time',
  async run(context: FigureContext): Promise<Measurement[]> {
    const rows: Measurement[] = [];
    const demo = await demoWallSeconds(context);
    context.log(`  npm run demo: ${demo.toFixed(1)} s`);
    rows.push({
      figure: '6',
      name: 'npm run demo wall time',
      workload: 'sample stack, 3 envs x 2 services, successful release, spawn to exit',
      value: round(demo),
      unit: 's',
    });
    const synth = await cdkSynthSeconds(context);
    context.log(`  npx cdk synth --quiet: ${synth.toFixed(1)} s`);
    rows.push({
      figure: '6',
      name: 'cdk synth (CLI)',
      workload: 'npx cdk synth --quiet, the pre-bundled handlers as assets',
      value: round(synth),
      unit: 's',
    });
    const runs = context.quick ? 1 : 3;
    const inProcess = await inProcessSynthSeconds(runs);
    context.log(`  in-process synth: ${inProcess.toFixed(2)} s`);
    rows.push({
      figure: '6',
      name: 'synth (in process)',
      workload: `synthesizeSampleTemplate(), median of ${runs}, after import`,
      value: round(inProcess, 2),
      unit: 's',
    });
    return rows;
  },
};
