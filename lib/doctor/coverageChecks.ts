import { hasGraphDetail, TOO_MANY_SUBSCRIPTIONS, type GraphSource } from '../azure/resourceGraph';
import type { ResourceReader } from '../azure/resources';
import { EstateReader } from '../coverage/estate';
import type { ResourceManagerClients } from '../coverage/estate';
import { check, oneLine, type Check } from './model';
import { roleCheck, ROLES } from './roles';

/**
 * What the reconciler needs from Resource Manager: the subscriptions can be listed (or those of
 * COVERAGE_SCOPE read), and one subscription's continuous export settings can be read. With a principal,
 * also that it holds Security Reader (or a role that includes it) on that subscription.
 */
export async function coverageChecks(
  clients: ResourceManagerClients,
  settings: { scope?: readonly string[]; principalId?: string; reader?: ResourceReader; graph?: GraphSource },
): Promise<Check[]> {
  const estate = new EstateReader(clients);
  const checks: Check[] = [];
  let first: { subscriptionId: string; displayName: string } | undefined;
  let seen = 0;
  const unreadable: string[] = [];
  try {
    for await (const s of estate.subscriptions(settings.scope)) {
      if (s.state === 'Unreadable' || s.state === 'Unreachable') {
        unreadable.push(`${s.subscriptionId} (${s.error ?? s.state})`);
        continue;
      }
      seen++;
      first ??= s;
      // One page proves the list can be read; the reconciler reads the rest.
      if (!settings.scope && seen >= 100) break;
    }
  } catch (error) {
    return [
      check(
        'coverage',
        'subscriptions',
        'fail',
        `the subscriptions could not be listed (${oneLine(error)})`,
        'Check AZURE_RESOURCE_MANAGER_ENDPOINT, and grant the identity Security Reader on the management group or subscriptions (infra/coverage-access.bicep).',
      ),
    ];
  }
  const what = settings.scope ? 'COVERAGE_SCOPE' : 'visible to the identity';
  if (unreadable.length > 0) {
    checks.push(
      check(
        'coverage',
        'subscriptions',
        'fail',
        `${unreadable.length} of ${settings.scope?.length ?? seen + unreadable.length} subscriptions (${what}) could not be read: ${unreadable.slice(0, 3).join('; ')}${unreadable.length > 3 ? '; …' : ''}`,
        'Grant Security Reader on them (infra/coverage-access.bicep), or take them out of COVERAGE_SCOPE.',
      ),
    );
  } else if (!first) {
    checks.push(
      check(
        'coverage',
        'subscriptions',
        'fail',
        'the identity sees no subscription: every one would go unjudged',
        'Grant the identity Security Reader on the management group or subscriptions (infra/coverage-access.bicep).',
      ),
    );
  } else {
    checks.push(
      check(
        'coverage',
        'subscriptions',
        'pass',
        settings.scope
          ? `all ${seen} of COVERAGE_SCOPE can be read`
          : `${seen}${seen >= 100 ? '+' : ''} visible`,
      ),
    );
  }
  if (settings.graph) checks.push(await graphCheck(settings.graph, settings.scope));
  if (!first) return checks;
  const automations = await estate.automations(first.subscriptionId);
  const label = `${first.displayName || first.subscriptionId}`;
  checks.push(
    Array.isArray(automations)
      ? check(
          'coverage',
          'continuous export settings',
          'pass',
          `read ${automations.length} automation${automations.length === 1 ? '' : 's'} of ${label}`,
        )
      : check(
          'coverage',
          'continuous export settings',
          'fail',
          `the automations of ${label} could not be read (${automations.error})`,
          'Grant Security Reader on the subscriptions (infra/coverage-access.bicep).',
        ),
  );
  if (settings.principalId && settings.reader) {
    checks.push(
      await roleCheck(settings.reader, settings.principalId, {
        area: 'coverage',
        role: 'Security Reader',
        grantedBy: [ROLES.securityReader, ROLES.securityAdmin, ROLES.reader, ROLES.contributor, ROLES.owner],
        scope: `/subscriptions/${first.subscriptionId}`,
        on: `subscription ${label}`,
      }),
    );
  }
  return checks;
}

/** COVERAGE_SOURCE=resourcegraph: Resource Graph answers, and sees the subscriptions Resource Manager lists. */
async function graphCheck(graph: GraphSource, scope: readonly string[] | undefined): Promise<Check> {
  const query = "resourcecontainers | where type =~ 'microsoft.resources/subscriptions'";
  try {
    const page = await graph.page(query, scope ?? [], { top: 1 });
    return page.totalRecords > 0
      ? check(
          'coverage',
          'resource graph',
          'pass',
          `sees ${page.totalRecords} subscription${page.totalRecords === 1 ? '' : 's'}`,
        )
      : check(
          'coverage',
          'resource graph',
          'warn',
          'sees no subscription: the reconciler will read everything through Resource Manager',
          'Resource Graph shows only what the identity may read: grant Reader (or Security Reader) on the management group.',
        );
  } catch (error) {
    if (!scope && hasGraphDetail(error, TOO_MANY_SUBSCRIPTIONS))
      return check(
        'coverage',
        'resource graph',
        'pass',
        'answers, for more than 18,000 subscriptions: the reconciler lists them through Resource Manager once every COVERAGE_DISCOVERY_HOURS and asks Resource Graph about them 1,000 at a time',
      );
    return check(
      'coverage',
      'resource graph',
      'warn',
      `could not be asked (${oneLine(error)}): the reconciler will read through Resource Manager`,
      'Check AZURE_RESOURCE_MANAGER_ENDPOINT and the network path to it, or set COVERAGE_SOURCE=resourcemanager.',
    );
  }
}
