import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERBS } from '../../statemachine/handlers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: Array<{ path: string }>;
}

interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}

let work: string;
let app: string;
let packed: PackResult;

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(command, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'stepdeploy-package-'));
  // The global setup built dist/; packing runs no script.
  const output = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT);
  [packed] = JSON.parse(output) as PackResult[];

  // A fresh CDK app outside the repository, as a user starts one.
  app = path.join(work, 'app');
  mkdirSync(app);
  writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify({ name: 'releases', private: true, type: 'module' }, null, 2),
  );
  run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      path.join(work, packed.filename),
      `aws-cdk-lib@${manifest.devDependencies['aws-cdk-lib']}`,
      `constructs@${manifest.devDependencies.constructs}`,
      `@types/node@${manifest.devDependencies['@types/node']}`,
    ],
    app,
  );
  copyFileSync(path.join(ROOT, 'test/package/consumer-app.ts'), path.join(app, 'app.ts'));
  writeFileSync(
    path.join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        skipLibCheck: true,
        types: ['node'],
      },
      files: ['app.ts'],
    }),
  );
  // Type-checked against the package's declarations, then synthesized by plain Node.
  run(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app);
  run(process.execPath, ['app.js'], app, { ...process.env, CDK_OUTDIR: path.join(app, 'cdk.out') });
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function template(): Record<string, Resource> {
  const parsed = JSON.parse(readFileSync(path.join(app, 'cdk.out', 'Releases.template.json'), 'utf8')) as {
    Resources: Record<string, Resource>;
  };
  return parsed.Resources;
}

const ofType = (resources: Record<string, Resource>, type: string) =>
  Object.values(resources).filter((resource) => resource.Type === type);

describe('the stepdeploy package', () => {
  it('holds the compiled construct, the CLI and the bundled handlers, and no dev-only code', () => {
    const files = packed.files.map((file) => file.path);
    expect(files).toContain('dist/infra/index.js');
    expect(files).toContain('dist/infra/index.d.ts');
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('bin/tail-deploy.js');
    expect(files).toContain('dist/cli/stepdeploy-main.js');
    expect(files).toContain('bin/stepdeploy.js');
    expect(files).toContain('docs/stepdeploy.md');
    for (const verb of VERBS) expect(files).toContain(`dist/handlers/${verb}/index.js`);
    const devOnly = files.filter((file) => /^(local|bench|examples|test|lambdas|infra|cli)\//.test(file));
    expect(devOnly).toEqual([]);
    expect(files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
  });

  it('synthesizes a fresh two-environment CDK app: the state machine, the cleanup rule, the handler assets', () => {
    const resources = template();
    expect(ofType(resources, 'AWS::StepFunctions::StateMachine')).toHaveLength(1);
    const [rule] = ofType(resources, 'AWS::Events::Rule');
    expect(rule?.Properties?.EventPattern).toMatchObject({
      source: ['aws.states'],
      detail: { status: ['ABORTED', 'TIMED_OUT', 'FAILED'] },
    });
    const functions = ofType(resources, 'AWS::Lambda::Function');
    expect(functions).toHaveLength(VERBS.length);
    const assets = JSON.parse(readFileSync(path.join(app, 'cdk.out', 'Releases.assets.json'), 'utf8')) as {
      files: Record<string, { source: { path: string } }>;
    };
    for (const fn of functions) {
      expect(fn.Properties?.Handler).toBe('index.handler');
      const key = String((fn.Properties?.Code as { S3Key?: unknown } | undefined)?.S3Key);
      const asset = assets.files[key.replace(/\.zip$/, '')];
      expect(asset, `the asset of ${key}`).toBeDefined();
      const dir = path.join(app, 'cdk.out', asset.source.path);
      expect(existsSync(path.join(dir, 'index.js'))).toBe(true);
      expect(readFileSync(path.join(dir, 'package.json'), 'utf8')).toContain('"commonjs"');
    }
    const config = ofType(resources, 'AWS::SSM::Parameter').map((p) => String(p.Properties?.Name));
    expect(
      config.filter((name) => name.endsWith('/environments/us') || name.endsWith('/environments/eu')),
    ).toHaveLength(2);
  });

  it('installs the tail-deploy command, which runs compiled JavaScript', () => {
    const help = run(path.join(app, 'node_modules/.bin/tail-deploy'), ['--help'], app);
    expect(help).toContain('Usage: tail-deploy');
    expect(help).toContain('--drain-timeout');
  });

  it('installs the stepdeploy command, which runs compiled JavaScript', () => {
    const help = run(path.join(app, 'node_modules/.bin/stepdeploy'), ['--help'], app);
    expect(help).toContain('Usage: stepdeploy');
    for (const command of ['release', 'rollback', 'history', 'tail']) expect(help).toContain(`  ${command} `);
    const release = run(path.join(app, 'node_modules/.bin/stepdeploy'), ['release', '--help'], app);
    expect(release).toContain('--image <container=uri>');
    expect(release).toContain('--detach-on-interrupt');
  });
});
