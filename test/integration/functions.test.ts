import { InvocationContext, type LogLevel } from '@azure/functions';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ingestDefenderForCloud } from '../../functions/ingestDefenderForCloud';
import { ingestDefenderXdr } from '../../functions/ingestDefenderXdr';
import { reconcileCoverage } from '../../functions/reconcileCoverage';
import type { Ledger } from '../../lib/ledger';
import { cli } from '../helpers/cli';
import { readContainer, startLocalAzure, type LocalAzure } from '../helpers/localAzure';
import { eventHubSampleBodies } from '../helpers/batches';
import { sample, sampleText } from '../helpers/samples';

let local: LocalAzure;
beforeAll(async () => {
  local = await startLocalAzure();
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await local?.close();
});

describe('the Event Hub functions, called as the host calls them', () => {
  it('take host-shaped, camelCased trigger metadata and log the ledger as one structured line', async () => {
    const env = local.env();
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    local.logs.reset();
    const logged: Array<[LogLevel, string]> = [];
    // The host hands JSON bodies over parsed, other bodies as strings or bytes.
    const messages = [
      sample('assessment-eventhub-example-2-insert.json'),
      Buffer.from(sampleText('subassessment-eventhub-example-1.json')),
    ];
    const context = new InvocationContext({
      functionName: 'ingestDefenderForCloud',
      logHandler: (level, ...args) => logged.push([level, String(args[0])]),
      triggerMetadata: {
        partitionContext: {
          consumerGroup: '$Default',
          eventHubName: 'defender-cloud',
          fullyQualifiedNamespace: 'ns.servicebus.windows.net',
          partitionId: '3',
        },
        sequenceNumberArray: [500, 501],
        enqueuedTimeUtcArray: ['2026-11-24T11:05:00.000Z', '2026-11-24T11:05:01.000Z'],
        offsetArray: ['8000', '12000'],
        partitionKeyArray: [null, null],
        propertiesArray: [{}, {}],
        systemPropertiesArray: [{}, {}],
      },
    });
    const ledger = await ingestDefenderForCloud(messages, context);
    expect(ledger).toMatchObject({ received: 2, routed: 2, problems: [] });
    const archive = await readContainer(local.blobs.getContainerClient(env.ARCHIVE_CONTAINER!));
    expect(archive.map((b) => b.name).sort()).toEqual([
      'recommendation/y=2026/m=11/d=24/h=11/defender-cloud-p3-500-501.ndjson.gz',
      'securityfinding/y=2026/m=11/d=24/h=11/defender-cloud-p3-500-501.ndjson.gz',
    ]);
    expect(local.logs.accepted().map((row) => row.TimeGenerated)).toContain('2026-11-24T11:05:00.000Z');
    expect(logged).toHaveLength(1);
    const [level, line] = logged[0]!;
    expect(level).toBe('information');
    expect(JSON.parse(line)).toMatchObject({
      source: 'defender-cloud',
      partitionId: '3',
      firstSequenceNumber: 500,
      lastSequenceNumber: 501,
      ledger: { received: 2 },
    });
    expect(line).not.toContain(env.LOCAL_DEV_BEARER_TOKEN);
  });

  it('handles the XDR hub the same way', async () => {
    const ledger: Ledger = await ingestDefenderXdr(
      [sample('mde-streaming-eventhub-envelope-example-1.json')],
      new InvocationContext({ functionName: 'ingestDefenderXdr', logHandler: () => undefined }),
    );
    expect(ledger).toMatchObject({ received: 1, routed: 1, problems: [] });
  });
});

describe('defender-export replay', () => {
  it('runs files through the function against the configured sinks and prints the ledger as JSON', async () => {
    local.logs.reset();
    const env = local.env();
    const dir = mkdtempSync(join(tmpdir(), 'defender-export-replay-'));
    const file = join(dir, 'events.ndjson');
    const bodies = eventHubSampleBodies().map((text) => JSON.stringify(JSON.parse(text)));
    writeFileSync(file, `${[...bodies, '{"not json'].join('\n')}\n`);
    const { code, stdout, stderr } = await cli(
      [
        'replay',
        file,
        '--json',
        '--batch-size',
        '4',
        '--partitions',
        '2',
        '--source',
        'defender-cloud',
        '--enqueued-time',
        '2026-11-24T12:00:00Z',
      ],
      '',
      env,
    );
    expect(code).toBe(1); // one line was not JSON and went to dead-letter
    const ledger = JSON.parse(stdout.trim().split('\n').pop()!) as Ledger;
    expect(ledger).toMatchObject({ messages: bodies.length + 1, invalid: 1, problems: [] });
    expect(ledger.destinations['logs:Custom-DefenderExport']).toMatchObject({ delivered: ledger.routed });
    expect(stderr).toMatch(/accounted for: all \d+ received/);
    expect(stderr).toMatch(/^dead-lettered input: body is not valid JSON/m);
    const names = (await readContainer(local.blobs.getContainerClient(env.ARCHIVE_CONTAINER!))).map(
      (b) => b.name,
    );
    expect(names).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/\/h=12\/defender-cloud-p0-0-3\.ndjson\.gz$/),
        expect.stringMatching(/\/defender-cloud-p1-0-3\.ndjson\.gz$/),
      ]),
    );
    const deadLetters = await readContainer(local.blobs.getContainerClient(env.DEADLETTER_CONTAINER!));
    expect(deadLetters.flatMap((b) => b.lines.map((l) => JSON.parse(l).body))).toEqual(['{"not json']);
  });

  it('says why when delivery fails: the first failure per destination and the dead-letter reason', async () => {
    local.logs.reset();
    local.logs.inject({
      status: 400,
      code: 'InvalidRecord',
      times: Infinity,
      when: (rows) => rows.some((row) => JSON.stringify(row).includes('POISON')),
    });
    try {
      const poisoned = { SystemAlertId: 'poisoned-1', AlertType: 'X', AlertDisplayName: 'POISON' };
      const bodies = [
        ...eventHubSampleBodies().map((text) => JSON.stringify(JSON.parse(text))),
        JSON.stringify(poisoned),
      ];
      const { code, stderr } = await cli(
        ['replay', '-', '--source', 'defender-cloud', '--enqueued-time', '2026-11-24T12:00:00Z'],
        `${bodies.join('\n')}\n`,
        local.env(),
      );
      expect(code).toBe(1);
      expect(stderr).toMatch(
        /^logs:Custom-DefenderExport: \d+ delivered, 0 parked, 1 dead-lettered \(of \d+\); first failure: HTTP 400 InvalidRecord .*\(request [0-9a-f-]{36}\)$/m,
      );
      expect(stderr).toMatch(
        /^dead-lettered logs: Logs Ingestion refused part 1 of 1 for logs:Custom-DefenderExport: HTTP 400/m,
      );
    } finally {
      local.logs.clearFaults();
    }
  });

  it('exits 2 and lists every missing setting when the configuration is incomplete', async () => {
    const { code, stderr } = await cli(['replay', '-'], '', { ROUTES: '[{"to":["logs"]}]' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/LOGS_INGESTION_ENDPOINT: is required/);
    expect(stderr).toMatch(/LOGS_DCR_IMMUTABLE_ID: is required/);
    expect(stderr).toMatch(/ARCHIVE_STORAGE: not set/);
  });
});

describe('the reconcileCoverage timer', () => {
  it('stays off, saying why, while COVERAGE_DESTINATIONS is unset', async () => {
    vi.stubEnv('COVERAGE_DESTINATIONS', '');
    const warnings: string[] = [];
    const report = await reconcileCoverage(
      {},
      new InvocationContext({
        logHandler: (level, message) => level === 'warning' && warnings.push(String(message)),
      }),
    );
    expect(report).toBeUndefined();
    expect(warnings).toEqual([
      expect.stringMatching(/coverage reconciliation is off: set COVERAGE_DESTINATIONS/),
    ]);
  });
});
