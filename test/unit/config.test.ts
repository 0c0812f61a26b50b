import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, loadWorkerConfig } from '../../lib/config';
import { ConfigError } from '../../lib/errors';

const coverageEnv = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  COVERAGE_DESTINATIONS:
    '/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventHub/namespaces/n/eventhubs/h',
};

describe('COVERAGE_SCOPE', () => {
  it('reads `all` (any casing) and blank as every subscription the identity can see', () => {
    for (const value of ['all', ' ALL ', '']) {
      const config = loadConfig(
        { ...coverageEnv, COVERAGE_SCOPE: value },
        { delivery: false, coverage: true },
      );
      expect(config.COVERAGE_SCOPE).toBeUndefined();
    }
  });

  it('reads a comma-separated list of subscription ids', () => {
    const config = loadConfig(
      {
        ...coverageEnv,
        COVERAGE_SCOPE: '11111111-1111-1111-1111-111111111111, 22222222-2222-2222-2222-222222222222',
      },
      { delivery: false, coverage: true },
    );
    expect(config.COVERAGE_SCOPE).toEqual([
      '11111111-1111-1111-1111-111111111111',
      '22222222-2222-2222-2222-222222222222',
    ]);
  });

  it('refuses what is neither, naming the setting', () => {
    expect(() =>
      loadConfig(
        { ...coverageEnv, COVERAGE_SCOPE: 'all,/subscriptions/x' },
        { delivery: false, coverage: true },
      ),
    ).toThrow(ConfigError);
    expect(() =>
      loadConfig({ ...coverageEnv, COVERAGE_SCOPE: '/subscriptions/x' }, { delivery: false, coverage: true }),
    ).toThrow(/COVERAGE_SCOPE/);
  });
});

describe('boolean settings', () => {
  const remediationEnv = {
    ...coverageEnv,
    COVERAGE_REMEDIATION_RESOURCE_GROUP: 'rg-security',
    COVERAGE_REMEDIATION_LOCATION: 'westeurope',
  };
  const load = (value: string) =>
    loadConfig(
      { ...remediationEnv, COVERAGE_REMEDIATE: value, COVERAGE_REMEDIATION_ADOPT: value },
      { delivery: false, coverage: true },
    );

  it('read true and false in any case, as the portal and ARM write them', () => {
    for (const value of ['true', 'True', 'TRUE', ' true ']) {
      expect(load(value)).toMatchObject({ COVERAGE_REMEDIATE: true, COVERAGE_REMEDIATION_ADOPT: true });
    }
    for (const value of ['false', 'False', 'FALSE', '']) {
      expect(load(value)).toMatchObject({ COVERAGE_REMEDIATE: false, COVERAGE_REMEDIATION_ADOPT: false });
    }
  });

  it('refuse anything else, naming each setting', () => {
    for (const value of ['yes', '1']) {
      let problems: readonly string[] = [];
      try {
        load(value);
      } catch (error) {
        if (error instanceof ConfigError) problems = error.problems;
      }
      expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
        'COVERAGE_REMEDIATE',
        'COVERAGE_REMEDIATION_ADOPT',
      ]);
    }
  });
});

/** The problems loadConfig lists for `env`, or [] when it loads. */
function problemsOf(
  env: NodeJS.ProcessEnv,
  options = { delivery: false, coverage: true },
): readonly string[] {
  try {
    loadConfig(env, options);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('COVERAGE_SCOPE entries', () => {
  it('must be subscription ids (GUIDs), naming the setting', () => {
    for (const value of [
      'prod',
      '1111111-1111-1111-111-11111111',
      '11111111-1111-1111-1111-111111111111,sandbox',
    ]) {
      const problems = problemsOf({ ...coverageEnv, COVERAGE_SCOPE: value });
      expect(problems, value).toHaveLength(1);
      expect(problems[0]).toMatch(/^COVERAGE_SCOPE(\.\d+)?: must be `all` or subscription ids \(GUIDs\)/);
    }
    expect(problemsOf({ ...coverageEnv, COVERAGE_SCOPE: '11111111-AAAA-1111-1111-111111111111' })).toEqual(
      [],
    );
  });
});

describe('placeholders copied from local.settings.sample.json', () => {
  const sample = JSON.parse(
    readFileSync(path.join(__dirname, '../../local.settings.sample.json'), 'utf8'),
  ) as {
    Values: Record<string, string>;
  };

  it('are refused in COVERAGE_DESTINATIONS and LOGS_INGESTION_ENDPOINT, naming each setting once and quoting no value', () => {
    const problems = problemsOf(
      {
        ...coverageEnv,
        COVERAGE_DESTINATIONS: sample.Values.COVERAGE_DESTINATIONS,
        LOGS_INGESTION_ENDPOINT: sample.Values.LOGS_INGESTION_ENDPOINT,
        LOGS_DCR_IMMUTABLE_ID: sample.Values.LOGS_DCR_IMMUTABLE_ID,
      },
      { delivery: true, coverage: true },
    );
    expect(problems).toEqual([
      'LOGS_INGESTION_ENDPOINT: still holds a placeholder copied from local.settings.sample.json (like <sub> or <rg>): replace it with your own value',
      'COVERAGE_DESTINATIONS: still holds a placeholder copied from local.settings.sample.json (like <sub> or <rg>): replace it with your own value',
    ]);
    expect(problems.join('\n')).not.toContain('<dce-name>');
    expect(problems.join('\n')).not.toContain('Microsoft.EventHub');
  });

  it('are refused in any other setting the app reads, and in storage connections', () => {
    expect(
      problemsOf({
        ...coverageEnv,
        COVERAGE_REMEDIATION_RESOURCE_GROUP: '<rg>',
        AZURE_RESOURCE_MANAGER_ENDPOINT: 'https://<arm>/',
      }).map((p) => p.split(':')[0]),
    ).toEqual(['AZURE_RESOURCE_MANAGER_ENDPOINT', 'COVERAGE_REMEDIATION_RESOURCE_GROUP']);
    const connection = problemsOf({
      ...coverageEnv,
      AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountName=<account>;AccountKey=c2VjcmV0;',
    });
    expect(connection).toEqual([
      'AzureWebJobsStorage: still holds a placeholder copied from local.settings.sample.json (like <sub> or <rg>): replace it with your own value',
    ]);
    expect(connection.join('')).not.toContain('c2VjcmV0');
    expect(
      problemsOf({
        ...coverageEnv,
        STATE_STORAGE__tableServiceUri: 'https://<account>.table.core.windows.net',
      }),
    ).toEqual([expect.stringMatching(/^STATE_STORAGE__tableServiceUri: still holds a placeholder/)]);
  });

  it('are refused in the Event Hub connection the host reads, at worker start', () => {
    const env = {
      ...coverageEnv,
      LOGS_INGESTION_ENDPOINT: 'https://dce.westeurope-1.ingest.monitor.azure.com',
      LOGS_DCR_IMMUTABLE_ID: 'dcr-0123456789abcdef0123456789abcdef',
      EventHubConnection: sample.Values.EventHubConnection,
    };
    expect(() => loadWorkerConfig(env)).toThrow(/EventHubConnection: still holds a placeholder/);
    expect(() =>
      loadWorkerConfig({
        ...env,
        EventHubConnection: '',
        EventHubConnection__fullyQualifiedNamespace: 'ns.servicebus.windows.net',
      }),
    ).not.toThrow();
  });

  it('leave the sample loadable once every placeholder is filled in', () => {
    const filled = Object.fromEntries(
      Object.entries(sample.Values).map(([name, value]) => [name, value.replace(/<([^<>]*)>/g, '$1')]),
    );
    expect(problemsOf(filled, { delivery: true, coverage: true })).toEqual([]);
  });
});

describe('numbers out of range', () => {
  it('name the setting and the range, and never the value', () => {
    const problems = problemsOf(
      {
        ...coverageEnv,
        COVERAGE_CONCURRENCY: '0',
        REDRIVE_MAX_ATTEMPTS: '100000',
        RECORD_SIZE_LIMIT_BYTES: '99999999',
        REDRIVE_MAX_AGE_HOURS: '2.5',
        COVERAGE_STALE_AFTER_HOURS: '-1',
        COVERAGE_SNAPSHOT_STALE_AFTER_DAYS: 'eight',
        COVERAGE_REMINDER_HOURS: '1e9',
        ROUTES: '[{"to":["archive"]}]',
      },
      { delivery: true, coverage: true },
    );
    expect(problems).toEqual([
      'RECORD_SIZE_LIMIT_BYTES: Too big: must be a whole number from 1024 to 1048576 bytes',
      'REDRIVE_MAX_ATTEMPTS: Too big: must be a whole number from 1 to 100',
      'REDRIVE_MAX_AGE_HOURS: must be a whole number from 1 to 720',
      'COVERAGE_STALE_AFTER_HOURS: Too small: must be a number from 0 to 8760 hours (0 = off)',
      'COVERAGE_SNAPSHOT_STALE_AFTER_DAYS: must be a number from 0 to 365 days (0 = off)',
      'COVERAGE_REMINDER_HOURS: Too big: must be a number from 0 to 8760 hours (0 = never)',
      'COVERAGE_CONCURRENCY: Too small: must be a whole number from 1 to 100',
    ]);
    for (const value of ['100000', '99999999', '2.5', 'eight', '1e9'])
      expect(problems.join('\n')).not.toContain(value);
  });

  it('take the bounds themselves', () => {
    const config = loadConfig(
      {
        ...coverageEnv,
        COVERAGE_CONCURRENCY: '100',
        REDRIVE_MAX_ATTEMPTS: '1',
        COVERAGE_STALE_AFTER_HOURS: '0',
      },
      { delivery: false, coverage: true },
    );
    expect(config).toMatchObject({
      COVERAGE_CONCURRENCY: 100,
      REDRIVE_MAX_ATTEMPTS: 1,
      COVERAGE_STALE_AFTER_HOURS: 0,
    });
  });
});

describe('AZURE_CLIENT_ID', () => {
  it('must be a client id (a GUID)', () => {
    expect(problemsOf({ ...coverageEnv, AZURE_CLIENT_ID: 'id-defender-export' })).toEqual([
      'AZURE_CLIENT_ID: must be the client id (a GUID) of the user-assigned managed identity',
    ]);
    expect(problemsOf({ ...coverageEnv, AZURE_CLIENT_ID: ' 7c1f3a52-0d2e-4b8a-9f1e-2a6b5c4d3e21 ' })).toEqual(
      [],
    );
  });
});
