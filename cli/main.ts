import { main } from './tail-deploy.js';

// The entry point of the `tail-deploy` command (see bin/tail-deploy.js).
process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
