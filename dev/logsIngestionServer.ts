import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** The API version @azure/monitor-ingestion 1.2.0 sends; the service rejects others. */
export const API_VERSION = '2023-01-01';
/** One call may carry at most 1 MB, compressed or not. */
export const MAX_CALL_BYTES = 1_048_576;

/** A planned failure: the next `times` matching requests get `status` instead of being ingested. */
export interface Fault {
  status: number;
  code?: string;
  /** How many requests fail (default 1; Infinity until clearFaults()). */
  times?: number;
  /** Sent as Retry-After (seconds) / retry-after-ms, as the service does with 429 and 503. */
  retryAfterSeconds?: number;
  retryAfterMs?: number;
  /** Only requests whose records satisfy this fail (a poisoned row); others are ingested. */
  when?: (records: Array<Record<string, unknown>>) => boolean;
  /** Answer only after this long (a slow or hung service); with status 204 the records are then ingested. */
  delayMs?: number;
  /** Drop the connection instead of answering (a network failure mid-request). */
  reset?: boolean;
}

export interface IngestionRequest {
  stream: string;
  status: number;
  records: number;
  wireBytes: number;
  gzip: boolean;
}

export interface LogsIngestionStandIn {
  /** The data collection endpoint, e.g. https://127.0.0.1:PORT */
  url: string;
  ruleId: string;
  token: string;
  /** Records ingested so far, per stream. */
  accepted(stream?: string): Array<Record<string, unknown>>;
  /** How many records were ingested, kept or not. */
  acceptedCount(): number;
  requests: IngestionRequest[];
  inject(fault: Fault): void;
  clearFaults(): void;
  reset(): void;
  close(): Promise<void>;
}

export interface StandInOptions {
  cert: string;
  key: string;
  /** Keep accepted records (default); off for volume runs, which only count them. */
  keep?: boolean;
  ruleId?: string;
  streams?: string[];
  token?: string;
  port?: number;
}

function reply(
  res: ServerResponse,
  status: number,
  code?: string,
  message?: string,
  headers: Record<string, string> = {},
): void {
  const requestId = randomUUID();
  const base = { 'x-ms-request-id': requestId, ...headers };
  if (status === 204) {
    res.writeHead(204, base).end();
    return;
  }
  const body = JSON.stringify({ error: { code: code ?? 'Error', message: message ?? code ?? 'error' } });
  res
    .writeHead(status, { ...base, 'content-type': 'application/json', 'x-ms-error-code': code ?? 'Error' })
    .end(body);
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * A local https stand-in for the Logs Ingestion API (`POST /dataCollectionRules/{ruleId}/streams/{stream}
 * ?api-version=2023-01-01`, bearer token, gzip or plain JSON array, 1 MB per call, 204 on success, errors as
 * `{"error":{"code","message"}}` with x-ms-error-code). It keeps what it accepted, and fails on request
 * (`inject`) the way the service does, Retry-After included.
 */
export async function startLogsIngestionStandIn(options: StandInOptions): Promise<LogsIngestionStandIn> {
  const ruleId = options.ruleId ?? 'dcr-00000000000000000000000000000001';
  const streams = new Set(options.streams ?? ['Custom-DefenderExport']);
  const token = options.token ?? randomUUID();
  const accepted = new Map<string, Array<Record<string, unknown>>>();
  let acceptedCount = 0;
  const requests: IngestionRequest[] = [];
  let faults: Array<Fault & { left: number }> = [];

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://localhost');
    if (url.pathname === '/_standin/stats' && req.method === 'GET') {
      // Not part of the service's API: lets a process that started the stand-in elsewhere read its counts.
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ accepted: acceptedCount, requests: requests.length }));
      return;
    }
    const match = /^\/dataCollectionRules\/([^/]+)\/streams\/([^/]+)$/.exec(url.pathname);
    if (!match) return reply(res, 404, 'NotFound', `no such path: ${url.pathname}`);
    if (req.method !== 'POST') return reply(res, 405, 'MethodNotAllowed', 'use POST');
    if (url.searchParams.get('api-version') !== API_VERSION) {
      return reply(res, 400, 'InvalidApiVersion', `api-version must be ${API_VERSION}`);
    }
    if (req.headers.authorization !== `Bearer ${token}`) {
      return reply(res, 401, 'InvalidAuthenticationToken', 'missing or invalid bearer token');
    }
    const [, rule, stream] = match as unknown as [string, string, string];
    if (decodeURIComponent(rule) !== ruleId)
      return reply(res, 404, 'NotFound', 'data collection rule not found');
    const streamName = decodeURIComponent(stream);
    if (!streams.has(streamName))
      return reply(res, 400, 'InvalidStream', `stream ${streamName} is not declared in the DCR`);
    if (!/^application\/json/i.test(req.headers['content-type'] ?? '')) {
      return reply(res, 415, 'UnsupportedMediaType', 'content-type must be application/json');
    }
    const wire = await readBody(req, MAX_CALL_BYTES);
    if (!wire)
      return reply(res, 413, 'ContentLengthLimitExceeded', `the call exceeds ${MAX_CALL_BYTES} bytes`);
    const gzipped = /gzip/i.test(req.headers['content-encoding'] ?? '');
    let records: unknown;
    try {
      const text = gzipped ? gunzipSync(wire, { maxOutputLength: MAX_CALL_BYTES }) : wire;
      records = JSON.parse(text.toString('utf8'));
    } catch (error) {
      const tooBig = (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
      return tooBig
        ? reply(
            res,
            413,
            'ContentLengthLimitExceeded',
            `the call exceeds ${MAX_CALL_BYTES} bytes uncompressed`,
          )
        : reply(res, 400, 'InvalidPayload', `body is not gzip of a JSON array: ${(error as Error).message}`);
    }
    if (
      !Array.isArray(records) ||
      records.some((r) => typeof r !== 'object' || r === null || Array.isArray(r))
    ) {
      return reply(res, 400, 'InvalidPayload', 'body must be a JSON array of objects');
    }
    const rows = records as Array<Record<string, unknown>>;
    const log = (status: number) =>
      requests.push({
        stream: streamName,
        status,
        records: rows.length,
        wireBytes: wire.length,
        gzip: gzipped,
      });
    const fault = faults.find((f) => f.left > 0 && (!f.when || f.when(rows)));
    if (fault) {
      fault.left--;
      if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (fault.reset) {
        log(0);
        req.socket.destroy();
        return;
      }
      // A slow success (status 204) is ingested as any other request, below.
      if (fault.status !== 204) {
        log(fault.status);
        const headers: Record<string, string> = {};
        if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
        if (fault.retryAfterMs !== undefined) headers['retry-after-ms'] = String(fault.retryAfterMs);
        return reply(
          res,
          fault.status,
          fault.code ?? `Injected${fault.status}`,
          'injected by the stand-in',
          headers,
        );
      }
    }
    acceptedCount += rows.length;
    if (options.keep !== false) {
      const list = accepted.get(streamName) ?? [];
      for (const row of rows) list.push(row);
      accepted.set(streamName, list);
    }
    log(204);
    return reply(res, 204);
  };

  const server: Server = createServer({ cert: options.cert, key: options.key }, (req, res) => {
    handle(req, res).catch((error: unknown) => reply(res, 500, 'InternalServerError', String(error)));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `https://127.0.0.1:${port}`,
    ruleId,
    token,
    accepted: (stream) => (stream ? (accepted.get(stream) ?? []) : [...accepted.values()].flat()),
    acceptedCount: () => acceptedCount,
    requests,
    inject: (fault) => faults.push({ ...fault, left: fault.times ?? 1 }),
    clearFaults: () => {
      faults = [];
    },
    reset: () => {
      faults = [];
      acceptedCount = 0;
      accepted.clear();
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
