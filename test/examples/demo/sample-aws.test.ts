import { describe, expect, it } from 'vitest';
import { releaseInput, releaseNameAt, withRunTimeout } from '../../../examples/demo/sample-aws.js';

const template = (definitionEnd: string) => ({
  Resources: {
    Machine: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: {
        DefinitionString: {
          'Fn::Join': [
            '',
            [
              '{"StartAt":"Plan","States":{"Plan":{"TimeoutSeconds":150,"Resource":"',
              { Ref: 'Fn' },
              definitionEnd,
            ],
          ],
        },
      },
    },
  },
});

describe('examples/demo/sample-aws.ts', () => {
  it('names a release after the time, as the release field allows', () => {
    const name = releaseNameAt(new Date('2026-11-26T06:42:10.123Z'));

    expect(name).toBe('demo-20261126-064210');
    expect(name).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
  });

  it('builds the execution input with the image tagged by the release', () => {
    expect(releaseInput('r1', { environments: ['eu'] })).toEqual({
      release: 'r1',
      images: { app: 'stepdeploy-demo/app:r1' },
      environments: ['eu'],
    });
  });

  it("sets the execution timeout, leaving the states' own timeouts alone", () => {
    const original = template('","End":true}},"TimeoutSeconds":21600}');

    const patched = withRunTimeout(original, 1200) as typeof original;

    const parts = patched.Resources.Machine.Properties.DefinitionString['Fn::Join'][1];
    expect(parts[0]).toContain('"TimeoutSeconds":150');
    expect(parts.at(-1)).toBe('","End":true}},"TimeoutSeconds":1200}');
    expect(original.Resources.Machine.Properties.DefinitionString['Fn::Join'][1].at(-1)).toContain('21600');
  });

  it('refuses a definition whose execution timeout it cannot find', () => {
    expect(() => withRunTimeout(template('","End":true}}}'), 60)).toThrow(
      /does not end with its TimeoutSeconds/,
    );
  });
});
