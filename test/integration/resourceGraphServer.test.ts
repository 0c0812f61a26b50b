import { ResourceGraphClient, type ResourceGraphModels } from '@azure/arm-resourcegraph';
import type { TokenCredential } from '@azure/core-auth';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request } from 'node:https';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_SUBSCRIPTIONS,
  startResourceGraphStandIn,
  type GraphResource,
  type ResourceGraphStandIn,
} from '../../dev/resourceGraphServer';
import {
  generatedSecurityResources,
  generatedSubscriptionIds,
  sampleSecurityResources,
  SECURITY_TYPES,
} from '../../dev/sampleSecurityResources';

/**
 * The Resource Graph stand-in, driven by the real client (@azure/arm-resourcegraph 4.2.1, which trusts the
 * dev certificate through NODE_EXTRA_CA_CERTS, set by the global setup): paging, scopes, the query subset,
 * throttling and the errors the service answers.
 */

const certFile = () => readFileSync(process.env.DEFENDER_EXPORT_DEV_CERT!, 'utf8');
const cert = () => ({ cert: certFile(), key: readFileSync(process.env.DEFENDER_EXPORT_DEV_KEY!, 'utf8') });

const NOW = new Date('2026-03-01T12:00:00Z');
const SUBS = [
  '5ec00000-0000-4000-8000-000000000001',
  '5ec00000-0000-4000-8000-000000000002',
  '5ec00000-0000-4000-8000-000000000003',
];
const ASSESSMENTS = `securityresources | where type =~ '${SECURITY_TYPES.assessments}'`;
/** Each subscription's row and its continuous-export automations in one row, as the coverage reconciler asks. */
const joined = (containers = 'resourcecontainers', resources = 'resources', op = '=~') => `${containers}
| where type ${op} 'microsoft.resources/subscriptions'
| project id, name, subscriptionId, properties
| join kind=leftouter (
    ${resources}
    | where type ${op} 'microsoft.security/automations'
    | project subscriptionId, automation = pack('id', id, 'name', name, 'location', location, 'tags', tags, 'properties', properties)
    | summarize automations = make_list(automation) by subscriptionId
  ) on subscriptionId
| project id, name, subscriptionId, properties, automations`;

const credential = (token: string): TokenCredential => ({
  getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }),
});

let graph: ResourceGraphStandIn;
let client: ResourceGraphClient;

beforeAll(async () => {
  // Nine assessments over three subscriptions, four a page: three pages.
  graph = await startResourceGraphStandIn({
    ...cert(),
    resources: sampleSecurityResources(SUBS, NOW),
    pageSize: 4,
  });
  client = new ResourceGraphClient(credential(graph.token), { baseUri: graph.url });
});
afterAll(async () => {
  await graph?.close();
});
afterEach(() => {
  graph.clearFaults();
  graph.requests.length = 0;
});

/** Every page of a query, as a backfill reads them. */
async function readAll(query: string, subscriptions?: string[], on = client) {
  const pages: ResourceGraphModels.ResourcesResponse[] = [];
  let skipToken: string | undefined;
  do {
    const page = await on.resources({
      query,
      ...(subscriptions ? { subscriptions } : {}),
      options: { skipToken },
    });
    pages.push(page);
    skipToken = page.skipToken;
  } while (skipToken);
  const rows = pages.flatMap((p) => p.data as Array<Record<string, unknown>>);
  return { pages, rows, ids: rows.map((r) => r.id as string) };
}

type ClientOptions = NonNullable<ConstructorParameters<typeof ResourceGraphClient>[1]>;
type PolicyFactory = Extract<NonNullable<ClientOptions['requestPolicyFactories']>, unknown[]>[number];

/**
 * Honours Retry-After on a 429 (three times at most). The client's own throttling policy sits outside its
 * deserialization policy, which turns the 429 into an error first, so it never retries one
 * (Azure/azure-sdk-for-js#7989): a caller that pages through Resource Graph has to add this.
 */
const retryAfter429: PolicyFactory = {
  create: (next) => ({
    async sendRequest(request) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await next.sendRequest(request.clone());
        } catch (e) {
          const error = e as {
            statusCode?: number;
            response?: { headers: { get(n: string): string | undefined } };
          };
          const seconds = Number(error.response?.headers.get('retry-after'));
          if (error.statusCode !== 429 || attempt > 3 || !(seconds >= 0)) throw e;
          await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
        }
      }
    },
  }),
};

const retryingClient = (on: ResourceGraphStandIn) =>
  new ResourceGraphClient(credential(on.token), {
    baseUri: on.url,
    requestPolicyFactories: (defaults) => [retryAfter429, ...defaults],
  });

interface Raw {
  status: number;
  headers: IncomingHttpHeaders;
  body: { error?: { code: string; message: string; details?: Array<Record<string, unknown>> } };
}

/** A raw call, to see what the SDK hides (status, headers, the whole error). */
function post(
  body: unknown,
  {
    on = graph,
    path = '/providers/Microsoft.ResourceGraph/resources?api-version=2021-03-01',
    token = on.token,
  }: { on?: ResourceGraphStandIn; path?: string; token?: string } = {},
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const headers = {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    };
    const req = request(new URL(path, on.url), { method: 'POST', ca: certFile(), headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          body: JSON.parse(Buffer.concat(chunks).toString()) as Raw['body'],
        }),
      );
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('paging', () => {
  it('walks three pages by $skipToken and returns every resource once, in id order', async () => {
    const { pages, ids } = await readAll(ASSESSMENTS);
    const expected = graph.resources.filter((r) => r.type === SECURITY_TYPES.assessments).map((r) => r.id);
    expect(pages.map((p) => p.count)).toEqual([4, 4, 1]);
    expect(pages.every((p) => p.totalRecords === 9 && p.resultTruncated === 'false')).toBe(true);
    expect(new Set(ids).size).toBe(9);
    expect([...ids].sort()).toEqual([...expected].sort());
    expect(ids).toEqual([...ids].sort());
    expect(graph.requests.map((r) => [r.status, r.skipToken === undefined])).toEqual([
      [200, true],
      [200, false],
      [200, false],
    ]);
  });

  it('answers totalRecords to $top: 1, with a token for the rest', async () => {
    const page = await client.resources({ query: ASSESSMENTS, options: { top: 1 } });
    expect(page).toMatchObject({ totalRecords: 9, count: 1, resultTruncated: 'false' });
    expect(page.skipToken).toBeTruthy();
    // The token keeps the page size it was issued with.
    const next = await client.resources({ query: ASSESSMENTS, options: { skipToken: page.skipToken } });
    expect(next.count).toBe(1);
    expect(next.data[0].id > page.data[0].id).toBe(true);
  });

  it('follows changes to the table between requests', async () => {
    const [extra] = sampleSecurityResources(['5ec00000-0000-4000-8000-000000000009'], NOW);
    graph.resources.push(extra!);
    try {
      expect((await readAll(ASSESSMENTS)).ids).toContain(extra!.id);
    } finally {
      graph.resources.pop();
    }
    expect((await readAll(ASSESSMENTS)).ids).not.toContain(extra!.id);
  });

  it('refuses a skip token sent with another query or other subscriptions', async () => {
    const first = await client.resources({ query: ASSESSMENTS });
    const other = `securityresources | where type =~ '${SECURITY_TYPES.alerts}'`;
    for (const query of [
      { query: other, options: { skipToken: first.skipToken } },
      { query: ASSESSMENTS, subscriptions: [SUBS[0]!], options: { skipToken: first.skipToken } },
      { query: ASSESSMENTS, options: { skipToken: 'not-a-token' } },
    ]) {
      await expect(client.resources(query)).rejects.toMatchObject({ statusCode: 400, code: 'BadRequest' });
    }
    const raw = await post({ query: other, options: { $skipToken: first.skipToken } });
    expect(raw.body.error?.details?.[0]?.code).toBe('InvalidSkipToken');
  });
});

describe('scopes and filters', () => {
  it('returns only the listed subscriptions, all of them when none is listed', async () => {
    const { ids } = await readAll(ASSESSMENTS, [SUBS[1]!.toUpperCase()]);
    expect(ids).toHaveLength(3);
    expect(ids.every((id) => id.startsWith(`/subscriptions/${SUBS[1]}/`))).toBe(true);
    expect((await readAll(ASSESSMENTS, [SUBS[0]!, SUBS[2]!])).ids).toHaveLength(6);
    expect(graph.requests[0]!.subscriptions).toBe(1);
  });

  it('matches the type case-insensitively with =~ and exactly with ==', async () => {
    const alerts = (op: string, type: string) => readAll(`securityresources | where type ${op} '${type}'`);
    expect((await alerts('=~', 'Microsoft.Security/Locations/alerts')).ids).toHaveLength(6);
    expect((await alerts('==', 'Microsoft.Security/Locations/alerts')).ids).toHaveLength(0);
    expect((await alerts('==', SECURITY_TYPES.alerts)).ids).toHaveLength(6);
  });

  it('filters on a text in the properties with =~, whatever its case', async () => {
    const { rows } = await readAll(
      `securityresources | where type =~ '${SECURITY_TYPES.alerts}' | where properties.Status =~ 'active'`,
    );
    expect(rows).toHaveLength(3);
    for (const r of rows) expect((r.properties as { Status: string }).Status).toBe('Active');
  });

  it('filters on a date in the properties, and projects columns, over several lines', async () => {
    const since = new Date(NOW.getTime() - 2 * 86_400_000).toISOString();
    const { rows } = await readAll(
      [
        'SecurityResources',
        `| where type =~ "${SECURITY_TYPES.alerts}"`,
        `| where todatetime(properties.TimeGeneratedUtc) >= datetime(${since})`,
        '| project id, subscriptionId, properties',
      ].join('\n'),
    );
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => Object.keys(r))).toEqual(Array(3).fill(['id', 'subscriptionId', 'properties']));
    for (const r of rows) {
      const generated = Date.parse((r.properties as { TimeGeneratedUtc: string }).TimeGeneratedUtc);
      expect(generated).toBe(NOW.getTime() - 3_600_000);
    }
    // A zone-less datetime is UTC; a date only is its midnight.
    const all = await readAll(
      `securityresources | where type =~ '${SECURITY_TYPES.alerts}' | where todatetime(properties.TimeGeneratedUtc) >= datetime(2026-02-01)`,
    );
    expect(all.ids).toHaveLength(6);
  });

  it('returns the table columns in every row', async () => {
    const page = await client.resources({
      query: ASSESSMENTS,
      subscriptions: [SUBS[0]!],
      options: { top: 1 },
    });
    expect(Object.keys(page.data[0])).toEqual(
      expect.arrayContaining([
        'id',
        'name',
        'type',
        'tenantId',
        'subscriptionId',
        'resourceGroup',
        'location',
        'properties',
      ]),
    );
    expect(page.data[0]).toMatchObject({
      type: SECURITY_TYPES.assessments,
      resourceGroup: 'myrg',
      subscriptionId: SUBS[0],
    });
  });
});

describe('the resources and resourcecontainers tables', () => {
  const SUBSCRIPTION_TYPE = 'microsoft.resources/subscriptions';
  const AUTOMATION_TYPE = 'microsoft.security/automations';
  const container = (subscriptionId: string): GraphResource => ({
    id: `/subscriptions/${subscriptionId}`,
    name: `subscription ${subscriptionId.slice(-2)}`,
    type: SUBSCRIPTION_TYPE,
    tenantId: '72f988bf-0000-0000-0000-000000000000',
    subscriptionId,
    resourceGroup: '',
    location: '',
    properties: { state: 'Enabled' },
  });
  const automation = (subscriptionId: string, name: string): GraphResource => ({
    id: `/subscriptions/${subscriptionId}/resourceGroups/rg-security/providers/Microsoft.Security/automations/${name}`,
    name,
    type: AUTOMATION_TYPE,
    tenantId: '72f988bf-0000-0000-0000-000000000000',
    subscriptionId,
    resourceGroup: 'rg-security',
    location: 'westeurope',
    tags: { owner: 'me' },
    properties: { isEnabled: true },
  });

  it('answers each table from its provider, asked at every request, and no rows where none was given', async () => {
    let asked = 0;
    const containers = SUBS.map(container);
    const own = await startResourceGraphStandIn({
      ...cert(),
      resources: sampleSecurityResources(SUBS, NOW),
      tables: {
        resourcecontainers: () => {
          asked++;
          return containers;
        },
      },
      pageSize: 2,
    });
    try {
      const ownClient = new ResourceGraphClient(credential(own.token), { baseUri: own.url });
      const containersQuery = `ResourceContainers | where type =~ '${SUBSCRIPTION_TYPE}' | order by id asc | project id, name, subscriptionId, properties`;
      const automationsQuery = `Resources | where type =~ '${AUTOMATION_TYPE}' | order by id asc | project id, name, type, subscriptionId, resourceGroup, location, tags, properties`;
      const read = await readAll(containersQuery, undefined, ownClient);
      expect(read.pages.map((p) => p.count)).toEqual([2, 1]);
      expect(read.rows).toEqual(
        containers.map(({ id, name, subscriptionId, properties }) => ({
          id,
          name,
          subscriptionId,
          properties,
        })),
      );
      expect(asked).toBe(2);
      // The security resources are not in the other tables, nor the other way round.
      expect((await readAll(automationsQuery, undefined, ownClient)).rows).toEqual([]);
      expect(
        (await readAll(`securityresources | where type =~ '${SUBSCRIPTION_TYPE}'`, undefined, ownClient))
          .rows,
      ).toEqual([]);

      // Given later (as the ARM stand-in gives its estate); the table given before is kept.
      const automations = [automation(SUBS[1]!, 'b'), automation(SUBS[0]!, 'a'), automation(SUBS[2]!, 'c')];
      own.setTables({ resources: () => automations });
      const found = await readAll(automationsQuery, [SUBS[0]!, SUBS[1]!.toUpperCase()], ownClient);
      const projected = ({ tenantId: _tenant, ...row }: GraphResource) => row;
      expect(found.rows).toEqual([automations[1]!, automations[0]!].map(projected));
      expect((await readAll(containersQuery, [SUBS[2]!], ownClient)).ids).toEqual([
        `/subscriptions/${SUBS[2]}`,
      ]);
    } finally {
      await own.close();
    }
  });

  it("keeps a provider's sorted and filtered rows while it returns the same array, and reads another anew", async () => {
    const rows = Array.from({ length: 5 }, (_, i) => automation(SUBS[i % 3]!, `export-${4 - i}`));
    let current = rows;
    const own = await startResourceGraphStandIn({
      ...cert(),
      resources: [],
      tables: { resources: () => current },
    });
    try {
      const ownClient = new ResourceGraphClient(credential(own.token), { baseUri: own.url });
      const query = `resources | where type =~ '${AUTOMATION_TYPE}' | order by id asc`;
      const first = await readAll(query, undefined, ownClient);
      expect(first.ids).toEqual(rows.map((r) => r.id).sort());
      // A value changed in place shows; a row added to the same array does not: the array is the version.
      rows[0]!.properties.isEnabled = false;
      rows.push(automation(SUBS[0]!, 'added'));
      const same = await readAll(query, undefined, ownClient);
      expect(same.ids).toEqual(first.ids);
      expect(same.rows.find((r) => r.id === rows[0]!.id)!.properties).toEqual({ isEnabled: false });
      current = [...rows];
      expect((await readAll(query, undefined, ownClient)).ids).toEqual(rows.map((r) => r.id).sort());
    } finally {
      await own.close();
    }
  });

  describe('a subscription and its automations in one row (join kind=leftouter, summarize make_list)', () => {
    const UNLISTED = '5ec00000-0000-4000-8000-000000000004';
    const containers = [...SUBS, UNLISTED].map(container);
    // SUBS[0]: two automations; SUBS[1]: none; SUBS[2]: one; UNLISTED: one, and never listed below.
    const automations = [
      automation(SUBS[0]!, 'b'),
      automation(SUBS[2]!, 'c'),
      automation(UNLISTED, 'd'),
      automation(SUBS[0]!, 'a'),
    ];
    const packed = ({ id, name, location, tags, properties }: GraphResource) => ({
      id,
      name,
      location,
      tags,
      properties,
    });
    const subscriptionRow = (subscriptionId: string, list: GraphResource[] | null) => {
      const { id, name, properties } = container(subscriptionId);
      return { id, name, subscriptionId, properties, automations: list && list.map(packed) };
    };
    let own: ResourceGraphStandIn;
    let ownClient: ResourceGraphClient;
    beforeAll(async () => {
      own = await startResourceGraphStandIn({
        ...cert(),
        resources: [],
        tables: { resourcecontainers: () => containers, resources: () => automations },
        scopeLimit: 3,
      });
      ownClient = new ResourceGraphClient(credential(own.token), { baseUri: own.url });
    });
    afterAll(async () => {
      await own?.close();
    });

    it('answers every listed subscription once, with its automations packed in a list, or null where it has none', async () => {
      const page = await ownClient.resources({
        query: joined(),
        subscriptions: [SUBS[0]!, SUBS[1]!.toUpperCase(), SUBS[2]!],
      });
      expect(page).toMatchObject({ totalRecords: 3, count: 3, resultTruncated: 'false' });
      expect(page.skipToken).toBeUndefined();
      expect(page.data).toEqual([
        subscriptionRow(SUBS[0]!, [automations[3]!, automations[0]!]),
        subscriptionRow(SUBS[1]!, null),
        subscriptionRow(SUBS[2]!, [automations[1]!]),
      ]);
      // Columns in the final project's order, pack's keys in the order given.
      const rows = page.data as Array<Record<string, unknown>>;
      expect(Object.keys(rows[0]!)).toEqual(['id', 'name', 'subscriptionId', 'properties', 'automations']);
      expect(Object.keys((rows[0]!.automations as object[])[0]!)).toEqual([
        'id',
        'name',
        'location',
        'tags',
        'properties',
      ]);
      // The same query with the tables in other cases and `==`, on other lines: the same answer.
      const other = await ownClient.resources({
        query: joined('ResourceContainers', 'Resources', '==').replace(/\n\s*/g, ' '),
        subscriptions: [SUBS[0]!, SUBS[1]!, SUBS[2]!],
      });
      expect(other.data).toEqual(page.data);
    });

    it("reads the right side under the request's subscriptions too: an unlisted one's automations appear nowhere", async () => {
      const listed = await ownClient.resources({ query: joined(), subscriptions: [SUBS[2]!, SUBS[1]!] });
      expect(listed.data).toEqual([
        subscriptionRow(SUBS[1]!, null),
        subscriptionRow(SUBS[2]!, [automations[1]!]),
      ]);
      expect(JSON.stringify(listed.data)).not.toContain(UNLISTED);
      // Without the final project: every left column, the right's key renamed subscriptionId1 (null where
      // unmatched), then the list.
      const query = joined().replace(/\n\| project id, name, subscriptionId, properties, automations$/, '');
      const whole = await ownClient.resources({ query, subscriptions: [SUBS[1]!, SUBS[2]!] });
      const rows = whole.data as Array<Record<string, unknown>>;
      expect(rows.map((r) => Object.keys(r))).toEqual(
        Array(2).fill(['id', 'name', 'subscriptionId', 'properties', 'subscriptionId1', 'automations']),
      );
      expect(rows.map((r) => r.subscriptionId1)).toEqual([null, SUBS[2]]);
    });

    it('answers a summarizing query its first page only: $top rows, truncated, no $skipToken', async () => {
      const subscriptions = [SUBS[0]!, SUBS[1]!, SUBS[2]!];
      const first = await ownClient.resources({ query: joined(), subscriptions, options: { top: 2 } });
      expect(first).toMatchObject({ totalRecords: 3, count: 2, resultTruncated: 'true' });
      expect(first.skipToken).toBeUndefined();
      expect((first.data as Array<{ id: string }>).map((r) => r.id)).toEqual(
        [SUBS[0], SUBS[1]].map((s) => `/subscriptions/${s}`),
      );
      // $skip does not page it either; a page that holds every row is not truncated.
      const skipped = await post(
        { query: joined(), subscriptions, options: { $top: 2, $skip: 2 } },
        { on: own },
      );
      expect(skipped.body).toMatchObject({ count: 2, resultTruncated: 'true' });
      expect(skipped.body).not.toHaveProperty('$skipToken');
      expect((skipped.body as unknown as { data: Array<{ id: string }> }).data[0]!.id).toBe(
        `/subscriptions/${SUBS[0]}`,
      );
      const all = await ownClient.resources({ query: joined(), subscriptions, options: { top: 3 } });
      expect(all).toMatchObject({ count: 3, resultTruncated: 'false' });
    });

    it('answers TooManySubscriptionsUnderScope to it over a tenant larger than the scope limit', async () => {
      const tenant = await post({ query: joined() }, { on: own });
      expect(tenant.status).toBe(400);
      expect(tenant.body.error?.details?.[0]?.code).toBe('TooManySubscriptionsUnderScope');
    });
  });
});

describe('long answers', () => {
  it('sends a long page whole, as its Content-Length says, and takes the next request on the same connection', async () => {
    const own = await startResourceGraphStandIn({
      ...cert(),
      resources: [...generatedSecurityResources(300, 3)],
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: certFile() });
    const send = (body: unknown) =>
      new Promise<{ reused: boolean; length: number; text: string; status: number }>((resolve, reject) => {
        const req = request(
          new URL('/providers/Microsoft.ResourceGraph/resources?api-version=2021-03-01', own.url),
          {
            method: 'POST',
            agent,
            headers: { 'content-type': 'application/json', authorization: `Bearer ${own.token}` },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({
                reused: req.reusedSocket,
                length: Number(res.headers['content-length']),
                text: Buffer.concat(chunks).toString('utf8'),
                status: res.statusCode!,
              }),
            );
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify(body));
      });
    try {
      const query = `securityresources | where type =~ '${SECURITY_TYPES.assessments}'`;
      const long = await send({ query });
      expect(long.status).toBe(200);
      expect(Buffer.byteLength(long.text)).toBe(long.length);
      expect(long.length).toBeGreaterThan(100_000);
      expect((JSON.parse(long.text) as { count: number }).count).toBeGreaterThan(50);
      // A request whose body spans several TLS records, on the connection the long answer came on.
      const subscriptions = generatedSubscriptionIds(MAX_SUBSCRIPTIONS);
      const next = await send({ query, subscriptions });
      expect(next).toMatchObject({ status: 200, reused: true });
      const short = await send({ query: `${query} | project id`, options: { $top: 1 } });
      expect(Buffer.byteLength(short.text)).toBe(short.length);
    } finally {
      agent.destroy();
      await own.close();
    }
  });
});

describe('errors', () => {
  it('answers 400 to more than 1000 subscriptions', async () => {
    const many = generatedSubscriptionIds(MAX_SUBSCRIPTIONS + 1);
    await expect(client.resources({ query: ASSESSMENTS, subscriptions: many })).rejects.toMatchObject({
      statusCode: 400,
      code: 'BadRequest',
    });
    expect((await post({ query: ASSESSMENTS, subscriptions: many.slice(0, MAX_SUBSCRIPTIONS) })).status).toBe(
      200,
    );
  });

  it.each([
    ['another table', `advisorresources | where type =~ '${SECURITY_TYPES.assessments}'`, 'advisorresources'],
    ['another operator', `${ASSESSMENTS} | summarize count()`, 'summarize'],
    ['no type filter', 'securityresources', '<end of query>'],
    ['an unknown column', `${ASSESSMENTS} | project id, nope`, 'nope'],
    ['a join of another kind', joined().replace('kind=leftouter', 'kind=inner'), 'inner'],
    ['another aggregation', joined().replace('make_list(', 'make_set('), 'make_set'],
    ['another function in the project', joined().replace('= pack(', '= pack_array('), 'pack_array'],
    ['an unknown column in pack', joined().replace("'tags', tags", "'tags', nope"), 'nope'],
    ['an unknown column after the join', `${joined()}, nope`, 'nope'],
    ['a join on another column', joined().replace(') on subscriptionId', ') on id'), 'id'],
    ['a summarize by another column', joined().replace('by subscriptionId', 'by name'), 'name'],
    [
      'stages out of order',
      `${ASSESSMENTS} | project id | where todatetime(properties.a) >= datetime(2026-01-01)`,
      'where',
    ],
  ])('answers 400 InvalidQuery to %s', async (_, query, token) => {
    await expect(client.resources({ query })).rejects.toMatchObject({ statusCode: 400, code: 'BadRequest' });
    const raw = await post({ query });
    expect(raw.status).toBe(400);
    expect(raw.body.error).toMatchObject({
      code: 'BadRequest',
      message: expect.stringMatching(
        /^Please provide below info when asking for support: timestamp = .+, correlationId = .+\.$/,
      ),
      details: [
        { code: 'InvalidQuery', message: expect.stringContaining('Query is invalid') },
        {
          code: 'ParserFailure',
          token,
          line: expect.any(Number),
          characterPositionInLine: expect.any(Number),
        },
      ],
    });
  });

  it('refuses a missing token, an unknown api-version, and the table format', async () => {
    expect((await post({ query: ASSESSMENTS }, { token: '' })).status).toBe(401);
    const old = await post(
      { query: ASSESSMENTS },
      { path: '/providers/Microsoft.ResourceGraph/resources?api-version=2017-01-01' },
    );
    expect(old).toMatchObject({ status: 400, body: { error: { code: 'InvalidApiVersionParameter' } } });
    for (const version of ['2019-04-01', '2020-04-01-preview', '2022-10-01']) {
      const path = `/providers/Microsoft.ResourceGraph/resources?api-version=${version}`;
      expect((await post({ query: ASSESSMENTS }, { path })).status).toBe(200);
    }
    expect((await post({ query: ASSESSMENTS, options: { resultFormat: 'table' } })).status).toBe(400);
  });
});

describe('throttling', () => {
  it('a 429 surfaces from the stock client: its throttling policy never sees it', async () => {
    graph.inject({ retryAfterSeconds: 1, when: (r) => r.skipToken !== undefined });
    const first = await client.resources({ query: ASSESSMENTS });
    const rejected = await client
      .resources({ query: ASSESSMENTS, options: { skipToken: first.skipToken } })
      .then(
        () => undefined,
        (e: unknown) =>
          e as { statusCode?: number; code?: string; response?: { headers: { get(n: string): unknown } } },
      );
    expect(rejected).toMatchObject({ statusCode: 429, code: 'RateLimiting' });
    expect(rejected?.response?.headers.get('retry-after')).toBe('1');
    expect(graph.requests.map((r) => r.status)).toEqual([200, 429]);
  });

  it('a 429 with Retry-After in the middle of paging is retried, and paging completes', async () => {
    graph.inject({ retryAfterSeconds: 1, when: (r) => r.skipToken !== undefined });
    const started = Date.now();
    const { ids } = await readAll(ASSESSMENTS, undefined, retryingClient(graph));
    expect(new Set(ids).size).toBe(9);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(graph.requests.map((r) => r.status)).toEqual([200, 429, 200, 200]);
    expect(graph.requests[1]!.skipToken).toBe(graph.requests[2]!.skipToken);
  });

  it('answers the quota headers, then 429 RateLimiting until the window ends', async () => {
    const limited = await startResourceGraphStandIn({
      ...cert(),
      resources: sampleSecurityResources(SUBS, NOW),
      quota: { requests: 2, windowSeconds: 3 },
    });
    try {
      const limitedClient = new ResourceGraphClient(credential(limited.token), { baseUri: limited.url });
      const first = await limitedClient.resources({ query: ASSESSMENTS });
      expect(first._response.headers.get('x-ms-user-quota-remaining')).toBe('1');
      expect(first._response.headers.get('x-ms-user-quota-resets-after')).toMatch(/^00:00:0[123]$/);
      const second = await limitedClient.resources({ query: ASSESSMENTS });
      expect(second._response.headers.get('x-ms-user-quota-remaining')).toBe('0');

      const throttled = await post({ query: ASSESSMENTS }, { on: limited });
      expect(throttled.status).toBe(429);
      expect(Number(throttled.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(throttled.headers['x-ms-user-quota-remaining']).toBe('0');
      expect(throttled.headers['x-ms-user-quota-resets-after']).toMatch(/^00:00:0[123]$/);
      expect(throttled.body.error).toMatchObject({
        code: 'RateLimiting',
        details: [{ code: 'RateLimiting' }],
      });

      // Waiting out the Retry-After gets the next window.
      const after = await readAll(ASSESSMENTS, undefined, retryingClient(limited));
      expect(after.ids).toHaveLength(9);
      expect(after.pages[0]!._response.headers.get('x-ms-user-quota-remaining')).toBe('1');
      // The window may end between the raw call and the next: then no retry is needed.
      const statuses = limited.requests.map((r) => r.status);
      expect(statuses.slice(0, 3)).toEqual([200, 200, 429]);
      expect(statuses.slice(3)).toEqual(statuses.length === 5 ? [429, 200] : [200]);
    } finally {
      await limited.close();
    }
  });
});

describe('sample estates', () => {
  it('gives each subscription every type, from the REST examples, the same every time', () => {
    const estate = sampleSecurityResources(SUBS, NOW);
    expect(sampleSecurityResources(SUBS, NOW)).toEqual(estate);
    expect(estate).toHaveLength(SUBS.length * 16);
    const ofType = (type: string) => estate.filter((r) => r.type === type && r.subscriptionId === SUBS[0]);
    expect(
      Object.fromEntries(Object.entries(SECURITY_TYPES).map(([key, type]) => [key, ofType(type).length])),
    ).toEqual({
      assessments: 3,
      subAssessments: 3,
      secureScores: 1,
      secureScoreControls: 3,
      regulatoryCompliance: 3,
      attackPaths: 1,
      alerts: 2,
    });
    expect(ofType(SECURITY_TYPES.secureScores)[0]!.name).toBe('ascScore');
    expect(new Set(estate.map((r) => r.id)).size).toBe(estate.length);
    for (const r of estate) {
      expect(r.id.startsWith(`/subscriptions/${r.subscriptionId}/`)).toBe(true);
      expect(r.type).toBe(r.type.toLowerCase());
      expect(JSON.stringify(r)).not.toContain('20ff7fc3-e762-44dd-bd96-b71116dcdc23');
      expect(r.tenantId && r.location).toBeTruthy();
    }
    // The assessment example, rewritten: ARM casing kept in the id.
    expect(ofType(SECURITY_TYPES.assessments)[0]!.id).toBe(
      `/subscriptions/${SUBS[0]}/resourceGroups/myRg/providers/Microsoft.Compute/virtualMachineScaleSets/vmss2/providers/Microsoft.Security/assessments/21300918-b2e3-0346-785f-c77ff57d243b`,
    );
    const generated = ofType(SECURITY_TYPES.alerts).map((a) =>
      Date.parse(a.properties.TimeGeneratedUtc as string),
    );
    expect(generated).toEqual([NOW.getTime() - 10 * 86_400_000, NOW.getTime() - 3_600_000]);
  });

  it('generates a benchmark estate: unique ids, mostly assessments and findings, about 2 KB each', () => {
    const rows = [...generatedSecurityResources(5000, 7)];
    expect(rows).toHaveLength(5000);
    expect([...generatedSecurityResources(5000, 7)]).toEqual(rows);
    expect(new Set(rows.map((r) => r.id)).size).toBe(5000);
    expect(new Set(rows.map((r) => r.subscriptionId))).toEqual(new Set(generatedSubscriptionIds(7)));
    const share = (type: string) => rows.filter((r) => r.type === type).length / rows.length;
    expect(share(SECURITY_TYPES.assessments) + share(SECURITY_TYPES.subAssessments)).toBeGreaterThan(0.85);
    for (const type of Object.values(SECURITY_TYPES)) expect(share(type)).toBeGreaterThan(0);
    const average =
      rows.reduce((sum, r) => sum + Buffer.byteLength(JSON.stringify(r.properties)), 0) / rows.length;
    expect(average).toBeGreaterThan(1700);
    expect(average).toBeLessThan(2300);
  });
});
