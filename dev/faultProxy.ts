import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A planned failure of the requests that match `method` and `path`. */
export interface ProxyFault {
  method?: string;
  path?: RegExp;
  /** Answer with this status (and x-ms-error-code `code`) instead of forwarding. */
  status?: number;
  code?: string;
  /** Drop the connection instead of answering. */
  reset?: boolean;
  /** How many matching requests fail (default Infinity, until clear()). */
  times?: number;
}

export interface FaultProxy {
  port: number;
  inject(fault: ProxyFault): void;
  clear(): void;
  /** How many requests each injected fault has failed. */
  failed(): number;
  close(): Promise<void>;
}

/**
 * A plain reverse proxy in front of Azurite that fails chosen requests: an outage of one container, a
 * storage service returning 503, a connection reset. The SDKs see real network behaviour, and the shared
 * key signature stays valid because path and headers pass through unchanged.
 */
export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  let faults: Array<ProxyFault & { left: number }> = [];
  let failedCount = 0;

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const upstream = request(
      { host: target.host, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  };

  const server = createServer((req, res) => {
    const fault = faults.find(
      (f) => f.left > 0 && (!f.method || f.method === req.method) && (!f.path || f.path.test(req.url ?? '')),
    );
    if (!fault) return forward(req, res);
    fault.left--;
    failedCount++;
    req.resume();
    if (fault.reset) return req.socket.destroy();
    const code = fault.code ?? 'ServerBusy';
    res
      .writeHead(fault.status ?? 503, { 'x-ms-error-code': code, 'content-type': 'application/xml' })
      .end(
        `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>injected by the fault proxy</Message></Error>`,
      );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    port: (server.address() as AddressInfo).port,
    inject: (fault) => faults.push({ ...fault, left: fault.times ?? Infinity }),
    clear: () => {
      faults = [];
    },
    failed: () => failedCount,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
