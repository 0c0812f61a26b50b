import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config';
import { ConfigError } from '../../lib/errors';
import { validateRoutes } from '../../lib/routing/rules';
import { evaluateString, stableGuid } from '../helpers/armTemplate';
import { findBicep } from '../helpers/bicep';
import { templateAppSettings } from '../helpers/templateSettings';

/**
 * The app starts with the settings the templates give it: infra/main.bicep compiled by the Bicep CLI, every
 * ARM expression on the way to the function app's app settings evaluated for a realistic deployment, and
 * the result loaded by the app's own loadConfig.
 */

function problems(settings: Record<string, string>): readonly string[] {
  try {
    loadConfig(settings, { coverage: true });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

const sharedSubscription = stableGuid('contoso shared subscription');
const REMEDIATING = {
  coverageRemediate: true,
  coverageRemediationAdopt: true,
  coverageRemediationResourceGroup: 'rg-security',
  existingEventHubNamespaceId: `/subscriptions/${sharedSubscription}/resourceGroups/rg-soc-eventhubs/providers/Microsoft.EventHub/namespaces/evhns-contoso-soc`,
  existingWorkspaceId: `/subscriptions/${sharedSubscription}/resourceGroups/rg-soc-logs/providers/Microsoft.OperationalInsights/workspaces/log-contoso-soc`,
  coverageWebhookUrl:
    'https://contoso.webhook.office.com/webhookb2/7c1f3a52-0d2e-4b8a-9f1e-2a6b5c4d3e21/IncomingWebhook/4e1c',
};

describe.skipIf(!findBicep())('the app settings a deployment of infra/main.bicep writes', () => {
  it('load without a problem, delivery and coverage checked (realistic parameters)', () => {
    const settings = templateAppSettings()!;
    expect(problems(settings)).toEqual([]);
    expect(settings.COVERAGE_REMEDIATE).toBe('false');
  });

  it('load without a problem with remediation on, an existing namespace and workspace, and a webhook', () => {
    const settings = templateAppSettings(REMEDIATING)!;
    expect(problems(settings)).toEqual([]);
    expect(settings).toMatchObject({
      COVERAGE_REMEDIATE: 'true',
      COVERAGE_REMEDIATION_ADOPT: 'true',
      COVERAGE_REMEDIATION_RESOURCE_GROUP: 'rg-security',
      EventHubConnection__fullyQualifiedNamespace: 'evhns-contoso-soc.servicebus.windows.net',
      COVERAGE_DESTINATIONS: `${REMEDIATING.existingEventHubNamespaceId}/eventhubs/defender-cloud`,
    });
  });

  it('write every boolean setting exactly true or false', () => {
    for (const settings of [templateAppSettings()!, templateAppSettings(REMEDIATING)!]) {
      const booleans = Object.entries(settings).filter(([, value]) => /^(true|false)$/i.test(value));
      expect(booleans.map(([name]) => name)).toEqual(
        expect.arrayContaining([
          'COVERAGE_REMEDIATE',
          'COVERAGE_REMEDIATION_ADOPT',
          'FUNCTIONS_NODE_BLOCK_ON_ENTRY_POINT_ERROR',
        ]),
      );
      for (const [name, value] of booleans) expect(value, name).toMatch(/^(true|false)$/);
    }
  });
});

describe.skipIf(!findBicep())('the bulk stream settings a deployment writes, for each bulkTablePlan', () => {
  const BULK = 'Custom-DefenderExportBulk';
  it.each([
    ['none', '', ''],
    ['Basic', BULK, ''],
    ['Auxiliary', BULK, BULK],
    ['Analytics', BULK, ''],
  ])('%s: bulk stream %j, LOGS_AUXILIARY_STREAMS %j', (plan, bulk, auxiliary) => {
    const settings = templateAppSettings({ bulkTablePlan: plan })!;
    expect(settings.LOGS_AUXILIARY_STREAMS).toBe(auxiliary);
    expect(settings.LOGS_STREAM_NAME).toBe('Custom-DefenderExport');
    expect(problems(settings)).toEqual([]);
    // A route names the bulk stream: `logs:Custom-DefenderExportBulk`.
    if (bulk) {
      const routes = [{ match: { categories: ['DeviceEvents'] }, to: [`logs:${bulk}`] }, { to: ['logs'] }];
      expect(validateRoutes(routes).problems).toEqual([]);
    }
  });
});

describe('the ARM expression evaluator, on documented cases', () => {
  it('writes string() of a bool as True/False, of an int as digits, of an object as compact JSON', () => {
    expect(evaluateString('[string(true())]')).toBe('True');
    expect(evaluateString('[string(false)]')).toBe('False');
    expect(evaluateString('[string(32768)]')).toBe('32768');
    expect(evaluateString("[string(createObject('valueA', 10, 'valueB', 'Example Text'))]")).toBe(
      '{"valueA":10,"valueB":"Example Text"}',
    );
  });

  it('reads [[ as a literal [ and a string that does not end with ] as it is', () => {
    expect(evaluateString('[[test value]')).toBe('[test value]');
    expect(evaluateString('[test] value')).toBe('[test] value');
    expect(evaluateString("[concat('it''s', ' ', 'quoted')]")).toBe("it's quoted");
  });

  it('formats {0} placeholders and escaped braces, a bool as True', () => {
    expect(evaluateString("[format('{0}-{1} {{x}} {2}', 'rg', 7, true)]")).toBe('rg-7 {x} True');
  });

  it('evaluates only the branch if() selects', () => {
    expect(evaluateString("[if(equals('a', 'a'), 'yes', parameters('undeclared'))]")).toBe('yes');
    expect(() => evaluateString("[if(equals('a', 'A'), 'yes', parameters('undeclared'))]")).toThrow(
      /undeclared/,
    );
  });

  it('merges objects with union(), a later value winning, nested objects merged and arrays replaced', () => {
    expect(
      evaluateString(
        "[union(createObject('a', 1, 'n', createObject('x', 1, 'y', 1), 'l', createArray(1)), createObject('a', 2, 'n', createObject('y', 2), 'l', createArray(2)))]",
      ),
    ).toEqual({ a: 2, n: { x: 1, y: 2 }, l: [2] });
  });

  it('throws on a function it does not model, naming it', () => {
    expect(() => evaluateString("[base64('x')]")).toThrow(/'base64' is not modelled/);
  });
});
