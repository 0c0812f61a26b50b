import { describe, expect, it } from 'vitest';
import { recordKey } from '../../lib/records/eventKey';
import { normalizeMessage } from '../../lib/records/normalize';
import { ENQUEUED, identities, only, onlyRow } from '../helpers/normalize';
import { restBody, sample, sampleText } from '../helpers/samples';

/** Where an event names its Entra tenant or resource: the row carries no column for them, its Properties do. */
function expectInPropertiesOnly(body: unknown, properties: Record<string, unknown>) {
  const row = onlyRow(body);
  expect(row).not.toHaveProperty('AADTenantId');
  expect(row).not.toHaveProperty('AzureResourceId');
  expect(row.Properties).toEqual(typeof body === 'string' ? JSON.parse(body) : body); // the event, untouched
  expect(row.Properties).toMatchObject(properties);
}

describe('Defender for Cloud alerts', () => {
  it('reads the flat export shape of the sample alert', () => {
    const alert = sample('alert-eventhub-example-1-sample-alert.json');
    expect(only(alert)).toEqual({
      TimeGenerated: '2023-05-11T13:17:09.0170422Z',
      DataType: 'Alert',
      Category: 'ARM_AnomalousServiceOperation.CredentialAccess',
      RecordId: recordKey('2517184898549829577_cdcf9f94-ec53-47a6-ab87-76130f87218d'),
      EventKey: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/),
      AzureSubscriptionId: '12cabcb4-86e8-404f-a3d2-1dc9982f45ca',
      Severity: 'Medium',
      State: 'New',
      DisplayName: '[SAMPLE ALERT] Login from a suspicious IP',
      Action: '',
      IsSnapshot: false,
    });
    expectInPropertiesOnly(alert, {
      AzureResourceId:
        '/SUBSCRIPTIONS/12cabcb4-86e8-404f-a3d2-1dc9982f45ca/RESOURCEGROUPS/Sample-RG/providers/Microsoft.Compute/virtualMachines/Sample-VM',
      ResourceIdentifiers: expect.arrayContaining([
        expect.objectContaining({ Type: 'AAD', AadTenantId: 'aa40685b-417d-4664-b4ec-8f7640719adb' }),
      ]) as unknown,
    });
  });

  it('normalises an Informational Kubernetes alert sent pretty-printed as a string body', () => {
    const text = sampleText('alert-eventhub-example-2-k8s.json');
    expect(only(text)).toMatchObject({
      DataType: 'Alert',
      RecordId: recordKey('57963b4b-3cb0-dc3a-16ed-f1e216311809'),
      Severity: 'Informational',
      AzureSubscriptionId: '1111111-1111-1111-111-11111111',
      TimeGenerated: '2024-11-20T09:19:16.485Z',
      Category: 'K8S_AdmissionController',
    });
    expectInPropertiesOnly(text, {
      ResourceIdentifiers: expect.arrayContaining([
        expect.objectContaining({ Type: 'AAD', AadTenantId: 'a39bedba-be8f-4c0f-bfe2-b8c7913501ea' }),
      ]) as unknown,
    });
  });

  it('reads the ARM alert shape the export documentation describes', () => {
    const [alert] = restBody('alert-restapi-example-1.json');
    expect(only(alert)).toMatchObject({
      DataType: 'Alert',
      RecordId: recordKey('2518298467986649999_4d25bfef-2d77-4a08-adc0-3e35715cc92a'),
      Severity: 'High',
      State: 'Active',
      AzureSubscriptionId: '20ff7fc3-e762-44dd-bd96-b71116dcdc23',
      TimeGenerated: '2020-02-23T13:47:58.0000000Z',
      Category: 'VM_EICAR',
      DisplayName: 'Azure Security Center test alert (not a threat)',
    });
    expectInPropertiesOnly(alert, {
      properties: {
        resourceIdentifiers: expect.arrayContaining([
          {
            azureResourceId:
              '/subscriptions/20ff7fc3-e762-44dd-bd96-b71116dcdc23/resourceGroups/myRg1/providers/Microsoft.Compute/virtualMachines/vm1',
            type: 'AzureResource',
          },
        ]) as unknown,
      },
    });
  });

  it('dead-letters the documentation sample that is not strict JSON, saying why', () => {
    const { events, rejections } = normalizeMessage(
      sampleText('alert-eventhub-example-3-docs-NOT-STRICT-JSON.txt'),
    );
    expect(events).toEqual([]);
    expect(rejections).toHaveLength(1);
    expect(rejections[0]!.reason).toMatch(/^body is not valid JSON: .*position \d+/);
  });

  it('dead-letters an alert without SystemAlertId, naming the field', () => {
    const { SystemAlertId: _, ...alert } = sample('alert-eventhub-example-1-sample-alert.json');
    const { events, rejections } = normalizeMessage(alert);
    expect(events).toEqual([]);
    expect(rejections).toEqual([{ index: 0, element: alert, reason: 'Alert lacks SystemAlertId' }]);
  });

  it('takes the subscription from EffectiveSubscriptionId when the alert has no resource id', () => {
    const {
      AzureResourceId: _,
      ResourceIdentifiers: __,
      ...alert
    } = sample('alert-eventhub-example-1-sample-alert.json');
    const withEffective = {
      ...alert,
      ExtendedProperties: { EffectiveSubscriptionId: 'ABCDEF01-0000-0000-0000-000000000000' },
    };
    expect(only(withEffective).AzureSubscriptionId).toBe('abcdef01-0000-0000-0000-000000000000');
  });
});

describe('recommendations (assessments)', () => {
  it('keeps a Delete so the removal reaches Log Analytics', () => {
    const assessment = sample('assessment-eventhub-example-1-delete.json');
    expect(only(assessment)).toMatchObject({
      TimeGenerated: ENQUEUED,
      DataType: 'Recommendation',
      Category: 'AppServices',
      RecordId: recordKey(
        '/subscriptions/12cabcb4-86e8-404f-a3d2-1dc9982f45ca/resourcegroups/mbranca-esf/providers/microsoft.web/sites/mbranca-esf/providers/microsoft.security/assessments/7b3d4796-9400-2904-692b-4a5ede7f0a1e',
      ),
      AzureSubscriptionId: '12cabcb4-86e8-404f-a3d2-1dc9982f45ca',
      Severity: 'Low',
      State: 'Healthy',
      DisplayName: 'CORS should not allow every resource to access Function Apps',
      Action: 'Delete',
      IsSnapshot: false,
    });
    expectInPropertiesOnly(assessment, {
      tenantId: 'aa40685b-417d-4664-b4ec-8f7640719adb',
      properties: {
        resourceDetails: {
          id: '/subscriptions/12cabcb4-86e8-404f-a3d2-1dc9982f45ca/resourcegroups/mbranca-esf/providers/microsoft.web/sites/mbranca-esf',
        },
      },
    });
  });

  it('reads an Insert of a NotApplicable recommendation', () => {
    expect(only(sample('assessment-eventhub-example-2-insert.json'))).toMatchObject({
      DataType: 'Recommendation',
      Action: 'Insert',
      State: 'NotApplicable',
      Severity: 'Low',
      Category: 'Compute',
      AzureSubscriptionId: '1111111-1111-1111-111-11111111',
    });
  });

  it('accepts the older PascalCase AssessmentEventDataEnrichment', () => {
    const assessment = sample('assessment-eventhub-example-3-docs.json');
    expect(only(assessment)).toMatchObject({
      DataType: 'Recommendation',
      Action: 'Insert',
      State: 'Unhealthy',
      Severity: 'Low',
      AzureSubscriptionId: 'a27e854a-8578-4395-8eaf-6fc7849f3050',
    });
    expectInPropertiesOnly(assessment, {
      properties: { resourceDetails: { id: '/subscriptions/a27e854a-8578-4395-8eaf-6fc7849f3050' } },
    });
  });

  it('reads the REST shape, which has no enrichment', () => {
    const [assessment] = restBody('assessment-restapi-example-1.json');
    expect(only(assessment)).toMatchObject({
      DataType: 'Recommendation',
      State: 'NotApplicable',
      Action: '',
    });
    expectInPropertiesOnly(assessment, {
      properties: {
        resourceDetails: {
          id: '/subscriptions/20ff7fc3-e762-44dd-bd96-b71116dcdc23/resourceGroups/myRg/providers/Microsoft.Compute/virtualMachineScaleSets/vmss2',
        },
      },
    });
  });

  it('marks a weekly snapshot', () => {
    const snapshot = sample<Record<string, Record<string, unknown>>>(
      'assessment-eventhub-example-2-insert.json',
    );
    snapshot.securityEventDataEnrichment!.isSnapshot = true;
    snapshot.assessmentEventDataEnrichment!.isSnapshot = true;
    expect(only(snapshot)).toMatchObject({ DataType: 'Recommendation', IsSnapshot: true, Action: 'Insert' });
  });

  it('dead-letters a recommendation without an id, naming the field', () => {
    const { id: _, ...assessment } = sample('assessment-eventhub-example-1-delete.json');
    expect(normalizeMessage(assessment).rejections.map((r) => r.reason)).toEqual(['Recommendation lacks id']);
  });
});

describe('security findings (sub-assessments)', () => {
  it('reads the PascalCase export with its own TimeGenerated', () => {
    const finding = sample('subassessment-eventhub-example-1.json');
    expect(only(finding)).toMatchObject({
      TimeGenerated: '2023-05-12T09:58:32.2607101Z',
      DataType: 'SecurityFinding',
      Category: 'GeneralVulnerability',
      AzureSubscriptionId: '12cabcb4-86e8-404f-a3d2-1dc9982f45ca',
      Severity: 'Low',
      State: 'Unhealthy',
      DisplayName: 'Ensure DCCP is disabled',
      Action: 'Delete',
    });
    expectInPropertiesOnly(finding, {
      TenantId: 'aa40685b-417d-4664-b4ec-8f7640719adb',
      Properties: {
        ResourceDetails: {
          Id: '/subscriptions/12cabcb4-86e8-404f-a3d2-1dc9982f45ca/resourcegroups/mbranca-sdh-3372/providers/microsoft.compute/virtualmachines/sdh-3372',
        },
      },
    });
  });

  it('reads the camelCase REST shape of a container image finding', () => {
    const [finding] = restBody('subassessment-restapi-example-1.json');
    expect(only(finding)).toMatchObject({
      DataType: 'SecurityFinding',
      Severity: 'High',
      Category: 'ContainerRegistryVulnerability',
      TimeGenerated: '2019-06-23T12:20:08.7644808Z',
    });
    // The finding's id nests under the assessed resource, the registry (resourceDetails.id names the image).
    expectInPropertiesOnly(finding, {
      id: expect.stringMatching(
        /^\/subscriptions\/20ff7fc3-e762-44dd-bd96-b71116dcdc23\/resourceGroups\/myRg\/providers\/Microsoft\.ContainerRegistry\/registries\/myRegistry\/providers\/Microsoft\.Security\//,
      ) as unknown,
    });
  });
});

describe('secure scores and regulatory compliance', () => {
  it('reads a secure score control from the Event Hub', () => {
    expect(only(sample('securescorecontrol-eventhub-example-1.json'))).toMatchObject({
      DataType: 'SecureScoreControl',
      DisplayName: 'Apply system updates',
      Action: 'Insert',
      AzureSubscriptionId: '12cabcb4-86e8-404f-a3d2-1dc9982f45ca',
      RecordId: recordKey(
        '/subscriptions/12cabcb4-86e8-404f-a3d2-1dc9982f45ca/providers/microsoft.security/securescores/ascscore/securescorecontrols/61702b76-1fab-41f2-bcbc-50b7870dcf38',
      ),
    });
  });

  it('reads the overall secure score and a list of controls', () => {
    expect(identities(restBody('securescore-restapi-example-1.json'))).toMatchObject([
      {
        DataType: 'SecureScore',
        DisplayName: 'ASC score',
        AzureSubscriptionId: '20ff7fc3-e762-44dd-bd96-b71116dcdc23',
      },
    ]);
    const controls = identities(restBody('securescorecontrols-restapi-example-1.json'));
    expect(controls).toHaveLength(12);
    expect(new Set(controls.map((c) => c.DataType))).toEqual(new Set(['SecureScoreControl']));
  });

  it('reads regulatory compliance with its standard and state', () => {
    expect(only(sample('regulatorycompliance-eventhub-example-1.json'))).toMatchObject({
      DataType: 'RegulatoryCompliance',
      Category: 'Microsoft-cloud-security-benchmark',
      State: 'Skipped',
      Action: 'Write',
      DisplayName: 'Log Analytics agent should be installed on virtual machine scale sets',
      AzureSubscriptionId: '12cabcb4-86e8-404f-a3d2-1dc9982f45ca',
    });
    expect(only(sample('regulatorycompliance-eventhub-example-2.json'))).toMatchObject({ State: 'Failed' });
    const [rest] = restBody('regulatorycompliance-restapi-example-1.json');
    expect(only(rest)).toMatchObject({
      DataType: 'RegulatoryCompliance',
      State: 'Failed',
      Category: 'PCI-DSS-3.2',
    });
  });
});

describe('attack paths', () => {
  const attackPath = {
    id: '/subscriptions/20FF7FC3-E762-44DD-BD96-B71116DCDC23/providers/Microsoft.Security/attackPaths/4e4b1b5c-0000-4000-8000-000000000001',
    name: '4e4b1b5c-0000-4000-8000-000000000001',
    type: 'Microsoft.Security/attackPaths',
    securityEventDataEnrichment: { action: 'Insert', apiVersion: '2023-12-01-preview', isSnapshot: true },
    properties: {
      displayName:
        'Internet exposed VM with high severity vulnerabilities has read permission to a storage account',
      riskLevel: 'Critical',
      riskCategories: ['Data exposure'],
      graphComponent: { insights: [], entities: [], connections: [] },
    },
  };

  it('reads the ARM-wrapped shape, mapping Critical risk to High', () => {
    expect(only(attackPath)).toMatchObject({
      DataType: 'AttackPath',
      Severity: 'High',
      Category: 'Data exposure',
      AzureSubscriptionId: '20ff7fc3-e762-44dd-bd96-b71116dcdc23',
      IsSnapshot: true,
      DisplayName: attackPath.properties.displayName,
    });
  });

  it('reads the flat Resource Graph shape too', () => {
    const { properties, ...wrapper } = attackPath;
    expect(only({ ...wrapper, ...properties })).toMatchObject({ DataType: 'AttackPath', Severity: 'High' });
  });
});

describe('Defender XDR streaming events', () => {
  it('unwraps the records envelope and takes the event time from properties.Timestamp', () => {
    const envelope = sample<{ records: unknown[] }>('mde-streaming-eventhub-envelope-example-1.json');
    expect(identities(envelope)).toEqual([
      expect.objectContaining({
        DataType: 'XdrEvent',
        Category: 'IdentityLogonEvents',
        TimeGenerated: '2024-12-04T13:33:19.801823Z',
        RecordId: recordKey('3d359b95-f8d5-4dbd-a64b-7327c92d32f1'),
        DisplayName: 'LogonFailed',
      }),
    ]);
    // The row's Properties are the record, not the envelope: its tenantId is there.
    const row = onlyRow(envelope);
    expect(row).not.toHaveProperty('AADTenantId');
    expect(row.Properties).toEqual(envelope.records[0]);
    expect(row.Properties).toMatchObject({ tenantId: '40431729-d276-4582-abb4-01e21c8b58fe' });
  });

  it('normalises an envelope with several categories, each to its own table name', () => {
    const envelope = {
      records: [
        sample('mde-streaming-record-deviceevents-example-1.json'),
        sample('mde-streaming-record-deviceinfo-example-1.json'),
        ...sample<{ records: unknown[] }>('mde-streaming-eventhub-envelope-example-1.json').records,
        {
          time: '2024-12-04T13:40:00Z',
          tenantId: '40431729-d276-4582-abb4-01e21c8b58fe',
          operationName: 'Publish',
          category: 'AdvancedHunting-AlertInfo',
          properties: {
            AlertId: 'da637, 1',
            Title: 'Suspicious PowerShell',
            Severity: 'high',
            Timestamp: '2024-12-04T13:39:00Z',
          },
        },
      ],
    };
    expect(identities(envelope).map((r) => [r.Category, r.RecordId, r.TimeGenerated, r.Severity])).toEqual([
      [
        'DeviceEvents',
        recordKey('de6509d550e605faf3bbeac0905ab9590fe12345:2833'),
        '2022-11-07T17:07:42.0259186Z',
        '',
      ],
      [
        'DeviceInfo',
        recordKey('999b6fd7c532534ba50b3232fa992c38a2712345:12942'),
        '2022-11-08T05:56:25.8832339Z',
        '',
      ],
      [
        'IdentityLogonEvents',
        recordKey('3d359b95-f8d5-4dbd-a64b-7327c92d32f1'),
        '2024-12-04T13:33:19.801823Z',
        '',
      ],
      ['AlertInfo', recordKey('da637, 1'), '2024-12-04T13:39:00Z', 'High'],
    ]);
  });

  it('dead-letters a record whose properties are not an object, naming the field', () => {
    const record = {
      category: 'AdvancedHunting-DeviceEvents',
      properties: 'oops',
      time: '2024-01-01T00:00:00Z',
    };
    const good = sample('mde-streaming-record-deviceinfo-example-1.json');
    const { events, rejections } = normalizeMessage({ records: [record, good] });
    expect(events.map((e) => e.identity.Category)).toEqual(['DeviceInfo']);
    expect(rejections).toEqual([
      { index: 0, element: record, reason: 'XdrEvent properties: expected object, received string' },
    ]);
  });
});

describe('everything else', () => {
  it('keeps an object it cannot classify as Unknown, with what identity it offers', () => {
    const [automation] = restBody('automation-restapi-list-rg-example-1.json');
    const row = only(automation);
    expect(row.DataType).toBe('Unknown');
    expect(row.Category).toBe('Microsoft.Security/automations');
    expect(row.AzureSubscriptionId).not.toBe('');
    expect(row.TimeGenerated).toBe(ENQUEUED);
  });

  it('gives an Unknown event without an id its EventKey as RecordId', () => {
    const row = only({ hello: 'world' });
    expect(row).toMatchObject({ DataType: 'Unknown', RecordId: row.EventKey });
  });
});
