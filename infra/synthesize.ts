import { App } from 'aws-cdk-lib';
import { SampleStack } from './sample-stack.js';

/** Id of the sample stack in the CDK app; the template is `cdk.out/<id>.template.json`. */
export const SAMPLE_STACK_ID = 'StepdeploySample';

/** Account and Region the sample is synthesized for (the local AWS's account). */
export const SAMPLE_ENV = { account: '000000000000', region: 'us-east-1' } as const;

/** Context that makes the CDK skip asset bundling for every stack. */
export const SKIP_BUNDLING_CONTEXT = { 'aws:cdk:bundling-stacks': [] as string[] };

/**
 * Adds the sample stack to an app. With `skipBundling`, the handlers are not
 * bundled: the template names placeholder assets, which is all the tests and
 * the local AWS need (they load the handler modules from source).
 */
export function sampleApp(options: { bundle?: boolean; outdir?: string } = {}): {
  app: App;
  stack: SampleStack;
} {
  const app = new App({
    context: options.bundle ? {} : SKIP_BUNDLING_CONTEXT,
    outdir: options.outdir,
  });
  const stack = new SampleStack(app, SAMPLE_STACK_ID, { env: SAMPLE_ENV });
  return { app, stack };
}

/** The sample stack's CloudFormation template, bundling skipped unless `bundle` is set. */
export function synthesizeSampleTemplate(options: { bundle?: boolean } = {}): Record<string, unknown> {
  const { app, stack } = sampleApp(options);
  return app.synth({ validateOnSynthesis: false }).getStackArtifact(stack.artifactId).template as Record<
    string,
    unknown
  >;
}
