import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { synthesizeBenchTemplate } from '../bench/bench-stack.js';
import { synthesizeSampleTemplate } from './synthesize.js';

/**
 * cfn-lint findings these templates have by construction, each with the reason it is accepted:
 * - W3005: CDK gives every function and the state machine a `DependsOn` on their role beside
 *   the `Fn::GetAtt` of it (and of its default policy), which orders the policy's creation.
 * - W3010: both stacks are synthesized for a fixed account and Region without a context
 *   lookup, so CDK writes the VPCs' Availability Zones out (us-east-1a, us-east-1b).
 */
const ACCEPTED_CHECKS = ['W3005', 'W3010'];

/**
 * Synthesizes the sample stack and a small bench stack (2 environments x 3 services, the
 * shape of the 20 x 20 one) into a temporary directory and runs cfn-lint over both; exits
 * with cfn-lint's status, so an error or an unexplained warning fails the build.
 */
function main(): number {
  const dir = mkdtempSync(path.join(tmpdir(), 'stepdeploy-cfn-lint-'));
  try {
    const templates = {
      'sample.template.json': synthesizeSampleTemplate(),
      'bench.template.json': synthesizeBenchTemplate({
        environments: 2,
        services: 3,
        timeScale: 1,
        migration: Duration.minutes(10),
        step: Duration.seconds(30),
        readyWait: Duration.minutes(60),
      }).template,
    };
    const files = Object.entries(templates).map(([name, template]) => {
      const file = path.join(dir, name);
      writeFileSync(file, JSON.stringify(template, null, 1));
      return file;
    });
    const lint = spawnSync('cfn-lint', ['--ignore-checks', ...ACCEPTED_CHECKS, '--', ...files], {
      stdio: 'inherit',
    });
    if (lint.error) {
      process.stderr.write(
        `lint:cfn: cannot run cfn-lint (${lint.error.message}); install it with \`python3 -m pip install -r .ci/requirements.txt\`.\n`,
      );
      return 1;
    }
    if (lint.status === 0) process.stdout.write(`cfn-lint: ${files.length} templates, no findings.\n`);
    return lint.status ?? 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = main();
