import { ResourceGraphClient, type ResourceGraphModels } from '@azure/arm-resourcegraph';
import type { TokenCredential } from '@azure/core-auth';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startArmStandIn, type ArmStandIn, type EstateSubscription } from '../../dev/armServer';
import { resourceGraphHandler, type ResourceGraphHandler } from '../../dev/resourceGraphServer';
import {
  automation,
  largeEstate,
  SAMPLE_HUB,
  SAMPLE_SUBSCRIPTIONS,
  sampleEstate,
} from '../../dev/sampleEstate';

/**
 * Resource Graph mounted in the ARM stand-in, answering from the estate Resource Manager serves: the
 * coverage reconciler's two queries, read with the real client (@azure/arm-resourcegraph), compared with
 * what Resource Manager answers for the same estate.
 */

const certFile = () => readFileSync(process.env.DEFENDER_EXPORT_DEV_CERT!, 'utf8');
const cert = () => ({ cert: certFile(), key: readFileSync(process.env.DEFENDER_EXPORT_DEV_KEY!, 'utf8') });

const TOKEN = 'estate-graph';
const SUBSCRIPTIONS = `resourcecontainers | where type =~ 'microsoft.resources/subscriptions' | order by id asc | project id, name, subscriptionId, properties`;
const AUTOMATIONS = `resources | where type =~ 'microsoft.security/automations' | order by id asc | project id, name, type, subscriptionId, resourceGroup, location, tags, properties`;
const FORBIDDEN = '5ec00000-0000-4000-8000-000000000017';
const SANDBOX = '5ec00000-0000-4000-8000-000000000010';
const DISABLED = '5ec00000-0000-4000-8000-000000000018';
const HIDDEN = '5ec00000-0000-4000-8000-000000000099';

/** The sample estate, the forbidden subscription given an export, and one Resource Graph has not indexed. */
function estate(): EstateSubscription[] {
  const subscriptions = sampleEstate();
  subscriptions
    .find((s) => s.subscriptionId === FORBIDDEN)!
    .automations.push(automation(FORBIDDEN, 'export'));
  subscriptions.push({
    subscriptionId: HIDDEN,
    displayName: 'New (not indexed yet)',
    graphHidden: true,
    automations: [automation(HIDDEN, 'exportToEventHub')],
    resourceGroups: ['rg-security'],
  });
  return subscriptions;
}

const credential: TokenCredential = {
  getToken: async () => ({ token: TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }),
};

let graph: ResourceGraphHandler;
let arm: ArmStandIn;
let client: ResourceGraphClient;

beforeAll(async () => {
  // Three rows a page: 11 subscriptions take four pages, 9 automations three.
  graph = resourceGraphHandler({ token: TOKEN, resources: [], pageSize: 3 });
  arm = await startArmStandIn({ ...cert(), estate: estate(), token: TOKEN, graph });
  client = new ResourceGraphClient(credential, { baseUri: arm.url });
});
afterAll(async () => {
  await arm?.close();
});
afterEach(() => {
  graph.requests.length = 0;
  arm.requests.length = 0;
});

type Row = Record<string, unknown> & { id: string; subscriptionId: string };

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
  const rows = pages.flatMap((p) => p.data as Row[]);
  return { pages, rows, ids: rows.map((r) => r.id) };
}

/** Resource Manager, asked directly. */
function armCall(
  method: 'GET' | 'PUT',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: { value?: Array<Record<string, unknown>> } & Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const req = request(new URL(path, arm.url), { method, ca: certFile(), headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString() || '{}') }),
      );
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const armAutomations = (subscriptionId: string) =>
  armCall(
    'GET',
    `/subscriptions/${subscriptionId}/providers/Microsoft.Security/automations?api-version=2023-12-01-preview`,
  );

const subscriptionOf = (id: string) => arm.estate.find((s) => s.subscriptionId === id)!;

describe('resourcecontainers', () => {
  it('answers every subscription Resource Graph has indexed, in id order, over several pages, as Resource Manager lists it', async () => {
    const { pages, rows, ids } = await readAll(SUBSCRIPTIONS);
    const listed = await armCall('GET', '/subscriptions?api-version=2022-12-01');
    const indexed = listed.body.value!.filter((s) => s.subscriptionId !== HIDDEN);
    expect(listed.body.value).toHaveLength(12);

    expect(pages.map((p) => p.count)).toEqual([3, 3, 3, 2]);
    expect(pages.every((p) => p.totalRecords === 11 && p.resultTruncated === 'false')).toBe(true);
    expect(graph.requests.map((r) => r.skipToken === undefined)).toEqual([true, false, false, false]);
    expect(ids).toEqual(indexed.map((s) => s.id as string).sort());
    expect(ids).not.toContain(`/subscriptions/${HIDDEN}`);
    for (const row of rows) {
      expect(Object.keys(row)).toEqual(['id', 'name', 'subscriptionId', 'properties']);
      const fromArm = indexed.find((s) => s.id === row.id)!;
      expect(row).toMatchObject({
        name: fromArm.displayName,
        subscriptionId: fromArm.subscriptionId,
        properties: { state: fromArm.state, subscriptionPolicies: fromArm.subscriptionPolicies },
      });
    }
    const byId = new Map(rows.map((r) => [r.subscriptionId, r]));
    expect(byId.get(SAMPLE_SUBSCRIPTIONS.covered)).toMatchObject({
      name: 'Production',
      properties: { state: 'Enabled' },
    });
    expect(byId.get(DISABLED)).toMatchObject({ name: 'Decommissioned', properties: { state: 'Disabled' } });
    // The forbidden subscription is listed: only its security settings are out of reach.
    expect(byId.has(FORBIDDEN)).toBe(true);
    // Resource Graph's requests are its own, not Resource Manager's.
    expect(arm.requests.map((r) => r.path)).toEqual(['/subscriptions?api-version=2022-12-01']);
  });

  it('returns the table columns a subscription row has, without a query projecting them', async () => {
    const page = await client.resources({
      query: `ResourceContainers | where type =~ 'microsoft.resources/subscriptions'`,
      subscriptions: [SAMPLE_SUBSCRIPTIONS.covered],
    });
    expect(page.data).toEqual([
      expect.objectContaining({
        id: `/subscriptions/${SAMPLE_SUBSCRIPTIONS.covered}`,
        name: 'Production',
        type: 'microsoft.resources/subscriptions',
        tenantId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        resourceGroup: '',
        location: '',
        tags: null,
        properties: expect.objectContaining({
          state: 'Enabled',
          managementGroupAncestorsChain: [expect.objectContaining({ displayName: 'Tenant Root Group' })],
        }),
      }),
    ]);
  });
});

describe('resources', () => {
  it('answers every automation Resource Manager does, secrets left out, over several pages', async () => {
    const { pages, rows, ids } = await readAll(AUTOMATIONS);
    expect(pages.map((p) => p.count)).toEqual([3, 3, 3]);
    expect(ids).toEqual([...ids].sort());
    expect(JSON.stringify(rows)).not.toContain('never-returned');

    const readable = arm.estate.filter((s) => !s.graphHidden && !s.forbidden);
    const expected: Row[] = [];
    for (const s of readable) {
      const answer = await armAutomations(s.subscriptionId);
      expect(answer.status).toBe(200);
      for (const a of answer.body.value!) {
        expected.push({
          id: a.id as string,
          name: a.name,
          type: 'microsoft.security/automations',
          subscriptionId: s.subscriptionId,
          resourceGroup: 'rg-security',
          location: a.location,
          tags: a.tags,
          properties: a.properties,
        });
      }
    }
    expect(expected).toHaveLength(9);
    expect(rows).toEqual(expected.sort((a, b) => (a.id < b.id ? -1 : 1)));
  });

  it("leaves out a forbidden subscription's automations and every one of a subscription not indexed yet", async () => {
    expect((await armAutomations(FORBIDDEN)).status).toBe(403);
    const hidden = await armAutomations(HIDDEN);
    expect(hidden.status).toBe(200);
    expect(hidden.body.value).toHaveLength(1);
    expect((await armCall('GET', `/subscriptions/${HIDDEN}?api-version=2022-12-01`)).status).toBe(200);

    const { rows } = await readAll(AUTOMATIONS, [FORBIDDEN, HIDDEN]);
    expect(rows).toEqual([]);
    expect((await readAll(SUBSCRIPTIONS, [FORBIDDEN, HIDDEN])).ids).toEqual([`/subscriptions/${FORBIDDEN}`]);
  });
});

describe('changes to the estate', () => {
  it('an export switched off in place shows in the next answer', async () => {
    const export_ = subscriptionOf(SAMPLE_SUBSCRIPTIONS.covered).automations[0]!;
    const before = await readAll(AUTOMATIONS, [SAMPLE_SUBSCRIPTIONS.covered]);
    expect(before.rows[0]!.properties).toMatchObject({ isEnabled: true });
    export_.properties.isEnabled = false;
    try {
      const after = await readAll(AUTOMATIONS, [SAMPLE_SUBSCRIPTIONS.covered]);
      expect(after.rows[0]!.properties).toMatchObject({ isEnabled: false });
      // The full listing too, read from the cache kept for the unchanged table.
      const all = await readAll(AUTOMATIONS);
      expect(all.rows.find((r) => r.id === export_.id)!.properties).toMatchObject({ isEnabled: false });
    } finally {
      export_.properties.isEnabled = true;
    }
    expect((await readAll(AUTOMATIONS, [SAMPLE_SUBSCRIPTIONS.covered])).rows[0]!.properties).toMatchObject({
      isEnabled: true,
    });
  });

  it('an export written through Resource Manager (remediation) shows in the next answer, without its secret', async () => {
    const path = `/subscriptions/${SANDBOX}/resourceGroups/rg-security/providers/Microsoft.Security/automations/exportToEventHub?api-version=2023-12-01-preview`;
    const body = (isEnabled: boolean) => ({
      location: 'westeurope',
      tags: { owner: 'defender-export' },
      properties: {
        isEnabled,
        scopes: [{ description: 'scope', scopePath: `/subscriptions/${SANDBOX}` }],
        sources: [{ eventSource: 'Alerts' }],
        actions: [
          {
            actionType: 'EventHub',
            eventHubResourceId: SAMPLE_HUB,
            connectionString: 'Endpoint=sb://secret-written/',
          },
        ],
      },
    });
    expect((await readAll(AUTOMATIONS, [SANDBOX])).rows).toEqual([]);
    try {
      expect((await armCall('PUT', path, body(true))).status).toBe(201);
      const created = await readAll(AUTOMATIONS, [SANDBOX]);
      expect(created.rows).toEqual([
        expect.objectContaining({
          id: `/subscriptions/${SANDBOX}/resourceGroups/rg-security/providers/Microsoft.Security/automations/exportToEventHub`,
          tags: { owner: 'defender-export' },
          properties: expect.objectContaining({
            isEnabled: true,
            actions: [{ actionType: 'EventHub', eventHubResourceId: SAMPLE_HUB }],
          }),
        }),
      ]);
      expect((await readAll(AUTOMATIONS)).ids).toHaveLength(10);

      expect((await armCall('PUT', path, body(false))).status).toBe(200);
      const rewritten = await readAll(AUTOMATIONS, [SANDBOX]);
      expect(rewritten.rows).toHaveLength(1);
      expect(rewritten.rows[0]!.properties).toMatchObject({ isEnabled: false });
      expect(JSON.stringify(rewritten.rows)).not.toContain('secret-written');
    } finally {
      subscriptionOf(SANDBOX).automations.length = 0;
      arm.estateChanged();
    }
    expect((await readAll(AUTOMATIONS)).ids).toHaveLength(9);
  });

  it('a new subscription, and one Resource Graph has caught up with, show once the estate is said to have changed', async () => {
    const added = '5ec00000-0000-4000-8000-000000000042';
    arm.estate.push({
      subscriptionId: added,
      displayName: 'Added',
      automations: [automation(added, 'exportToEventHub')],
    });
    const hidden = subscriptionOf(HIDDEN);
    try {
      arm.estateChanged();
      expect((await readAll(SUBSCRIPTIONS)).ids).toContain(`/subscriptions/${added}`);
      expect((await readAll(AUTOMATIONS, [added])).rows).toHaveLength(1);

      hidden.graphHidden = false;
      arm.estateChanged();
      expect((await readAll(SUBSCRIPTIONS)).ids).toContain(`/subscriptions/${HIDDEN}`);
      expect((await readAll(AUTOMATIONS, [HIDDEN])).rows).toHaveLength(1);
    } finally {
      hidden.graphHidden = true;
      arm.estate.splice(
        arm.estate.findIndex((s) => s.subscriptionId === added),
        1,
      );
      arm.estateChanged();
    }
    const after = await readAll(SUBSCRIPTIONS);
    expect(after.ids).toHaveLength(11);
    expect(after.ids).not.toContain(`/subscriptions/${HIDDEN}`);
  });
});

describe('scope', () => {
  it('answers only the listed subscriptions, whatever their case, from both tables', async () => {
    const listed = [SAMPLE_SUBSCRIPTIONS.covered.toUpperCase(), SAMPLE_SUBSCRIPTIONS.coveredTogether, HIDDEN];
    // The query as the reconciler writes it, a stage a line.
    const containers = await readAll(SUBSCRIPTIONS.split(' | ').join('\n| '), listed);
    expect(containers.rows.map((r) => r.subscriptionId).sort()).toEqual(
      [SAMPLE_SUBSCRIPTIONS.covered, SAMPLE_SUBSCRIPTIONS.coveredTogether].sort(),
    );
    const automations = await readAll(AUTOMATIONS.split(' | ').join('\n| '), listed);
    expect(automations.rows).toHaveLength(3);
    expect(new Set(automations.rows.map((r) => r.subscriptionId))).toEqual(
      new Set([SAMPLE_SUBSCRIPTIONS.covered, SAMPLE_SUBSCRIPTIONS.coveredTogether]),
    );
    expect(graph.requests.map((r) => r.subscriptions)).toEqual([3, 3]);
  });
});

describe('the benchmark estate', () => {
  it('is the same every time, with every status the estate decides and a few subscriptions only Resource Manager sees', () => {
    const estate = largeEstate(4000);
    expect(largeEstate(4000)).toEqual(estate);
    const count = (keep: (s: EstateSubscription) => boolean) => estate.filter(keep).length;
    const only = (s: EstateSubscription) => s.automations[0];
    expect({
      missing: count((s) => s.automations.length === 0),
      switchedOff: count((s) => only(s)?.properties.isEnabled === false),
      otherHub: count((s) => only(s)?.properties.actions[0]?.eventHubResourceId !== SAMPLE_HUB && !!only(s)),
      resourceGroupScope: count(
        (s) => !!only(s)?.properties.scopes[0]?.scopePath.includes('/resourceGroups/'),
      ),
      noSnapshots: count(
        (s) =>
          !!only(s) && !only(s)!.properties.sources.some((source) => source.eventSource.endsWith('Snapshot')),
      ),
      highAlertsOnly: count((s) => !!only(s)?.properties.sources.some((source) => source.ruleSets)),
      forbidden: count((s) => s.forbidden === true),
      disabledSubscription: count((s) => s.state === 'Disabled'),
      graphHidden: count((s) => s.graphHidden === true),
    }).toEqual({
      missing: 400,
      switchedOff: 400,
      otherHub: 400,
      resourceGroupScope: 40,
      noSnapshots: 40,
      highAlertsOnly: 40,
      forbidden: 40,
      disabledSubscription: 40,
      graphHidden: 2,
    });
  });

  it('is served by the benchmark process through both APIs, its requests counted per API', async () => {
    // The compiled module: the process it starts runs its own file, which must be JavaScript.
    const dist = resolve(__dirname, '../../dist/dev/armServerProcess.js');
    const { startArmProcess } = (await import(dist)) as typeof import('../../dev/armServerProcess');
    const token = 'bench-estate';
    const child = await startArmProcess(
      process.env.DEFENDER_EXPORT_DEV_CERT!,
      process.env.DEFENDER_EXPORT_DEV_KEY!,
      {
        subscriptions: 4000,
        latencyMs: 0,
        pageSize: 100,
        token,
        graphLatencyMs: 5,
      },
    );
    try {
      const onChild = new ResourceGraphClient(
        { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) },
        { baseUri: child.url },
      );
      const estate = largeEstate(4000);
      const indexed = estate.filter((s) => !s.graphHidden);
      const containers = await readAll(SUBSCRIPTIONS, undefined, onChild);
      expect(containers.pages.map((p) => p.count)).toEqual([1000, 1000, 1000, 998]);
      expect(containers.rows).toHaveLength(indexed.length);
      const automations = await readAll(AUTOMATIONS, undefined, onChild);
      expect(automations.rows).toHaveLength(
        indexed.filter((s) => !s.forbidden).reduce((sum, s) => sum + s.automations.length, 0),
      );
      expect(await child.calls()).toEqual({ arm: 0, graph: 8 });

      const hidden = estate.find((s) => s.graphHidden)!.subscriptionId;
      expect(containers.ids).not.toContain(`/subscriptions/${hidden}`);
      const fromArm = await new Promise<number>((done, reject) =>
        request(
          new URL(`/subscriptions/${hidden}?api-version=2022-12-01`, child.url),
          { ca: certFile(), headers: { authorization: `Bearer ${token}` } },
          (res) => done(res.resume().statusCode!),
        )
          .on('error', reject)
          .end(),
      );
      expect(fromArm).toBe(200);
      expect(await child.requests()).toBe(1);
      expect(await child.calls()).toEqual({ arm: 1, graph: 8 });
    } finally {
      await child.stop();
    }
  });
});
