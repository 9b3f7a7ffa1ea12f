import { App } from 'aws-cdk-lib';
import { SampleStack } from './sample-stack.js';
import { SAMPLE_ENV, SAMPLE_STACK_ID } from './synthesize.js';

/** The CDK app of `cdk.json`: the sample stack, its handlers the bundles `npm run build` made. */
const app = new App();
new SampleStack(app, SAMPLE_STACK_ID, { env: SAMPLE_ENV });
app.synth();
