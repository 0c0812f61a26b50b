import { createHash } from 'node:crypto';
import type { GraphResource } from './resourceGraphServer';

/*
 * Defender for Cloud state as Resource Graph's `securityresources` table holds it. The properties are the
 * Azure REST API examples copied into ../shared/samples (provenance in samples/SOURCES.md:
 * assessment-, subassessment-, securescore-, securescorecontrols-, regulatorycompliance- and
 * alert-restapi-example-1.json), with the example's subscription rewritten to each sample one. Assessments
 * and secure score controls also get the fields Microsoft's own Resource Graph sample queries read
 * (assessments' `metadata` and `links`, controls' `definition`: MicrosoftDocs/azure-docs,
 * includes/resource-graph/samples/bytable/securityresources.md). No attack path payload is public: that one
 * follows the field list in ../shared/FACTS.md §1 and is an inference.
 */

export const SAMPLE_TENANT_ID = '72f988bf-0000-0000-0000-000000000000';

export const SECURITY_TYPES = {
  assessments: 'microsoft.security/assessments',
  subAssessments: 'microsoft.security/assessments/subassessments',
  secureScores: 'microsoft.security/securescores',
  secureScoreControls: 'microsoft.security/securescores/securescorecontrols',
  regulatoryCompliance:
    'microsoft.security/regulatorycompliancestandards/regulatorycompliancecontrols/regulatorycomplianceassessments',
  attackPaths: 'microsoft.security/attackpaths',
  alerts: 'microsoft.security/locations/alerts',
} as const;

export type SecurityType = keyof typeof SECURITY_TYPES;

// The REST examples' own subscriptions (the regulatory compliance one links to a second).
const EXAMPLE_SUBSCRIPTIONS = /20ff7fc3-e762-44dd-bd96-b71116dcdc23|a27e854a-8578-4395-8eaf-6fc7849f3050/g;
const LOCATION = 'westeurope';
const DAY = 86_400_000;

/** A stable GUID for a name: the same estate every run. */
export function guid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Defender writes times with seven fractional digits, e.g. 2020-02-23T13:47:58.0000000Z. */
const time = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');

function rewrite(value: unknown, subscriptionId: string): unknown {
  if (typeof value === 'string') return value.replace(EXAMPLE_SUBSCRIPTIONS, subscriptionId);
  if (Array.isArray(value)) return value.map((v) => rewrite(v, subscriptionId));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewrite(v, subscriptionId)]));
  }
  return value;
}

function resource(
  subscriptionId: string,
  type: SecurityType,
  id: string,
  properties: Record<string, unknown>,
): GraphResource {
  return {
    id,
    name: id.slice(id.lastIndexOf('/') + 1),
    type: SECURITY_TYPES[type],
    tenantId: SAMPLE_TENANT_ID,
    subscriptionId,
    resourceGroup: (/\/resourceGroups\/([^/]+)/i.exec(id)?.[1] ?? '').toLowerCase(),
    location: LOCATION,
    properties: rewrite(properties, subscriptionId) as Record<string, unknown>,
  };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const pick = <T>(items: readonly T[], n: number): T => items[n % items.length]!;
/** The example's own name for the first of a kind, a stable new one after. */
const nameFor = (example: string, kind: string, n: number) => (n === 0 ? example : guid(`${kind}-${n}`));

// ---- Assessments (GetAssessment_example.json, 2021-06-01) --------------------------------------------

const ASSESSMENTS = [
  {
    // The example itself.
    key: '21300918-b2e3-0346-785f-c77ff57d243b',
    resource: 'Microsoft.Compute/virtualMachineScaleSets/vmss2',
    displayName: 'Install endpoint protection solution on virtual machine scale sets',
    status: {
      code: 'NotApplicable',
      cause: 'OffByPolicy',
      description:
        'The effective policy for the assessment was evaluated to off - use Microsoft.Authorization/policyAssignments to turn this assessment on',
    },
    severity: 'Medium',
    category: 'Compute',
  },
  {
    key: guid('assessment-vulnerabilities'),
    resource: 'Microsoft.Compute/virtualMachines/vm1',
    displayName: 'Machines should have vulnerability findings resolved',
    status: { code: 'Unhealthy' },
    severity: 'High',
    category: 'Compute',
  },
  {
    key: guid('assessment-storage-network'),
    resource: 'Microsoft.Storage/storageAccounts/stcontoso',
    displayName: 'Storage accounts should restrict network access',
    status: { code: 'Healthy' },
    severity: 'Low',
    category: 'Data',
  },
];

function assessment(subscriptionId: string, n: number, now: number): GraphResource {
  const kind = pick(ASSESSMENTS, n);
  const target = `/subscriptions/${subscriptionId}/resourceGroups/myRg/providers/${kind.resource}${n < ASSESSMENTS.length ? '' : `-${n}`}`;
  return resource(
    subscriptionId,
    'assessments',
    `${target}/providers/Microsoft.Security/assessments/${kind.key}`,
    {
      resourceDetails: { source: 'Azure', id: target },
      displayName: kind.displayName,
      status: {
        ...kind.status,
        firstEvaluationDate: time(now - 30 * DAY - n * 60_000),
        statusChangeDate: time(now - 3 * DAY - n * 60_000),
      },
      additionalData: {
        linkedWorkspaceId:
          '/subscriptions/20ff7fc3-e762-44dd-bd96-b71116dcdc23/resourceGroups/myRg/providers/Microsoft.OperationalInsights/workspaces/myLaWorkspace',
      },
      metadata: {
        displayName: kind.displayName,
        assessmentType: 'BuiltIn',
        policyDefinitionId: `/providers/Microsoft.Authorization/policyDefinitions/${guid(`policy-${kind.key}`)}`,
        description: `${kind.displayName}. Defender for Cloud evaluates this recommendation on every resource of the type in scope and reports each resource as healthy, unhealthy or not applicable; resolving it reduces the attack surface the resource exposes. Unhealthy resources lower the secure score of the control the recommendation belongs to, and attack path analysis uses them to find the routes an attacker could take from an exposed resource to a sensitive one.`,
        remediationDescription:
          'Open the recommendation in Defender for Cloud, review the affected resources, and apply the fix to each unhealthy one (a quick fix is offered where one exists). The status updates within 24 hours.',
        categories: [kind.category],
        severity: kind.severity,
        userImpact: 'Low',
        implementationEffort: 'Low',
        threats: ['dataExfiltration', 'dataSpillage', 'maliciousInsider'],
        tactics: ['Initial Access', 'Execution', 'Privilege Escalation'],
        techniques: ['Exploit Public-Facing Application', 'Exploitation for Privilege Escalation'],
        preview: false,
        publishDates: { GA: '2021-06-01', public: '2021-06-01' },
      },
      links: {
        azurePortal: `portal.azure.com/#blade/Microsoft_Azure_Security/RecommendationsBlade/assessmentKey/${kind.key}`,
      },
    },
  );
}

// ---- Sub-assessments (GetSubAssessment_example.json, 2019-01-01-preview) ------------------------------

const FINDINGS = [
  {
    // The example itself.
    displayName: "'Back Orifice' Backdoor",
    severity: 'High',
    category: 'Backdoors and trojan horses',
    remediation:
      'Use a recent anti-virus program to remove this backdoor and check your system regularly with anti-virus software.',
    description:
      "The backdoor 'Back Orifice' was detected on this system.  The presence of this backdoor indicates that your system has already been compromised.  Unauthorized users can access your host at any time. Unauthorized users can take complete control of the host and manipulate data.  They can steal the data or even wipe out the host.",
  },
  {
    displayName: 'Debian Security Update for openssl',
    severity: 'Medium',
    category: 'Debian',
    remediation:
      'Update the openssl package in the base image to the version named in the Debian security advisory, rebuild the image, push it to the registry, and redeploy the workloads that run it. Remove the vulnerable tag once nothing pulls it.',
    description:
      'Debian has released a security update for openssl that fixes several vulnerabilities. A flaw in the handling of malformed certificates may let a remote attacker cause a denial of service by sending a crafted certificate chain to a service that verifies it, and a read past the end of a buffer may disclose memory contents to the peer. Every image built on the affected base layer carries the vulnerable package until it is rebuilt, whether or not the application calls openssl directly, because the library is loaded by common runtimes and tools.',
  },
  {
    displayName: 'Ubuntu Security Notification for curl',
    severity: 'Low',
    category: 'Ubuntu',
    remediation:
      'Update the curl and libcurl packages in the base image to the versions named in the Ubuntu security notice, rebuild the image, and redeploy the workloads that run it.',
    description:
      'Ubuntu has published a security notification for curl. A flaw in the way curl and libcurl handle cookies may let a malicious or compromised server set cookies that are then sent to other hosts, and a flaw in the handling of redirects may leak credentials given for one host to another. Containers that fetch data over HTTP with curl or libcurl from untrusted endpoints are the most exposed; images that only include the package as a dependency are still reported until it is updated.',
  },
];

function subAssessment(subscriptionId: string, n: number, now: number): GraphResource {
  const finding = pick(FINDINGS, n);
  const name = nameFor('8c98f353-8b41-4e77-979b-6adeecd5d168', 'sub-assessment', n);
  const digest = n === 0 ? 'c186fc44-3154-4ce2-ba18-b719d895c3b0' : guid(`image-${n % 50}`);
  const registry = `/subscriptions/${subscriptionId}/resourceGroups/myRg/providers/Microsoft.ContainerRegistry/registries/myRegistry`;
  const path = `providers/Microsoft.Security/assessments/21300918-b2e3-0346-785f-c77ff57d243b/subAssessments/${name}`;
  const cve = `CVE-2019-${12345 + n}`;
  return resource(subscriptionId, 'subAssessments', `${registry}/${path}`, {
    displayName: finding.displayName,
    id: String(1001 + n),
    status: {
      code: 'Unhealthy',
      cause: '',
      severity: finding.severity,
      description: 'The resource is unhealthy',
    },
    resourceDetails: {
      source: 'Azure',
      id: `${registry}/repository/myRepo/imageDigest/${digest}/${path}`,
    },
    remediation: finding.remediation,
    impact: '3',
    category: finding.category,
    description: finding.description,
    timeGenerated: n === 0 ? '2019-06-23T12:20:08.7644808Z' : time(now - DAY - n * 60_000),
    additionalData: {
      assessedResourceType: 'ContainerRegistryVulnerability',
      imageName: 'myImage',
      imageDigest: digest,
      repositoryName: 'myRepo',
      type: 'Vulnerability',
      cvss: { '2.0': { base: 10 }, '3.0': { base: 10 } },
      patchable: true,
      publishedTime: n === 0 ? '2019-06-20T00:00:00.0000000Z' : time(now - 30 * DAY - n * 3_600_000),
      cve: range(2 + (n % 4)).map((k) => ({ title: k ? `${cve}-${k}` : cve, link: 'http://contoso.com' })),
      threat: '',
      remediationLink: 'http://contoso.com',
      vendorReferences: range(1 + (n % 3)).map((k) => ({
        title: `Reference_${k + 1}`,
        link: 'http://contoso.com',
      })),
    },
  });
}

// ---- Secure score and its controls (ListSecureScores / ListSecureScoreControls_example.json, 2020-01-01)

function secureScore(subscriptionId: string): GraphResource {
  return resource(
    subscriptionId,
    'secureScores',
    `/subscriptions/${subscriptionId}/providers/Microsoft.Security/secureScores/ascScore`,
    { displayName: 'ASC score', score: { max: 39, current: 23.53, percentage: 0.6033 }, weight: 67 },
  );
}

// The example's twelve controls: name, displayName, healthy, unhealthy, not applicable, max, current, %, weight.
const CONTROLS: Array<[string, string, number, number, number, number, number, number, number]> = [
  ['34a42fb3-e6db-409c-b56b-7b1db6b8aee0', 'Enable MFA', 1, 0, 0, 10, 10, 1, 1],
  ['27b24961-75ba-4fe4-8909-97286d5dd5ee', 'Enable auditing and logging', 1, 4, 0, 1, 0.2, 0.2, 5],
  ['61702b76-1fab-41f2-bcbc-50b7870dcf38', 'Apply system updates', 0, 1, 0, 6, 0, 0, 1],
  ['a9909064-42b4-4d34-8143-275477afe18b', 'Protect applications against DDoS attacks', 0, 0, 1, 0, 0, 0, 0],
  ['76763537-9feb-42d3-b4f4-78c01117be80', 'Implement security best practices', 7, 0, 1, 0, 0, 0, 7],
  ['4db8d6cf-075b-4149-a813-da09ca2ae120', 'Enable Advanced Threat Protection', 0, 1, 0, 0, 0, 0, 1],
  ['2d85f639-0bea-4a4a-b6c6-608952a1414a', 'Manage access and permissions', 1, 1, 0, 4, 2, 0.5, 2],
  ['99fc8df2-e0f5-40f8-9415-a7f7ca948b5a', 'Remediate security configurations', 0, 1, 0, 4, 0, 0, 1],
  ['12136bd9-dc24-44f2-9587-7be3af6aac14', 'Enable endpoint protection', 0, 1, 0, 2, 0, 0, 1],
  ['0e55495e-034f-4abc-8293-767229250176', 'Encrypt data in transit', 5, 1, 0, 4, 3.33, 0.8325, 6],
  ['f9d5432b-8f7b-45e9-b90c-e214a30f6a02', 'Restrict unauthorized network access', 1, 0, 0, 4, 4, 1, 1],
  ['8fd574ec-43cf-426e-a439-a67cbaf2d564', 'Enable encryption at rest', 1, 0, 0, 4, 4, 1, 1],
];

function secureScoreControl(subscriptionId: string, n: number): GraphResource {
  const [example, displayName, healthy, unhealthy, notApplicable, max, current, percentage, weight] = pick(
    CONTROLS,
    n,
  );
  const name = n < CONTROLS.length ? example : guid(`control-${n}`);
  return resource(
    subscriptionId,
    'secureScoreControls',
    `/subscriptions/${subscriptionId}/providers/Microsoft.Security/secureScores/ascScore/secureScoreControls/${name}`,
    {
      displayName,
      healthyResourceCount: healthy,
      unhealthyResourceCount: unhealthy,
      notApplicableResourceCount: notApplicable,
      score: { max, current, percentage },
      weight,
      definition: {
        id: `/providers/Microsoft.Security/secureScoreControlDefinitions/${name}`,
        name,
        type: 'Microsoft.Security/secureScoreControlDefinitions',
        properties: {
          displayName,
          maxScore: max,
          source: { sourceType: 'BuiltIn' },
          assessmentDefinitions: [
            { id: `/providers/Microsoft.Security/assessmentMetadata/${guid(`control-assessment-${name}`)}` },
          ],
        },
      },
    },
  );
}

// ---- Regulatory compliance (getRegulatoryComplianceAssessment_example.json, 2019-01-01-preview) -------

const COMPLIANCE = [
  // The example itself.
  {
    control: '1.1',
    description: 'Troubleshoot missing scan data on your machines',
    state: 'failed',
    counts: [7, 4, 0],
  },
  {
    control: '1.2',
    description: 'Network traffic data collection agent should be installed',
    state: 'passed',
    counts: [11, 0, 0],
  },
  {
    control: '2.1',
    description: 'Storage accounts should use a private link connection',
    state: 'skipped',
    counts: [0, 0, 3],
  },
];

function complianceAssessment(subscriptionId: string, n: number): GraphResource {
  const c = pick(COMPLIANCE, n);
  const name = nameFor('968548cb-02b3-8cd2-11f8-0cf64ab1a347', 'compliance', n);
  return resource(
    subscriptionId,
    'regulatoryCompliance',
    `/subscriptions/${subscriptionId}/providers/Microsoft.Security/regulatoryComplianceStandards/PCI-DSS-3.2/regulatoryComplianceControls/${c.control}/regulatoryComplianceAssessments/${name}`,
    {
      controlName: c.control,
      description: c.description,
      assessmentType: 'Assessment',
      assessmentDetailsLink: `https://management.azure.com/subscriptions/a27e854a-8578-4395-8eaf-6fc7849f3050/providers/Microsoft.Security/securityStatuses/${name}`,
      state: c.state,
      passedResources: c.counts[0],
      failedResources: c.counts[1],
      skippedResources: c.counts[2],
    },
  );
}

// ---- Attack paths (no public payload: the fields of ../shared/FACTS.md §1) ----------------------------

function attackPath(subscriptionId: string, n: number): GraphResource {
  const entry = guid(`attack-entry-${n}`);
  const target = guid(`attack-target-${n}`);
  const vm = `/subscriptions/${subscriptionId}/resourceGroups/myRg/providers/Microsoft.Compute/virtualMachines/vm1`;
  const vault = `/subscriptions/${subscriptionId}/resourceGroups/myRg/providers/Microsoft.KeyVault/vaults/kv-contoso`;
  return resource(
    subscriptionId,
    'attackPaths',
    `/subscriptions/${subscriptionId}/providers/Microsoft.Security/attackPaths/${guid(`attack-path-${n}`)}`,
    {
      displayName: 'Internet exposed VM with high severity vulnerabilities has permissions to a Key Vault',
      description:
        'Virtual machine vm1 is reachable from the internet and has high severity vulnerabilities; its managed identity can read secrets in key vault kv-contoso.',
      attackStory:
        'An attacker exploits a vulnerability on the internet-facing virtual machine, takes over its managed identity, and reads the secrets in the key vault.',
      riskLevel: 'High',
      riskCategories: ['Data exposure', 'Credential theft'],
      entryPointEntityInternalID: entry,
      targetEntityInternalID: target,
      graphComponent: {
        entryPointEntityType: 'microsoft.compute/virtualmachines',
        targetEntityType: 'microsoft.keyvault/vaults',
        entities: [
          {
            entityInternalID: entry,
            entityName: 'vm1',
            entityType: 'microsoft.compute/virtualmachines',
            entityIdentifiers: { azureResourceId: vm },
          },
          {
            entityInternalID: target,
            entityName: 'kv-contoso',
            entityType: 'microsoft.keyvault/vaults',
            entityIdentifiers: { azureResourceId: vault },
          },
        ],
        connections: [
          { sourceEntityInternalID: entry, targetEntityInternalID: target, title: 'has permission to' },
        ],
        insights: [
          { entityInternalID: entry, title: 'Exposed to the internet', data: { ports: [22, 3389] } },
          {
            entityInternalID: entry,
            title: 'Has high severity vulnerabilities',
            data: { cves: ['CVE-2024-3094'] },
          },
          { entityInternalID: target, title: 'Contains sensitive data', data: {} },
        ],
      },
    },
  );
}

// ---- Alerts (GetAlertSubscriptionLocation_example.json, 2022-01-01) ------------------------------------

function alert(subscriptionId: string, n: number, generated: number): GraphResource {
  const name =
    n === 0
      ? '2518770965529163669_F144EE95-A3E5-42DA-A279-967D115809AA'
      : `${2518770965529163669n - BigInt(n)}_${guid(`alert-${n}`).toUpperCase()}`;
  return resource(
    subscriptionId,
    'alerts',
    `/subscriptions/${subscriptionId}/resourceGroups/myRg1/providers/Microsoft.Security/locations/${LOCATION}/alerts/${name}`,
    // Resource Graph holds alert properties PascalCase (Microsoft's sample queries read properties.Status,
    // properties.SystemAlertId), unlike the alerts REST API's camelCase: see docs/backfill-mapping.md.
    pascalKeys({
      version: '2022-01-01',
      alertType: 'VM_EICAR',
      systemAlertId: name,
      productComponentName: 'testName',
      alertDisplayName: 'Azure Security Center test alert (not a threat)',
      description: 'This is a test alert generated by Azure Security Center. No further action is needed.',
      severity: 'High',
      intent: 'Execution',
      startTimeUtc: time(generated - 3_600_000),
      endTimeUtc: time(generated - 3_600_000),
      resourceIdentifiers: [
        {
          azureResourceId:
            '/subscriptions/20ff7fc3-e762-44dd-bd96-b71116dcdc23/resourceGroups/myRg1/providers/Microsoft.Compute/virtualMachines/vm1',
          type: 'AzureResource',
        },
        {
          workspaceId: 'f419f624-acad-4d89-b86d-f62fa387f019',
          workspaceSubscriptionId: '20ff7fc3-e762-44dd-bd96-b71116dcdc23',
          workspaceResourceGroup: 'myRg1',
          agentId: '75724a01-f021-4aa8-9ec2-329792373e6e',
          type: 'LogAnalytics',
        },
      ],
      remediationSteps: ['No further action is needed.'],
      vendorName: 'Microsoft',
      // The older alert of each subscription was resolved since.
      status: n % 2 === 0 ? 'Resolved' : 'Active',
      extendedLinks: [
        {
          Category: 'threat_reports',
          Label: 'Report: RDP Brute Forcing',
          Href: 'https://contoso.com/reports/DisplayReport',
          Type: 'webLink',
        },
      ],
      alertUri: `https://portal.azure.com/#blade/Microsoft_Azure_Security/AlertBlade/alertId/${name}/subscriptionId/20ff7fc3-e762-44dd-bd96-b71116dcdc23/resourceGroup/myRg1/referencedFrom/alertDeepLink/location/${LOCATION}`,
      timeGeneratedUtc: time(generated),
      productName: 'Azure Security Center',
      processingEndTimeUtc: time(generated + 920),
      entities: [
        {
          address: '192.0.2.1',
          location: {
            countryCode: 'gb',
            state: 'wokingham',
            city: 'sonning',
            longitude: -0.909,
            latitude: 51.468,
            asn: 6584,
          },
          type: 'ip',
        },
      ],
      isIncident: true,
      correlationKey: 'kso0LFWxzCll5tqrk5hmrBJ+MY1BX806W6q6+0s9Lk=',
      extendedProperties: { Property1: 'Property1 information' },
      compromisedEntity: 'vm1',
      techniques: ['T1059', 'T1053', 'T1072'],
      subTechniques: ['T1059.001', 'T1059.006', 'T1053.002'],
      supportingEvidence: {
        type: 'tabularEvidences',
        title: 'Investigate activity test',
        columns: ['Date', 'Activity', 'User', 'TestedText', 'TestedValue'],
        rows: [
          ['2022-01-17T07:03:52.034Z', 'Log on', 'testUser', 'false', false],
          ['2022-01-17T07:03:52.034Z', 'Log on', 'testUser2', 'false', false],
          ['2022-01-17T07:03:52.034Z', 'Log on', 'testUser3', 'true', true],
        ],
      },
    }),
  );
}

// ---- The estates ---------------------------------------------------------------------------------------

/**
 * A small, realistic estate: per subscription 3 assessments, 3 sub-assessments, the secure score, 3 of its
 * controls, 3 regulatory compliance assessments, an attack path, and 2 alerts (generated 10 days and an hour
 * before `now`). The same input gives the same estate.
 */
export function sampleSecurityResources(subscriptionIds: string[], now: Date): GraphResource[] {
  const at = now.getTime();
  return subscriptionIds.flatMap((sub) => [
    ...range(3).map((n) => assessment(sub, n, at)),
    ...range(3).map((n) => subAssessment(sub, n, at)),
    secureScore(sub),
    ...range(3).map((n) => secureScoreControl(sub, n)),
    ...range(3).map((n) => complianceAssessment(sub, n)),
    attackPath(sub, 0),
    alert(sub, 0, at - 10 * DAY),
    alert(sub, 1, at - 3_600_000),
  ]);
}

/** The subscriptions `generatedSecurityResources(…, subscriptions)` spreads its resources over. */
export function generatedSubscriptionIds(subscriptions: number): string[] {
  return range(subscriptions).map((n) => guid(`subscription-${n}`));
}

// Per 200 resources: mostly recommendations and findings, as in a real estate.
const WEIGHTS: Array<[Exclude<SecurityType, 'secureScores'>, number]> = [
  ['assessments', 88],
  ['subAssessments', 88],
  ['alerts', 8],
  ['secureScoreControls', 8],
  ['regulatoryCompliance', 7],
  ['attackPaths', 1],
];

/**
 * `count` resources for a benchmark (about 2 KB of properties each on average), spread round-robin over
 * `generatedSubscriptionIds(subscriptions)`: first each subscription's secure score, then the other types
 * interleaved in the proportions above (smooth weighted round-robin, so any prefix has them too). Ids are
 * unique; the same arguments give the same resources. Times count back from `now`.
 */
export function* generatedSecurityResources(
  count: number,
  subscriptions: number,
  now: Date = new Date(Date.UTC(2025, 0, 1)),
): Generator<GraphResource> {
  if (!(subscriptions >= 1))
    throw new RangeError('generatedSecurityResources needs at least one subscription');
  const subs = generatedSubscriptionIds(subscriptions);
  const at = now.getTime();
  let i = 0;
  for (; i < Math.min(count, subs.length); i++) yield secureScore(subs[i]!);
  const total = WEIGHTS.reduce((sum, [, w]) => sum + w, 0);
  const credit = WEIGHTS.map(() => 0);
  const made = WEIGHTS.map(() => 0);
  for (; i < count; i++) {
    WEIGHTS.forEach(([, w], k) => (credit[k]! += w));
    const k = credit.indexOf(Math.max(...credit));
    credit[k]! -= total;
    const n = made[k]!++;
    const sub = subs[i % subs.length]!;
    const type = WEIGHTS[k]![0];
    if (type === 'assessments') yield assessment(sub, n, at);
    else if (type === 'subAssessments') yield subAssessment(sub, n, at);
    else if (type === 'alerts') yield alert(sub, n, at - n * 300_000);
    else if (type === 'secureScoreControls') yield secureScoreControl(sub, n);
    else if (type === 'regulatoryCompliance') yield complianceAssessment(sub, n);
    else yield attackPath(sub, n);
  }
}

/** The object with its own keys PascalCase (nested keys as they are). */
function pascalKeys(properties: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(properties).map(([key, value]) => [key.charAt(0).toUpperCase() + key.slice(1), value]),
  );
}
