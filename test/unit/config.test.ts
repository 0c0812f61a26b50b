import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config';
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
