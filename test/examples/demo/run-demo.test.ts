import { describe, expect, it } from 'vitest';
import { exitCodeOf, faultsOf, handlerLogsHelp, runDemo } from '../../../examples/demo/run-demo.js';

const captured = () => {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: { write: (text: string) => out.push(text) },
      stderr: { write: (text: string) => err.push(text) },
    },
    out: () => out.join(''),
    err: () => err.join(''),
  };
};

describe('examples/demo/run-demo.ts', () => {
  it.each([
    ['SUCCEEDED', 0],
    ['FAILED', 1],
    ['ABORTED', 2],
    ['TIMED_OUT', 2],
    [undefined, 1],
  ])('maps the run status %s to exit code %i', (status, code) => {
    expect(exitCodeOf(status)).toBe(code);
  });

  it('turns the failure flags into local AWS faults', () => {
    const faults = faultsOf({
      failMigration: 'eu',
      failStart: 'au',
      failDeploy: 'eu/web',
      hangDeploy: 'us/worker',
      alarm: false,
      giveUp: 20,
      timeScale: 100,
      keep: false,
      port: 0,
    });

    expect(faults).toEqual([
      expect.objectContaining({ kind: 'task-exit', environment: 'eu', step: 'migrate', exitCode: 1 }),
      expect.objectContaining({ kind: 'task-start-failure', environment: 'au', step: 'migrate' }),
      expect.objectContaining({ kind: 'deployment-failure', environment: 'eu', service: 'web' }),
      { kind: 'deployment-hang', environment: 'us', service: 'worker' },
    ]);
  });

  it.each([
    [['--fail-migration', 'mars'], /"mars" is not an environment of the demo; use one of us, eu, au/],
    [['--fail-deploy', 'eu'], /"eu" is not <environment>\/<service> of the demo/],
    [['--abort-during', 'plan'], /Allowed choices are migrate, deploy/],
    [['--time-scale', '-3'], /"-3" is not a positive number/],
  ])('refuses %j with exit code 64 and says what is allowed', async (argv, message) => {
    const { io, err } = captured();

    const code = await runDemo(argv, io);

    expect(code).toBe(64);
    expect(err()).toMatch(message);
  });

  it("says where the handlers' logs are and how to read one with aws logs tail", () => {
    const groups = [
      { verb: 'plan', group: '/stepdeploy/Sample-Deploy/plan', lines: 12 },
      { verb: 'roll-back', group: '/stepdeploy/Sample-Deploy/roll-back', lines: 0 },
      { verb: 'announce', group: '/stepdeploy/Sample-Deploy/announce', lines: 3 },
    ];

    const help = handlerLogsHelp('http://127.0.0.1:4566', groups, false);

    expect(help).toContain('  plan      /stepdeploy/Sample-Deploy/plan  (12 lines)');
    expect(help).toContain('  announce  /stepdeploy/Sample-Deploy/announce  (3 lines)');
    expect(help).not.toContain('roll-back');
    expect(help).toContain('npm run demo -- --keep');
    expect(help).toContain(
      '  aws --endpoint-url http://127.0.0.1:4566 logs tail /stepdeploy/Sample-Deploy/plan --since 1h',
    );
  });
});
