import { describe, expect, it } from 'vitest';
import {
  BACKFILL_DATA_TYPES,
  BACKFILL_SOURCE,
  GRAPH_TYPES,
  toExportEvent,
  type BackfillDataType,
  type GraphRecord,
} from '../../lib/backfill/mapping';
import { InvalidEventError } from '../../lib/errors';
import { classify } from '../../lib/records/classify';
import { recordKey } from '../../lib/records/eventKey';
import type { JsonObject } from '../../lib/records/json';
import { normalizeEvent } from '../../lib/records/normalize';
import type { RowIdentity } from '../../lib/records/row';
import { ENQUEUED, only, onlyRow } from '../helpers/normalize';
import { restBody, sample } from '../helpers/samples';

const TENANT = 'AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE';
const SUBSCRIPTION = '20ff7fc3-e762-44dd-bd96-b71116dcdc23';

type Resource = Record<string, unknown>;

/**
 * A `securityresources` row for an ARM resource, with the columns (and their order) of the row Microsoft
 * shows in "Container vulnerability assessments REST API": lower-case type, tenantId, resourceGroup,
 * subscriptionId and Resource Graph's own empty columns.
 */
function graphRow(dataType: BackfillDataType, resource: Resource, tenantId = TENANT): GraphRecord {
  const id = String(resource.id);
  return {
    id,
    name: String(resource.name),
    type: GRAPH_TYPES[dataType].resourceType,
    tenantId,
    kind: '',
    location: 'global',
    resourceGroup: /\/resourceGroups\/([^/]+)/i.exec(id)?.[1]?.toLowerCase() ?? '',
    subscriptionId: /\/subscriptions\/([^/]+)/i.exec(id)?.[1] ?? '',
    managedBy: '',
    sku: null,
    plan: null,
    properties: resource.properties as Record<string, unknown>,
    tags: null,
    identity: null,
    zones: null,
    extendedLocation: null,
  };
}

/** Keys re-cased at every level; `$type` (the export serialiser's type hints) is not data and goes. */
function recase(value: unknown, first: (c: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => recase(v, first));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== '$type')
      .map(([key, v]) => [first(key[0]!) + key.slice(1), recase(v, first)]),
  );
}
const camel = (value: unknown) => recase(value, (c) => c.toLowerCase()) as Resource;
const pascal = (value: unknown) => recase(value, (c) => c.toUpperCase()) as Resource;

/** FACTS.md §1 and Microsoft's field table ("Identify and remediate attack paths"); no public sample exists. */
const ATTACK_PATH: Resource = {
  id: `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Security/attackPaths/6b1f9a3e-0c4d-4e8a-9f2b-7d5c3a1e0b9f`,
  name: '6b1f9a3e-0c4d-4e8a-9f2b-7d5c3a1e0b9f',
  properties: {
    displayName: 'Internet exposed VM with high severity vulnerabilities',
    description: 'Virtual machine is reachable from the internet and has high severity vulnerabilities',
    riskLevel: 'High',
    riskCategories: ['Data exposure', 'Compute abuse'],
    entryPointEntityInternalID: 'entity-1',
    targetEntityInternalID: 'entity-2',
    graphComponent: { insights: [], entities: [], connections: [] },
    attackPathId: '6b1f9a3e-0c4d-4e8a-9f2b-7d5c3a1e0b9f',
  },
};

const [restAlert] = restBody('alert-restapi-example-1.json');
const [restAssessment] = restBody('assessment-restapi-example-1.json');
const [restFinding] = restBody('subassessment-restapi-example-1.json');
const [restScore] = restBody('securescore-restapi-example-1.json');
const restControls = restBody('securescorecontrols-restapi-example-1.json');
const [restCompliance] = restBody('regulatorycompliance-restapi-example-1.json');

const marked = { Action: 'Insert', IsSnapshot: true };

interface Case {
  record: GraphRecord;
  expected: Partial<RowIdentity>;
  /**
   * Where the event still names the tenant and the resource (the row no longer has them as columns;
   * DefenderExportEvents reads them from Properties at query time).
   */
  inEvent: Record<string, unknown>;
}

/** One Resource Graph record per data type, built from the REST examples, and the row it must give. */
const CASES: Record<BackfillDataType, Case> = {
  Alert: {
    record: graphRow('Alert', restAlert!),
    expected: {
      DataType: 'Alert',
      // What the streamed (flat) alert gives too: its SystemAlertId.
      RecordId: recordKey('2518298467986649999_4d25bfef-2d77-4a08-adc0-3e35715cc92a'),
      AzureSubscriptionId: SUBSCRIPTION,
      Severity: 'High',
      State: 'Active',
      DisplayName: 'Azure Security Center test alert (not a threat)',
      TimeGenerated: '2020-02-23T13:47:58.0000000Z',
    },
    inEvent: {
      properties: {
        resourceIdentifiers: expect.arrayContaining([
          {
            type: 'AzureResource',
            azureResourceId: `/subscriptions/${SUBSCRIPTION}/resourceGroups/myRg1/providers/Microsoft.Compute/virtualMachines/vm1`,
          },
        ]) as unknown,
      },
    },
  },
  Recommendation: {
    record: graphRow('Recommendation', restAssessment!),
    expected: {
      DataType: 'Recommendation',
      RecordId: recordKey(String(restAssessment!.id)),
      AzureSubscriptionId: SUBSCRIPTION,
      Severity: '', // the REST example has no metadata; the Event Hub case below reads one
      State: 'NotApplicable',
      DisplayName: 'Install endpoint protection solution on virtual machine scale sets',
      ...marked,
    },
    inEvent: {
      tenantId: TENANT,
      properties: {
        resourceDetails: {
          id: `/subscriptions/${SUBSCRIPTION}/resourceGroups/myRg/providers/Microsoft.Compute/virtualMachineScaleSets/vmss2`,
        },
      },
    },
  },
  SecurityFinding: {
    record: graphRow('SecurityFinding', restFinding!),
    expected: {
      DataType: 'SecurityFinding',
      RecordId: recordKey(String(restFinding!.id)),
      AzureSubscriptionId: SUBSCRIPTION,
      Severity: 'High',
      State: 'Unhealthy',
      DisplayName: "'Back Orifice' Backdoor",
      TimeGenerated: '2019-06-23T12:20:08.7644808Z',
      ...marked,
    },
    inEvent: {
      tenantId: TENANT,
      // The finding's id nests under the assessed resource, the registry.
      id: expect.stringMatching(
        `^/subscriptions/${SUBSCRIPTION}/resourceGroups/myRg/providers/Microsoft\\.ContainerRegistry/registries/myRegistry/providers/Microsoft\\.Security/`,
      ) as unknown,
    },
  },
  SecureScore: {
    record: graphRow('SecureScore', restScore!),
    expected: {
      DataType: 'SecureScore',
      RecordId: recordKey(String(restScore!.id)),
      AzureSubscriptionId: SUBSCRIPTION,
      DisplayName: 'ASC score',
      ...marked,
    },
    inEvent: {}, // the export sends no tenantId for scores, so neither does the backfill (see KEYS below)
  },
  SecureScoreControl: {
    record: graphRow('SecureScoreControl', restControls[1]!),
    expected: {
      DataType: 'SecureScoreControl',
      RecordId: recordKey(String(restControls[1]!.id)),
      AzureSubscriptionId: SUBSCRIPTION,
      DisplayName: 'Enable MFA',
      ...marked,
    },
    inEvent: {},
  },
  RegulatoryCompliance: {
    record: graphRow('RegulatoryCompliance', restCompliance!),
    expected: {
      DataType: 'RegulatoryCompliance',
      RecordId: recordKey(String(restCompliance!.id)),
      Category: 'PCI-DSS-3.2',
      AzureSubscriptionId: SUBSCRIPTION,
      State: 'Failed',
      DisplayName: 'Troubleshoot missing scan data on your machines',
      ...marked,
    },
    inEvent: {},
  },
  AttackPath: {
    record: graphRow('AttackPath', ATTACK_PATH),
    expected: {
      DataType: 'AttackPath',
      RecordId: recordKey(String(ATTACK_PATH.id)),
      Category: 'Data exposure,Compute abuse',
      AzureSubscriptionId: SUBSCRIPTION,
      Severity: 'High',
      DisplayName: 'Internet exposed VM with high severity vulnerabilities',
      ...marked,
    },
    inEvent: { tenantId: TENANT },
  },
};

const ALL = BACKFILL_DATA_TYPES.map((dataType) => [dataType, CASES[dataType]] as const);
const eventKey = (event: Record<string, unknown>) =>
  normalizeEvent(event as JsonObject, { index: 0, enqueuedTimeUtc: ENQUEUED }).identity.EventKey;

describe('GRAPH_TYPES', () => {
  it('names a Resource Graph type per data type that the classifier maps back to it', () => {
    for (const dataType of BACKFILL_DATA_TYPES) {
      const { resourceType } = GRAPH_TYPES[dataType];
      expect(resourceType).toBe(resourceType.toLowerCase());
      expect(classify({ type: resourceType }), dataType).toBe(dataType);
    }
  });

  it('filters --since on alerts only', () => {
    const withSince = BACKFILL_DATA_TYPES.filter((t) => GRAPH_TYPES[t].sinceField !== undefined);
    expect(withSince).toEqual(['Alert']);
  });
});

describe('toExportEvent → the normaliser', () => {
  it.each(ALL)(
    '%s: classified, identified and marked as a backfilled snapshot',
    (dataType, { record, expected, inEvent }) => {
      const event = toExportEvent(dataType, record);
      expect(classify(event as JsonObject)).toBe(dataType);
      expect(only(event)).toMatchObject(expected);
      // The tenant and the resource are no row columns: the event, whole in the row's Properties, names them.
      const row = onlyRow(event);
      expect(row).not.toHaveProperty('AADTenantId');
      expect(row).not.toHaveProperty('AzureResourceId');
      expect(row.Properties).toEqual(event);
      expect(row.Properties).toMatchObject(inEvent);
      expect(event.securityEventDataEnrichment).toMatchObject({
        action: 'Insert',
        isSnapshot: true,
        source: BACKFILL_SOURCE,
      });
    },
  );

  it('reads an alert whose properties are PascalCase, as Resource Graph holds them, the same', () => {
    const record = { ...CASES.Alert.record, properties: pascal(restAlert!.properties) };
    expect(record.properties).toHaveProperty('SystemAlertId');
    const { EventKey: _, ...pascalRow } = only(toExportEvent('Alert', record));
    const { EventKey: __, ...camelRow } = only(toExportEvent('Alert', CASES.Alert.record));
    expect(pascalRow).toEqual(camelRow);
  });

  it('marks a backfilled alert row IsSnapshot and Insert', () => {
    expect(only(toExportEvent('Alert', CASES.Alert.record))).toMatchObject(marked);
  });

  it('maps each of the twelve secure score controls to its own record', () => {
    const ids = restControls.map(
      (control) =>
        only(toExportEvent('SecureScoreControl', graphRow('SecureScoreControl', control))).RecordId,
    );
    expect(new Set(ids).size).toBe(12);
    expect(ids).toEqual(restControls.map((control) => recordKey(String(control.id))));
  });
});

/** Event Hub samples and the Resource Graph record of the same item (camelCase, as Resource Graph holds it). */
const SAME_ITEM: Array<[BackfillDataType, string]> = [
  ['Recommendation', 'assessment-eventhub-example-2-insert.json'],
  ['SecurityFinding', 'subassessment-eventhub-example-1.json'],
  ['SecureScoreControl', 'securescorecontrol-eventhub-example-1.json'],
  ['RegulatoryCompliance', 'regulatorycompliance-eventhub-example-1.json'],
  ['RegulatoryCompliance', 'regulatorycompliance-eventhub-example-2.json'],
];

describe('the same item, streamed and backfilled', () => {
  it.each(SAME_ITEM)('%s (%s): same row but for Action, IsSnapshot and EventKey', (dataType, name) => {
    const streamedEvent = sample(name);
    const resource = camel(streamedEvent);
    const record = graphRow(dataType, resource, (resource.tenantId as string | undefined) ?? TENANT);
    const streamed = only(streamedEvent);
    const backfilled = only(toExportEvent(dataType, record));
    expect(backfilled).toEqual({ ...streamed, ...marked, EventKey: backfilled.EventKey });
    expect(backfilled.EventKey).not.toBe(streamed.EventKey);
    expect(backfilled.RecordId).toBe(recordKey(String(resource.id)));
  });

  it('reads the severity of a recommendation that has metadata', () => {
    const resource = camel(sample('assessment-eventhub-example-2-insert.json'));
    expect(only(toExportEvent('Recommendation', graphRow('Recommendation', resource)))).toMatchObject({
      Severity: 'Low',
      State: 'NotApplicable',
    });
  });
});

describe('the event shape', () => {
  const KEYS: Record<BackfillDataType, string[]> = {
    Alert: ['securityEventDataEnrichment', 'id', 'name', 'type', 'properties'],
    Recommendation: [
      'assessmentEventDataEnrichment',
      'securityEventDataEnrichment',
      'tenantId',
      'id',
      'name',
      'type',
      'properties',
    ],
    SecurityFinding: [
      'subAssessmentEventDataEnrichment',
      'securityEventDataEnrichment',
      'tenantId',
      'id',
      'name',
      'type',
      'properties',
    ],
    SecureScore: ['securityEventDataEnrichment', 'id', 'name', 'type', 'properties'],
    SecureScoreControl: ['securityEventDataEnrichment', 'id', 'name', 'type', 'properties'],
    RegulatoryCompliance: ['securityEventDataEnrichment', 'id', 'name', 'type', 'properties'],
    AttackPath: ['securityEventDataEnrichment', 'tenantId', 'id', 'name', 'type', 'properties'],
  };

  it.each(ALL)(
    "%s: the export's keys only, Resource Graph's own columns left out",
    (dataType, { record }) => {
      const event = toExportEvent(dataType, record);
      expect(Object.keys(event)).toEqual(KEYS[dataType]);
      expect(event.id).toBe(record.id);
      expect(event.properties).toBe(record.properties);
      expect(event.type).not.toBe(record.type);
      expect(String(event.type).toLowerCase()).toBe(record.type);
    },
  );

  it('writes the same marker in every enrichment object, with the REST API version of the type', () => {
    const versions = Object.fromEntries(
      BACKFILL_DATA_TYPES.map((dataType) => {
        const event = toExportEvent(dataType, CASES[dataType].record);
        const objects = Object.keys(event)
          .filter((key) => key.endsWith('EventDataEnrichment'))
          .map((key) => event[key]);
        for (const o of objects) expect(o).toEqual(objects[0]);
        expect(Object.keys(objects[0] as object)[0]).toBe('action');
        return [dataType, (objects[0] as { apiVersion?: string }).apiVersion];
      }),
    );
    expect(versions).toEqual({
      Alert: '2022-01-01',
      Recommendation: '2021-06-01',
      SecurityFinding: '2019-01-01-preview',
      SecureScore: '2020-01-01',
      SecureScoreControl: '2020-01-01',
      RegulatoryCompliance: '2019-01-01-preview',
      AttackPath: undefined, // no published REST API: no version is claimed
    });
  });

  it('drops a column a query adds (extend), and a tenantId the record lacks', () => {
    const { tenantId: _, ...record } = {
      ...CASES.Recommendation.record,
      assessmentKey: 'x',
      timeGenerated: 'y',
    };
    const event = toExportEvent('Recommendation', record);
    expect(event).not.toHaveProperty('assessmentKey');
    expect(event).not.toHaveProperty('timeGenerated');
    expect(event).not.toHaveProperty('tenantId');
  });

  it('refuses a record of another type, naming both', () => {
    expect(() => toExportEvent('Recommendation', CASES.SecureScore.record)).toThrow(InvalidEventError);
    expect(() => toExportEvent('Recommendation', CASES.SecureScore.record)).toThrow(
      /Recommendation backfill expects Resource Graph type microsoft\.security\/assessments, got "microsoft\.security\/securescores"/,
    );
  });

  it('accepts the type in ARM casing too', () => {
    const record = { ...CASES.Recommendation.record, type: 'Microsoft.Security/assessments' };
    expect(toExportEvent('Recommendation', record)).toEqual(
      toExportEvent('Recommendation', CASES.Recommendation.record),
    );
  });

  it('leaves the record as it was', () => {
    const record = structuredClone(CASES.SecurityFinding.record);
    const before = JSON.stringify(record);
    Object.freeze(record);
    Object.freeze(record.properties);
    only(toExportEvent('SecurityFinding', record));
    expect(JSON.stringify(record)).toBe(before);
  });
});

describe('determinism', () => {
  it.each(ALL)(
    '%s: the same record twice, or in another key order, gives the same bytes and EventKey',
    (dataType, { record }) => {
      const reversed = Object.fromEntries(Object.entries(record).reverse()) as GraphRecord;
      expect(Object.keys(reversed)[0]).toBe('extendedLocation');
      const first = toExportEvent(dataType, record);
      const again = toExportEvent(dataType, record);
      const reordered = toExportEvent(dataType, reversed);
      expect(JSON.stringify(again)).toBe(JSON.stringify(first));
      expect(JSON.stringify(reordered)).toBe(JSON.stringify(first));
      expect(eventKey(again)).toBe(eventKey(first));
      expect(eventKey(reordered)).toBe(eventKey(first));
    },
  );
});
