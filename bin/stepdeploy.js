#!/usr/bin/env node
// The compiled CLI, built by `npm run build` (and by `npm ci` in the repository, through `prepare`).
await import('../dist/cli/stepdeploy-main.js');
