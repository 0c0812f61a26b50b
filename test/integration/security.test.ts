import { InvocationContext } from '@azure/functions';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestHandler } from '../../functions/handlers/ingest';
import { hostMetadata } from '../helpers/hostMetadata';
import { loadConfig } from '../../lib/config';
import { postWebhook, webhookBody } from '../../lib/coverage/notify';
import { processBatch } from '../../lib/pipeline';
import { batchOf } from '../helpers/batches';
import { cli } from '../helpers/cli';
import { readContainer, startLocalAzure, type LocalAzure } from '../helpers/localAzure';
import { sampleText } from '../helpers/samples';

/** Secrets stay out of every log, parked item and dead letter; nothing from an event becomes a path. */
let local: LocalAzure;
beforeAll(async () => {
  local = await startLocalAzure();
});
afterAll(async () => {
  await local?.close();
});

const SECRET = 'S3cr3t-do-not-log';

describe('secrets', () => {
  it('a refused token, a storage failure and the resulting parked items and log lines carry no secret', async () => {
    local.logs.reset();
    const env: NodeJS.ProcessEnv = { ...local.env(), LOCAL_DEV_BEARER_TOKEN: `token-${SECRET}` }; // the stand-in answers 401
    const accountKey = /AccountKey=([^;]+)/.exec(env.AzureWebJobsStorage!)![1]!;
    const deps = await local.deps(env);
    local.proxy.inject({
      method: 'PUT',
      path: new RegExp(`/${env.ARCHIVE_CONTAINER}/`),
      status: 403,
      code: 'AuthorizationFailure',
      times: 1,
    });
    const lines: string[] = [];
    const context = new InvocationContext({
      functionName: 'ingestDefenderForCloud',
      triggerMetadata: hostMetadata(
        { partitionId: '0', messages: [{ body: '', sequenceNumber: 7, where: '' }] },
        'defender-cloud',
        '2026-11-24T10:15:00.000Z',
      ),
      logHandler: (_level, ...args) => lines.push(args.map(String).join(' ')),
    });
    const ledger = await ingestHandler(async () => deps)(
      [sampleText('alert-eventhub-example-1-sample-alert.json')],
      context,
    );
    local.proxy.clear();

    expect(ledger.destinations['logs:Custom-DefenderExport']?.parked).toBe(1);
    expect(ledger.destinations.archive?.parked).toBe(1);
    const parked = (await readContainer(deps.parking.container)).flatMap((b) => b.lines).join('\n');
    expect(parked).toContain('401');
    const everything = [...lines, parked].join('\n');
    for (const secret of [SECRET, accountKey, 'Bearer ', 'SharedKey '])
      expect(everything).not.toContain(secret);
  });

  it('invalid settings are named, never printed', async () => {
    const env = {
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      LOGS_INGESTION_ENDPOINT: `http://user:${SECRET}@example.com`,
      LOGS_DCR_IMMUTABLE_ID: `dcr-${SECRET}`,
      COVERAGE_DESTINATIONS:
        '/subscriptions/s/resourceGroups/r/providers/Microsoft.EventHub/namespaces/n/eventhubs/h',
      COVERAGE_WEBHOOK_URL: `http://hooks.example.com/x?sig=${SECRET}`,
      ROUTES: `[{"to":["${SECRET}"]}]`,
    };
    let message = '';
    try {
      loadConfig(env, { coverage: true });
    } catch (error) {
      message = (error as Error).message;
    }
    for (const name of ['LOGS_INGESTION_ENDPOINT', 'LOGS_DCR_IMMUTABLE_ID', 'COVERAGE_WEBHOOK_URL', 'ROUTES'])
      expect(message).toContain(name);
    expect(message).not.toContain(SECRET);
    const run = await cli(['replay', '-'], '', env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('LOGS_INGESTION_ENDPOINT');
    expect(run.stderr + run.stdout).not.toContain(SECRET);
  });

  it('the webhook is https only, never follows a redirect, gives up on a hung endpoint, and its URL is never in the reason', async () => {
    const body = webhookBody([], 'none');
    expect(await postWebhook(`http://127.0.0.1:1/hook?sig=${SECRET}`, body)).toEqual({
      ok: false,
      reason: 'the webhook URL must be https',
    });

    const tls = {
      cert: readFileSync(process.env.DEFENDER_EXPORT_DEV_CERT!),
      key: readFileSync(process.env.DEFENDER_EXPORT_DEV_KEY!),
    };
    const redirects: string[] = [];
    const server = createHttpsServer(tls, (req, res) => {
      if (req.url?.startsWith('/redirect')) {
        redirects.push(req.url);
        res.writeHead(302, { location: `http://127.0.0.1:1/stolen?sig=${SECRET}` }).end();
      }
      // /hang: never answers
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const redirected = await postWebhook(`https://127.0.0.1:${port}/redirect?sig=${SECRET}`, body, {
        attempts: 1,
      });
      expect(redirected.ok).toBe(false);
      expect(redirects).toHaveLength(1);
      const started = performance.now();
      const hung = await postWebhook(`https://127.0.0.1:${port}/hang?sig=${SECRET}`, body, {
        attempts: 1,
        timeoutMs: 200,
      });
      expect(hung.ok).toBe(false);
      expect(performance.now() - started).toBeLessThan(5_000);
      for (const result of [redirected, hung]) expect(JSON.stringify(result)).not.toContain(SECRET);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('names', () => {
  it('nothing from an event body, and no dot-only segment from metadata, becomes a blob path', async () => {
    local.logs.reset();
    const env = local.env();
    const deps = await local.deps(env);
    const hostile = JSON.parse(sampleText('alert-eventhub-example-1-sample-alert.json')) as Record<
      string,
      unknown
    >;
    Object.assign(hostile, {
      AlertType: '../../../etc/passwd',
      SystemAlertId: '..%2F..%2Fescape',
      AzureResourceId: '/subscriptions/../../x/resourceGroups/..',
      Severity: '/..',
    });
    const batch = { ...batchOf([JSON.stringify(hostile), '{"broken"'], { partitionId: '..' }), source: '..' };
    await processBatch(batch, deps);
    const names = [
      ...(await readContainer(deps.archive.container)),
      ...(await readContainer(deps.deadLetters.container)),
    ].map((b) => b.name);
    expect(names).toHaveLength(2);
    for (const name of names) {
      expect(name).toMatch(/^[a-z0-9=._/-]+$/);
      expect(name.split('/')).not.toContain('..');
      expect(name).not.toMatch(/passwd|escape/);
    }
  });
});
