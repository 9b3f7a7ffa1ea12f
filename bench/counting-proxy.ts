import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request that went through the proxy. */
export interface ProxiedCall {
  /** `X-Amz-Target` of the request (`Logs_20140328.GetLogEvents`), or `METHOD path` without one. */
  target: string;
  /** When it arrived (ms since the epoch). */
  atMs: number;
}

/** A counting proxy in front of an endpoint. */
export interface CountingProxy {
  /** `http://127.0.0.1:<port>`: give it to a client as its endpoint. */
  endpoint: string;
  /** Every call so far, in arrival order. */
  calls: ProxiedCall[];
  close(): Promise<void>;
}

/**
 * An HTTP proxy that forwards every request to `target` unchanged and records its
 * `X-Amz-Target` and arrival time: how the bench counts the calls a separate process (the
 * tail-deploy CLI) makes, without changing that process or the local AWS.
 */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const upstream = new URL(target);
  const calls: ProxiedCall[] = [];
  const server: Server = createServer((incoming, outgoing) => {
    const amzTarget = incoming.headers['x-amz-target'];
    calls.push({
      target: typeof amzTarget === 'string' ? amzTarget : `${incoming.method} ${incoming.url}`,
      atMs: Date.now(),
    });
    const forwarded = request(
      {
        hostname: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on('error', (error) => {
      outgoing.writeHead(502, { 'content-type': 'text/plain' });
      outgoing.end(`counting proxy: ${target} did not answer: ${error.message}`);
    });
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolvePromise) => server.listen(0, '127.0.0.1', resolvePromise));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolvePromise) => {
        server.closeAllConnections();
        server.close(() => resolvePromise());
      }),
  };
}
