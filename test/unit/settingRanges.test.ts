import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config';

/**
 * A value the template accepts must be one the app accepts: the app validates its settings at start-up
 * and refuses to run on a bad one, so a parameter wider than the setting would deploy an app that never
 * starts. Each numeric parameter that becomes a setting declares the setting's range.
 */
const PARAMETERS: Array<[parameter: string, setting: string]> = [
  ['recordSizeLimitBytes', 'RECORD_SIZE_LIMIT_BYTES'],
  ['redriveMaxAttempts', 'REDRIVE_MAX_ATTEMPTS'],
  ['redriveMaxAgeHours', 'REDRIVE_MAX_AGE_HOURS'],
  ['coverageStaleAfterHours', 'COVERAGE_STALE_AFTER_HOURS'],
  ['coverageSnapshotStaleAfterDays', 'COVERAGE_SNAPSHOT_STALE_AFTER_DAYS'],
  ['coverageReminderHours', 'COVERAGE_REMINDER_HOURS'],
  ['coverageConcurrency', 'COVERAGE_CONCURRENCY'],
];

const template = readFileSync(path.resolve(__dirname, '../../infra/main.bicep'), 'utf8');

function bounds(parameter: string): { min: number; max: number } {
  const block = new RegExp(
    `@minValue\\((-?\\d+)\\)\\s*@maxValue\\((-?\\d+)\\)\\s*(?:@description\\([^\\n]*\\)\\s*)?param ${parameter} int`,
  ).exec(template);
  if (!block) throw new Error(`infra/main.bicep: param ${parameter} declares no @minValue/@maxValue`);
  return { min: Number(block[1]), max: Number(block[2]) };
}

const load = (setting: string, value: number) => () =>
  loadConfig({ [setting]: String(value) }, { delivery: false });

describe('numeric template parameters and the settings they become', () => {
  it.each(PARAMETERS)(
    '%s: the app accepts its whole range and nothing beyond it (%s)',
    (parameter, setting) => {
      const { min, max } = bounds(parameter);
      expect(load(setting, min)).not.toThrow();
      expect(load(setting, max)).not.toThrow();
      expect(load(setting, max + 1)).toThrow(new RegExp(setting));
      expect(load(setting, min - 1)).toThrow(new RegExp(setting));
    },
  );

  it('keeps parked items at least as long as the redrive may try them', () => {
    const parked = /@minValue\((\d+)\)\s*@description\([^\n]*\)\s*param parkedDeleteAfterDays int/.exec(
      template,
    );
    expect(parked).not.toBeNull();
    expect(Number(parked![1]) * 24).toBeGreaterThanOrEqual(bounds('redriveMaxAgeHours').max);
  });
});
