import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCountingProxy } from '../../bench/counting-proxy.js';

describe('startCountingProxy', () => {
  let upstream: Server;
  let endpoint: string;
  beforeAll(async () => {
    upstream = createServer((incoming, outgoing) => {
      let body = '';
      incoming.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      incoming.on('end', () => {
        outgoing.writeHead(200, { 'content-type': 'application/json' });
        outgoing.end(JSON.stringify({ target: incoming.headers['x-amz-target'], body }));
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => upstream.close(() => resolve())));

  it('forwards requests unchanged and records each target in order', async () => {
    const proxy = await startCountingProxy(endpoint);
    try {
      const call = async (target: string, body: string) =>
        (await fetch(proxy.endpoint, { method: 'POST', headers: { 'x-amz-target': target }, body })).json();

      expect(await call('Logs_20140328.GetLogEvents', '{"a":1}')).toEqual({
        target: 'Logs_20140328.GetLogEvents',
        body: '{"a":1}',
      });
      await call('AWSStepFunctions.GetExecutionHistory', '{}');

      expect(proxy.calls.map((c) => c.target)).toEqual([
        'Logs_20140328.GetLogEvents',
        'AWSStepFunctions.GetExecutionHistory',
      ]);
      expect(proxy.calls[0].atMs).toBeLessThanOrEqual(proxy.calls[1].atMs);
    } finally {
      await proxy.close();
    }
  });
});
