import {
  CodeDeployClient,
  GetDeploymentGroupCommand,
  type GetDeploymentGroupCommandInput,
} from '@aws-sdk/client-codedeploy';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { planWaves } from '../../../lambdas/plan/waves.js';
import { createClients } from '../../../lambdas/shared/clients.js';
import type { WaveConfig } from '../../../lambdas/shared/config.js';
import { ValidationError } from '../../../lambdas/shared/errors.js';
import { testConfig } from '../shared/fixtures.js';

const codedeploy = mockClient(CodeDeployClient);
const clients = createClients({ codedeploy: CodeDeployClient });

/** Serves GetDeploymentGroup: the groups named wait in Ready (STOP_DEPLOYMENT), the others shift at once. */
function serveGroups(waiting: string[]): void {
  codedeploy.on(GetDeploymentGroupCommand).callsFake((input: GetDeploymentGroupCommandInput) => ({
    deploymentGroupInfo: {
      deploymentGroupName: input.deploymentGroupName,
      blueGreenDeploymentConfiguration: {
        deploymentReadyOption: waiting.includes(input.deploymentGroupName ?? '')
          ? { actionOnTimeout: 'STOP_DEPLOYMENT', waitTimeInMinutes: 60 }
          : { actionOnTimeout: 'CONTINUE_DEPLOYMENT', waitTimeInMinutes: 0 },
      },
    },
  }));
}

describe('planWaves', () => {
  beforeEach(() => {
    codedeploy.reset();
  });

  it('keeps the configured order, the run’s environments only, and drops a wave left empty', async () => {
    // Prepare
    const waves: WaveConfig[] = [
      { environments: ['us'], cutover: 'independent' },
      { environments: ['eu', 'au'], cutover: 'together' },
    ];

    // Act
    const planned = await planWaves(clients, testConfig({ waves }), ['au', 'eu']);

    // Assess
    expect(planned).toEqual([{ environments: ['eu', 'au'], cutover: 'together' }]);
    expect(codedeploy).not.toHaveReceivedAnyCommand();
  });

  it('without waves configured, deploys every environment of the run in one wave, cut over independently', async () => {
    expect(await planWaves(clients, testConfig(), ['us', 'au'])).toEqual([
      { environments: ['us', 'au'], cutover: 'independent' },
    ]);
  });

  it.each<[string, WaveConfig['cutover'], string[], 'together' | 'independent']>([
    ['detect, every group waits in Ready', 'detect', ['eu-web', 'eu-worker'], 'together'],
    ['detect, one group shifts at once', 'detect', ['eu-web'], 'independent'],
    ['verify, every group waits in Ready', 'verify', ['eu-web', 'eu-worker'], 'together'],
  ])('reads the groups synth could not: %s → %s', async (_name, cutover, waiting, decided) => {
    // Prepare
    serveGroups(waiting);

    // Act
    const planned = await planWaves(clients, testConfig({ waves: [{ environments: ['eu'], cutover }] }), [
      'eu',
    ]);

    // Assess
    expect(planned).toEqual([{ environments: ['eu'], cutover: decided }]);
    expect(codedeploy).toHaveReceivedCommandWith(GetDeploymentGroupCommand, {
      applicationName: 'eu-app',
      deploymentGroupName: 'eu-worker',
    });
  });

  it('refuses a run whose together wave has an imported group without a ready wait, naming it and the fix', async () => {
    // Prepare
    serveGroups(['eu-web']);

    // Act
    const attempt = planWaves(clients, testConfig({ waves: [{ environments: ['eu'], cutover: 'verify' }] }), [
      'eu',
    ]);

    // Assess
    await expect(attempt).rejects.toThrow(ValidationError);
    await expect(attempt).rejects.toThrow(
      /eu-app\/eu-worker \(eu\/worker, eu-west-1\) has no ready wait.*Nothing was started.*deploymentApprovalWaitTime.*cutover to 'independent'/,
    );
  });
});
