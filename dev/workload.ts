/**
 * Realistic Defender traffic for measurements: every data type, shaped like the real samples, with random
 * ids and names, padded to a target size. Deterministic for a given seed.
 */

export type Random = () => number;

/** mulberry32: small, fast and good enough to vary test data reproducibly. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (random: Random, length: number) =>
  Array.from({ length }, () => Math.floor(random() * 16).toString(16)).join('');
const guid = (random: Random) =>
  `${hex(random, 8)}-${hex(random, 4)}-4${hex(random, 3)}-a${hex(random, 3)}-${hex(random, 12)}`;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const WORDS = [
  'storage',
  'vault',
  'vm',
  'prod',
  'finance',
  'aks',
  'web',
  'sql',
  'east',
  'legacy',
  'café',
  'données',
  '監視',
];
const name = (random: Random) =>
  `${pick(random, WORDS)}-${pick(random, WORDS)}-${Math.floor(random() * 1000)}`;
const SEVERITIES = ['High', 'Medium', 'Low', 'Informational'] as const;

interface Estate {
  tenantId: string;
  subscriptions: string[];
}

function resourceId(random: Random, estate: Estate): string {
  const sub = pick(random, estate.subscriptions);
  return `/subscriptions/${sub}/resourceGroups/rg-${name(random)}/providers/Microsoft.Compute/virtualMachines/${name(random)}`;
}

const time = (random: Random) =>
  new Date(Date.UTC(2026, 10, 24, 0, 0, 0) - Math.floor(random() * 86_400_000)).toISOString();

function alert(random: Random, estate: Estate, entities: number): Record<string, unknown> {
  const resource = resourceId(random, estate);
  return {
    VendorName: 'Microsoft',
    AlertType: pick(random, [
      'VM_SuspiciousCommandLine',
      'K8S_AdmissionController',
      'ARM_AnomalousServiceOperation.CredentialAccess',
    ]),
    ProductName: 'Microsoft Defender for Cloud',
    StartTimeUtc: time(random),
    EndTimeUtc: time(random),
    TimeGenerated: time(random),
    Severity: pick(random, SEVERITIES),
    Status: 'New',
    IsIncident: false,
    SystemAlertId: `${Math.floor(random() * 1e18)}_${guid(random)}`,
    Intent: 'Execution',
    AzureResourceId: resource,
    CompromisedEntity: name(random),
    AlertDisplayName: `Suspicious process executed on ${name(random)}`,
    Description: 'A process with a suspicious command line was executed on the machine.',
    Entities: Array.from({ length: entities }, (_, i) => ({
      $id: String(i + 2),
      HostName: name(random),
      AzureID: resource,
      ProcessId: `0x${hex(random, 5)}`,
      CommandLine: `powershell -enc ${hex(random, 64)}`,
      Type: pick(random, ['host', 'process', 'ip', 'account']),
    })),
    ExtendedProperties: {
      'Suspicious Process': 'c:\\temp\\svchost.exe',
      EffectiveSubscriptionId: resource.split('/')[2],
    },
    ResourceIdentifiers: [
      { $id: '1', AzureResourceId: resource, Type: 'AzureResource' },
      { $id: '2', AadTenantId: estate.tenantId, Type: 'AAD' },
    ],
    AlertUri: `https://portal.azure.com/#blade/Microsoft_Azure_Security_AzureDefenderForData/AlertBlade/alertId/${guid(random)}`,
  };
}

function enrichment(random: Random, snapshot: boolean) {
  return {
    action: pick(random, ['Insert', 'Write', 'Delete']),
    apiVersion: '2019-01-01',
    isSnapshot: snapshot,
  };
}

function recommendation(random: Random, estate: Estate): Record<string, unknown> {
  const resource = resourceId(random, estate);
  const key = guid(random);
  const snapshot = random() < 0.3;
  return {
    assessmentEventDataEnrichment: enrichment(random, snapshot),
    securityEventDataEnrichment: enrichment(random, snapshot),
    tenantId: estate.tenantId,
    type: 'Microsoft.Security/assessments',
    id: `${resource}/providers/Microsoft.Security/assessments/${key}`,
    name: key,
    properties: {
      resourceDetails: { source: 'Azure', id: resource },
      displayName: 'Machines should have vulnerability findings resolved',
      status: {
        code: pick(random, ['Healthy', 'Unhealthy', 'NotApplicable']),
        statusChangeDate: time(random),
      },
      metadata: {
        severity: pick(random, ['High', 'Medium', 'Low']),
        categories: ['Compute'],
        assessmentType: 'BuiltIn',
      },
    },
  };
}

function finding(random: Random, estate: Estate, cves: number): Record<string, unknown> {
  const resource = resourceId(random, estate);
  const key = guid(random);
  return {
    SecurityEventDataEnrichment: { Action: 'Insert', ApiVersion: '2020-01-01', IsSnapshot: false },
    TenantId: estate.tenantId,
    Type: 'Microsoft.Security/assessments/subAssessments',
    Id: `${resource}/providers/Microsoft.Security/assessments/${guid(random)}/subassessments/${key}`,
    Name: key,
    Properties: {
      Id: key,
      DisplayName: `CVE-2026-${Math.floor(random() * 99999)} in openssl`,
      Status: { Code: 'Unhealthy', Severity: pick(random, SEVERITIES) },
      TimeGenerated: time(random),
      ResourceDetails: { Source: 'Azure', Id: resource },
      AdditionalData: {
        AssessedResourceType: 'ServerVulnerabilityTvm',
        Cves: Array.from({ length: cves }, () => ({
          Title: `CVE-2026-${Math.floor(random() * 99999)}`,
          Link: `https://nvd.nist.gov/vuln/detail/CVE-2026-${Math.floor(random() * 99999)}`,
          Description: 'A buffer overflow allows remote attackers to execute arbitrary code.',
        })),
      },
    },
  };
}

function scoreControl(random: Random, estate: Estate): Record<string, unknown> {
  const sub = pick(random, estate.subscriptions);
  const key = guid(random);
  return {
    securityEventDataEnrichment: enrichment(random, random() < 0.3),
    id: `/subscriptions/${sub}/providers/Microsoft.Security/secureScores/ascScore/secureScoreControls/${key}`,
    name: key,
    type: 'Microsoft.Security/secureScores/secureScoreControls',
    properties: {
      displayName: 'Apply system updates',
      healthyResourceCount: Math.floor(random() * 50),
      unhealthyResourceCount: Math.floor(random() * 50),
      notApplicableResourceCount: 0,
      score: { max: 6, current: 3.2, percentage: 0.53 },
      weight: 3,
    },
  };
}

function compliance(random: Random, estate: Estate): Record<string, unknown> {
  const sub = pick(random, estate.subscriptions);
  const key = guid(random);
  return {
    securityEventDataEnrichment: { action: 'Write', apiVersion: '2019-01-01-preview', isSnapshot: false },
    id: `/subscriptions/${sub}/providers/Microsoft.Security/regulatoryComplianceStandards/Microsoft-cloud-security-benchmark/regulatoryComplianceControls/LT.${Math.floor(random() * 9)}/regulatoryComplianceAssessments/${key}`,
    name: key,
    type: 'Microsoft.Security/regulatoryComplianceStandards/regulatoryComplianceControls/regulatoryComplianceAssessments',
    properties: {
      description: 'Log Analytics agent should be installed on virtual machine scale sets',
      state: pick(random, ['Passed', 'Failed', 'Skipped']),
      passedResources: Math.floor(random() * 10),
      failedResources: Math.floor(random() * 10),
      skippedResources: 0,
    },
  };
}

function xdrEvent(random: Random, estate: Estate): Record<string, unknown> {
  return {
    time: time(random),
    tenantId: estate.tenantId,
    operationName: 'Publish',
    category: `AdvancedHunting-${pick(random, ['DeviceProcessEvents', 'DeviceNetworkEvents', 'DeviceFileEvents', 'DeviceLogonEvents'])}`,
    properties: {
      Timestamp: time(random),
      DeviceId: hex(random, 40),
      DeviceName: `${name(random)}.contoso.com`,
      ActionType: pick(random, ['ProcessCreated', 'ConnectionSuccess', 'FileCreated', 'LogonSuccess']),
      InitiatingProcessFileName: 'powershell.exe',
      InitiatingProcessCommandLine: `powershell.exe -NoProfile -Command "${hex(random, 40)}"`,
      InitiatingProcessSHA256: hex(random, 64),
      RemoteIP: `10.${Math.floor(random() * 255)}.${Math.floor(random() * 255)}.${Math.floor(random() * 255)}`,
      AdditionalFields: JSON.stringify({ Count: Math.floor(random() * 10) }),
      ReportId: Math.floor(random() * 1e6),
    },
  };
}

const KINDS = ['alert', 'recommendation', 'finding', 'scoreControl', 'compliance', 'xdr'] as const;
type Kind = (typeof KINDS)[number];

function makeEvent(kind: Kind, random: Random, estate: Estate): Record<string, unknown> {
  switch (kind) {
    case 'alert':
      return alert(random, estate, 3);
    case 'recommendation':
      return recommendation(random, estate);
    case 'finding':
      return finding(random, estate, 2);
    case 'scoreControl':
      return scoreControl(random, estate);
    case 'compliance':
      return compliance(random, estate);
    case 'xdr':
      return xdrEvent(random, estate);
  }
}

/** Pads an event to about `bytes` with a realistic free-text field (`Remarks`). */
function padTo(event: Record<string, unknown>, bytes: number, random: Random): string {
  const json = JSON.stringify(event);
  const missing = bytes - Buffer.byteLength(json) - 14;
  if (missing <= 0) return json;
  const words: string[] = [];
  for (let length = 0; length < missing; length += Buffer.byteLength(words[words.length - 1]!) + 1)
    words.push(pick(random, WORDS));
  let filler = words.join(' ');
  while (Buffer.byteLength(filler) > missing) filler = filler.slice(0, -1);
  return JSON.stringify({ ...event, Remarks: filler });
}

export interface WorkloadOptions {
  count: number;
  seed?: number;
  /** Every event about this many bytes; otherwise a realistic mix (2 KB median, tail up to 300 KB). */
  bytes?: number;
  subscriptions?: number;
}

/** Event Hub message bodies (one JSON object each), in the mix of data types a tenant sends. */
export function* workload(options: WorkloadOptions): Generator<string> {
  const random = seededRandom(options.seed ?? 1);
  const estate: Estate = {
    tenantId: guid(random),
    subscriptions: Array.from({ length: options.subscriptions ?? 50 }, () => guid(random)),
  };
  for (let i = 0; i < options.count; i++) {
    const kind = pick(random, KINDS);
    if (options.bytes !== undefined) {
      yield padTo(makeEvent(kind, random, estate), options.bytes, random);
      continue;
    }
    // About 1% are the oversized tail: alerts with hundreds of entities, findings with hundreds of CVEs.
    if (random() < 0.01) {
      const targetKb = 40 + Math.floor(random() * 260);
      yield JSON.stringify(
        kind === 'alert' || random() < 0.5
          ? alert(random, estate, Math.ceil(targetKb * 3.9))
          : finding(random, estate, Math.ceil(targetKb * 5.6)),
      );
      continue;
    }
    // Log-normal around 2 KB: most events are 1–4 KB.
    const bytes = Math.round(
      2048 * Math.exp(0.5 * Math.sqrt(-2 * Math.log(random() || 1e-9)) * Math.cos(2 * Math.PI * random())),
    );
    yield padTo(makeEvent(kind, random, estate), bytes, random);
  }
}
