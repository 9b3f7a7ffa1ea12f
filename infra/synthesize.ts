import { App } from 'aws-cdk-lib';
import { SampleStack } from './sample-stack.js';

/** Id of the sample stack in the CDK app; the template is `cdk.out/<id>.template.json`. */
export const SAMPLE_STACK_ID = 'StepdeploySample';

/** Account and Region the sample is synthesized for (the local AWS's account). */
export const SAMPLE_ENV = { account: '000000000000', region: 'us-east-1' } as const;

/** Adds the sample stack to an app (its handlers are the bundles `npm run build` made). */
export function sampleApp(options: { outdir?: string } = {}): { app: App; stack: SampleStack } {
  const app = new App({ outdir: options.outdir });
  const stack = new SampleStack(app, SAMPLE_STACK_ID, { env: SAMPLE_ENV });
  return { app, stack };
}

/** The sample stack's CloudFormation template. */
export function synthesizeSampleTemplate(): Record<string, unknown> {
  const { app, stack } = sampleApp();
  return app.synth({ validateOnSynthesis: false }).getStackArtifact(stack.artifactId).template as Record<
    string,
    unknown
  >;
}
