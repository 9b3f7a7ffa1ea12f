import { afterEach, describe, expect, it } from 'vitest';
import { synthesizeSampleTemplate } from '../../../infra/synthesize.js';
import type { Plan } from '../../../lambdas/shared/types.js';
import { deployTemplate, type Template } from '../../../local/cloudformation.js';
import { LocalAws } from '../../../local/local-aws.js';

const started: LocalAws[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((local) => local.stop()));
});

/** The sample template with its global configuration parameter edited by `edit`. */
function withGlobalConfig(edit: (global: Record<string, unknown>) => void): Template {
  const template = synthesizeSampleTemplate() as Template;
  const resources = template.Resources as Record<
    string,
    { Type: string; Properties: Record<string, unknown> }
  >;
  const global = Object.values(resources).find(
    (resource) =>
      resource.Type === 'AWS::SSM::Parameter' && String(resource.Properties.Name).endsWith('/global'),
  );
  if (!global) throw new Error('the sample template has no global configuration parameter');
  const value = JSON.parse(String(global.Properties.Value)) as Record<string, unknown>;
  edit(value);
  global.Properties.Value = JSON.stringify(value);
  return template;
}

async function deployed(template: Template) {
  const local = await LocalAws.start({ port: 0, timeScale: 1000 });
  started.push(local);
  const stack = await deployTemplate(local, template);
  const plan = local.lambdas.list().find((fn) => fn.verb === 'plan');
  if (!plan) throw new Error('the template deploys no plan function');
  const executionArn = `${stack.stateMachineArn.replace(':stateMachine:', ':execution:')}:run-1`;
  return async (): Promise<Plan> =>
    (await local.lambdas.invoke(plan, {
      input: { release: '2026-11-26.1', images: { app: 'stepdeploy-demo/app:next' } },
      executionArn,
      stateMachineArn: stack.stateMachineArn,
    })) as Plan;
}

describe('the deploy configuration of in-process handlers', () => {
  it('is read from the Parameter Store of the local AWS that runs them, not from another one in the process', async () => {
    // Prepare: two local AWS instances with the same path but different configurations.
    const planEverywhere = await deployed(synthesizeSampleTemplate() as Template);
    const planUsOnly = await deployed(
      withGlobalConfig((global) => {
        global.environments = ['us'];
      }),
    );

    // Act
    const first = await planEverywhere();
    const usOnly = await planUsOnly();
    const again = await planEverywhere();

    // Assess
    expect(first.environments).toEqual(['us', 'eu', 'au']);
    expect(usOnly.environments).toEqual(['us']);
    expect(again.environments).toEqual(['us', 'eu', 'au']);
  });
});
