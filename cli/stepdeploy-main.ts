import { main } from './stepdeploy.js';

// The SDK warns on every run under Node 20 that its releases after early 2027 need Node 22;
// the command's stderr is for its own messages, so the SDK's documented switch turns it off
// (https://github.com/aws/aws-sdk-js-v3/issues/7983).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// Output piped into a command that stopped reading (`| head`) ends the command quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

// The entry point of the `stepdeploy` command (see bin/stepdeploy.js).
process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
