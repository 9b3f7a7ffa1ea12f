import { describe, expect, it } from 'vitest';
import type { TailEvent } from '../../cli/events.js';
import { formatDuration, HumanRenderer, JsonRenderer } from '../../cli/render.js';
import { Capture } from './tail-deploy-world.js';

const time = '2026-11-26T08:00:00.000Z';
const TASK = 'arn:aws:ecs:eu-west-1:123456789012:task/eu/70a8f62a4060e2b6775cccc9a86a5fa3';

function human(events: TailEvent[], color = false) {
  const out = new Capture();
  const err = new Capture();
  const renderer = new HumanRenderer({ out, err, color });
  for (const event of events) renderer.render(event);
  return { out: out.text, err: err.text };
}

describe('HumanRenderer', () => {
  it.each<[string, TailEvent, string]>([
    ['a phase', { type: 'phase', time, state: 'Migrate', stateType: 'Task' }, '==> Migrate\n'],
    [
      'a task start, with the task id as the console shows it',
      {
        type: 'task-started',
        time,
        phase: 'migrate',
        environment: 'eu',
        step: 'migrate',
        taskArn: TASK,
        region: 'eu-west-1',
        logGroup: '/g',
        logStream: 's',
      },
      '[eu] migrate started (task 70a8f62a4060, migrate)\n',
    ],
    [
      'a multi-line log event, every line prefixed',
      {
        type: 'log',
        time,
        environment: 'eu',
        step: 'migrate',
        taskArn: TASK,
        message: 'Error: boom\n    at x\n',
      },
      '[eu] Error: boom\n[eu]     at x\n',
    ],
    [
      'a task that failed',
      {
        type: 'task-stopped',
        time,
        environment: 'eu',
        step: 'migrate',
        taskArn: TASK,
        exitCode: 3,
        durationMs: 61_500,
        reason: 'Essential container in task exited',
      },
      '[eu] migrate exited 3 after 1m02s (Essential container in task exited)\n',
    ],
    [
      'a stopped deployment, whose traffic shift no longer counts',
      {
        type: 'deployment',
        time,
        environment: 'eu',
        service: 'web',
        deploymentId: 'd-1',
        status: 'Stopped',
        trafficShifted: true,
        rollback: false,
        message: 'stopped',
      },
      '[eu] web deployment d-1 Stopped: stopped\n',
    ],
    [
      'a finished rollback',
      {
        type: 'rollback',
        time,
        environment: 'eu',
        service: 'web',
        deploymentId: 'd-1',
        action: 'stop',
        rollbackDeploymentId: 'd-2',
        status: 'Succeeded',
      },
      '[eu] web rollback (stop) of d-1 via d-2: Succeeded\n',
    ],
    [
      "the end of an earlier release's termination wait",
      {
        type: 'termination-wait-ended',
        time,
        environment: 'eu',
        service: 'web',
        deploymentId: 'd-0',
        release: 'r0',
      },
      "[eu] web: ended the termination wait of release r0's deployment d-0; its original tasks are terminated now\n",
    ],
    [
      'the summary of a rollback to an earlier release',
      {
        type: 'summary',
        time,
        executionArn: 'arn:aws:states:us-east-1:1:execution:Deploy:r3',
        release: 'r3',
        rollbackTo: 'r1',
        status: 'SUCCEEDED',
        outcome: 'SUCCEEDED',
        exitCode: 0,
        complete: true,
        durationMs: 62_000,
        tasks: [],
        deployments: [],
      },
      'Release r3 (rollback to r1) SUCCEEDED in 1m02s\n  arn:aws:states:us-east-1:1:execution:Deploy:r3\n',
    ],
  ])('prints %s', (_name, event, expected) => {
    expect(human([event]).out).toBe(expected);
  });

  it('writes errors to the error stream', () => {
    const { out, err } = human([{ type: 'error', time, message: 'cannot read' }]);
    expect(out).toBe('');
    expect(err).toBe('tail-deploy: cannot read\n');
  });

  it('names the command it runs in before an error', () => {
    const err = new Capture();
    new HumanRenderer({ out: new Capture(), err, color: false, command: 'stepdeploy' }).render({
      type: 'error',
      time,
      message: 'cannot read',
    });
    expect(err.text).toBe('stepdeploy: cannot read\n');
  });

  it('gives each environment its own colour, in the order they show up', () => {
    const log = (environment: string): TailEvent => ({
      type: 'log',
      time,
      environment,
      step: 'migrate',
      taskArn: TASK,
      message: 'x',
    });
    const { out } = human([log('us'), log('eu'), log('us')], true);
    expect(out).toBe('\u001b[36m[us]\u001b[0m x\n\u001b[35m[eu]\u001b[0m x\n\u001b[36m[us]\u001b[0m x\n');
  });
});

describe('JsonRenderer', () => {
  it('writes one object per line', () => {
    const out = new Capture();
    new JsonRenderer(out).render({ type: 'phase', time, state: 'Plan', stateType: 'Task' });
    expect(out.text).toBe(
      '{"type":"phase","time":"2026-11-26T08:00:00.000Z","state":"Plan","stateType":"Task"}\n',
    );
  });
});

describe('formatDuration', () => {
  it.each([
    [120, '120ms'],
    [3_400, '3.4s'],
    [62_000, '1m02s'],
    [3_723_000, '1h02m03s'],
  ])('%d ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
