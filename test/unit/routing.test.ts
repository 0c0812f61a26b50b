import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config';
import { ConfigError } from '../../lib/errors';
import type { RowIdentity } from '../../lib/records/row';
import { createRouter } from '../../lib/routing/route';
import { validateRoutes } from '../../lib/routing/rules';

const identity = (overrides: Partial<RowIdentity>): RowIdentity => ({
  TimeGenerated: '2026-11-24T10:00:00Z',
  DataType: 'Alert',
  Category: '',
  RecordId: 'r',
  EventKey: 'k',
  AzureSubscriptionId: '00000000-0000-0000-0000-000000000001',
  Severity: 'Medium',
  State: '',
  DisplayName: '',
  Action: '',
  IsSnapshot: false,
  ...overrides,
});

const defaults = { stream: 'Custom-DefenderExport', oversize: 'split' as const };
const router = (rules: unknown) => createRouter(validateRoutes(rules).rules!, defaults);

describe('routing', () => {
  const route = router([
    {
      name: 'no informational alerts',
      match: { dataTypes: ['Alert'], minSeverity: 'Low' },
      to: ['logs', 'archive'],
      oversize: 'trim',
    },
    { match: { dataTypes: ['Alert'] }, to: ['drop'] },
    { match: { categories: ['devicenetworkevents'] }, to: ['logs:Custom-DefenderNetwork'] },
    { match: { snapshot: true }, to: ['archive'] },
    { match: { subscriptions: ['00000000-0000-0000-0000-00000000000A'], actions: ['Delete'] }, to: ['drop'] },
    { to: ['logs'] },
  ]);

  it('takes the first rule that matches', () => {
    expect(route(identity({ Severity: 'High' }))).toEqual({
      rule: 0,
      drop: false,
      streams: ['Custom-DefenderExport'],
      archive: true,
      oversize: 'trim',
    });
    expect(route(identity({ Severity: 'Informational' }))).toMatchObject({ rule: 1, drop: true });
  });

  it('treats an event without a severity as below any minimum', () => {
    expect(route(identity({ Severity: '' })).rule).toBe(1);
  });

  it('matches XDR categories and subscriptions case-insensitively', () => {
    expect(route(identity({ DataType: 'XdrEvent', Category: 'DeviceNetworkEvents' }))).toMatchObject({
      rule: 2,
      streams: ['Custom-DefenderNetwork'],
      archive: false,
      oversize: 'split',
    });
    expect(
      route(
        identity({
          DataType: 'Recommendation',
          AzureSubscriptionId: '00000000-0000-0000-0000-00000000000a',
          Action: 'Delete',
        }),
      ).rule,
    ).toBe(4);
  });

  it('separates weekly snapshots from streaming events', () => {
    expect(route(identity({ DataType: 'Recommendation', IsSnapshot: true })).rule).toBe(3);
    expect(route(identity({ DataType: 'Recommendation', IsSnapshot: false })).rule).toBe(5);
  });

  it('sends everything to logs and archive when ROUTES is not set', () => {
    const config = loadConfig({}, { delivery: false });
    expect(createRouter(config.ROUTES, defaults)(identity({}))).toMatchObject({
      streams: ['Custom-DefenderExport'],
      archive: true,
      drop: false,
    });
  });
});

describe('ROUTES validation', () => {
  const problems = (routes: string) => {
    try {
      loadConfig({ ROUTES: routes }, { delivery: false });
      return [];
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).problems;
    }
  };

  it('lists every problem at once, each with its place', () => {
    const found = problems(
      JSON.stringify([
        { match: { dataType: ['Alert'] }, to: ['logs'] },
        { match: { minSeverity: 'Critical' }, to: ['drop', 'archive'] },
        { to: ['logs:MyTable', 'elsewhere'] },
        { match: { dataTypes: ['Alert'] }, to: ['logs'] },
      ]),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ROUTES\.0\.match: Unrecognized key: "dataType"/),
        expect.stringMatching(/^ROUTES\.1\.match\.minSeverity: /),
        expect.stringMatching(/^ROUTES\.1\.to: drop cannot be combined/),
        expect.stringMatching(/^ROUTES\.2\.to\.0: /),
        expect.stringMatching(/^ROUTES\.2\.to\.1: /),
        expect.stringMatching(/^ROUTES\.3\.match: the last rule must match everything/),
      ]),
    );
    expect(found.length).toBeGreaterThanOrEqual(6);
  });

  it('says when ROUTES is not JSON', () => {
    expect(problems('[{"to": ["logs"]')).toEqual([expect.stringMatching(/^ROUTES: not valid JSON: /)]);
  });
});

describe('delivery settings', () => {
  it('names every missing setting and never echoes a value', () => {
    const secret = 'DefaultEndpointsProtocol=https;AccountName=x;AccountKey=c2VjcmV0;';
    try {
      loadConfig({
        LOGS_INGESTION_ENDPOINT: 'http://insecure.example',
        PARKED_CONTAINER: 'Bad_Name',
        STATE_STORAGE: secret,
      });
      expect.unreachable();
    } catch (error) {
      const { problems, message } = error as ConfigError;
      expect(problems).toEqual(
        expect.arrayContaining([
          'LOGS_INGESTION_ENDPOINT: must be an https:// URL',
          'PARKED_CONTAINER: is not a valid blob container name',
          expect.stringMatching(/^ARCHIVE_STORAGE: not set/),
        ]),
      );
      expect(message).not.toContain('c2VjcmV0');
    }
  });

  it('takes identity-based storage from __blobServiceUri and __tableServiceUri, with a user-assigned client id', () => {
    const config = loadConfig({
      LOGS_INGESTION_ENDPOINT: 'https://dce.westeurope-1.ingest.monitor.azure.com',
      LOGS_DCR_IMMUTABLE_ID: 'dcr-0123456789abcdef0123456789abcdef',
      ARCHIVE_STORAGE__blobServiceUri: 'https://archive.blob.core.windows.net',
      ARCHIVE_STORAGE__clientId: '11111111-1111-1111-1111-111111111111',
      AzureWebJobsStorage__accountName: 'funcstate',
    });
    expect(config.archiveStorage).toEqual({
      kind: 'identity',
      setting: 'ARCHIVE_STORAGE',
      serviceUri: 'https://archive.blob.core.windows.net',
      clientId: '11111111-1111-1111-1111-111111111111',
    });
    expect(config.stateStorage).toEqual({
      kind: 'identity',
      setting: 'AzureWebJobsStorage',
      serviceUri: 'https://funcstate.table.core.windows.net',
    });
  });
});
