import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { synthesizeSampleTemplate } from '../../infra/synthesize.js';
import { extractDefinition, type Template } from '../../statemachine/asl.js';
import { dotSourceOf } from '../../statemachine/export-diagram.js';

describe('dotSourceOf', () => {
  it('draws transitions, labelled Choice rules and dashed Catch routes', () => {
    const dot = dotSourceOf({
      StartAt: 'Work',
      States: {
        Work: {
          Type: 'Task',
          Resource: 'arn:aws:lambda:us-east-1:000000000000:function:work',
          Next: 'Done?',
          Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Failed' }],
        },
        'Done?': {
          Type: 'Choice',
          Choices: [
            { Variable: '$.status', StringEquals: 'RUNNING', Next: 'Work' },
            {
              Or: [
                { Variable: '$.status', StringEquals: 'SUCCEEDED' },
                { Variable: '$.status', StringEquals: 'SKIPPED' },
              ],
              Next: 'Ok',
            },
          ],
          Default: 'Failed',
        },
        Ok: { Type: 'Succeed' },
        Failed: { Type: 'Fail' },
      },
    });
    expect(dot).toContain('"start" -> "Work";');
    expect(dot).toContain('"Work" -> "Done?";');
    expect(dot).toContain('"Done?" -> "Work" [label="RUNNING"];');
    expect(dot).toContain('"Done?" -> "Ok" [label="SUCCEEDED | SKIPPED"];');
    expect(dot).toContain('"Done?" -> "Failed" [label="otherwise"];');
    expect(dot).toMatch(/"Work" -> "Failed" \[style=dashed.*label="error"\];/);
    expect(dot).toMatch(/"Done\?" \[label="Done\?", shape=diamond/);
  });
});

describe('docs/flow.asl.json', () => {
  it('is the definition the CDK app synthesizes now (run `npm run diagram` after changing the flow)', () => {
    const committed = JSON.parse(readFileSync(new URL('../../docs/flow.asl.json', import.meta.url), 'utf8'));
    expect(committed).toEqual(extractDefinition(synthesizeSampleTemplate() as Template));
  });
});
