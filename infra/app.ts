import { App } from 'aws-cdk-lib';
import { SampleStack } from './sample-stack.js';
import { SAMPLE_ENV, SAMPLE_STACK_ID, SKIP_BUNDLING_CONTEXT } from './synthesize.js';

/**
 * The CDK app of `cdk.json`: the sample stack. `npx cdk synth -c skipBundling=true`
 * leaves the handlers unbundled (placeholder assets), for a fast look at the template.
 */
const app = new App();
const skip = app.node.tryGetContext('skipBundling');
if (skip === true || skip === 'true') {
  for (const [key, value] of Object.entries(SKIP_BUNDLING_CONTEXT)) app.node.setContext(key, value);
}
new SampleStack(app, SAMPLE_STACK_ID, { env: SAMPLE_ENV });
app.synth();
