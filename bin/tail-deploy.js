#!/usr/bin/env node
// Runs the TypeScript source directly: tsx compiles it on the fly.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
