import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface WebhookReceiver {
  url: string;
  /** Bodies received, parsed. */
  received: unknown[];
  /** Answer the next `times` posts with `status` instead of 200. */
  fail(status: number, times?: number): void;
  close(): Promise<void>;
}

/** A local https endpoint standing in for a Teams, Slack or Logic Apps incoming webhook. */
export async function startWebhookReceiver(options: {
  cert: string;
  key: string;
  /** Listen on this port (default: a free one). */
  port?: number;
}): Promise<WebhookReceiver> {
  const received: unknown[] = [];
  let failures: { status: number; left: number } | undefined;
  const read = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  const server = createServer({ cert: options.cert, key: options.key }, (req, res) => {
    void read(req).then((text) => {
      if (req.method !== 'POST' || !/^application\/json/.test(req.headers['content-type'] ?? '')) {
        res.writeHead(400).end('expected a JSON POST');
        return;
      }
      if (failures && failures.left > 0) {
        failures.left--;
        res.writeHead(failures.status).end();
        return;
      }
      received.push(JSON.parse(text));
      res.writeHead(200, { 'content-type': 'text/plain' }).end('1');
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  return {
    // A path with a token, as real incoming webhooks have: it must never appear in a log.
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/webhookb2/secret-token-do-not-log`,
    received,
    fail: (status, times = 1) => {
      failures = { status, left: times };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
