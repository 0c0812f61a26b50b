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
