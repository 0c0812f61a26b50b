import { API_VERSIONS, reasonOf, type ResourceReader } from '../azure/resources';
import { check, type Check } from './model';
import { roleCheck, ROLES } from './roles';

/** The connection the Event Hub triggers use (functions/ingestDefender*.ts), as the host reads it. */
export function eventHubNamespaceHost(env: NodeJS.ProcessEnv): { host?: string; identity: boolean } {
  const fqdn = env.EventHubConnection__fullyQualifiedNamespace?.trim();
  if (fqdn)
    return {
      host: fqdn
        .replace(/^sb:\/\//, '')
        .replace(/[/:].*$/, '')
        .toLowerCase(),
      identity: true,
    };
  const endpoint = /Endpoint=sb:\/\/([^/;]+)/i.exec(env.EventHubConnection ?? '')?.[1];
  return endpoint ? { host: endpoint.toLowerCase(), identity: false } : { identity: false };
}

export interface EventHubSettings {
  namespaceId: string;
  hubs: ReadonlyArray<{ setting: string; name: string }>;
  consumerGroup: string;
  connection: { host?: string; identity: boolean };
  /** Whose receive role to check; none when the connection is a connection string. */
  principalId?: string;
}

const resourceGroupOf = (id: string) => /\/resourceGroups\/([^/]+)/i.exec(id)?.[1] ?? '<group>';

/** The namespace the trigger connects to, each hub and its consumer group, and the identity's receive role. */
export async function eventHubChecks(reader: ResourceReader, settings: EventHubSettings): Promise<Check[]> {
  const checks: Check[] = [];
  const namespace = await reader.get(settings.namespaceId, API_VERSIONS.eventHubs);
  if (!('found' in namespace)) {
    return [
      check(
        'event hubs',
        'namespace',
        'fail',
        `EVENTHUB_NAMESPACE_RESOURCE_ID: ${'missing' in namespace ? 'no such namespace' : 'the namespace could not be read'} (${reasonOf(namespace)})`,
        'missing' in namespace
          ? 'Set EVENTHUB_NAMESPACE_RESOURCE_ID to the namespace the exports send to (the deployment sets it).'
          : 'Reading the namespace needs Reader on it.',
      ),
    ];
  }
  const endpoint = String(
    (namespace.found.properties as { serviceBusEndpoint?: string }).serviceBusEndpoint ?? '',
  );
  const host = endpoint
    .replace(/^https?:\/\//, '')
    .replace(/[/:].*$/, '')
    .toLowerCase();
  checks.push(
    !settings.connection.host
      ? check(
          'event hubs',
          'namespace',
          'fail',
          `${namespace.found.name}; the trigger has no connection: neither EventHubConnection__fullyQualifiedNamespace nor EventHubConnection is set`,
          `Set EventHubConnection__fullyQualifiedNamespace to ${host || 'the namespace host'}.`,
        )
      : host && settings.connection.host !== host
        ? check(
            'event hubs',
            'namespace',
            'fail',
            `the trigger connects to ${settings.connection.host}, but EVENTHUB_NAMESPACE_RESOURCE_ID is ${host}`,
            'Point EventHubConnection__fullyQualifiedNamespace and EVENTHUB_NAMESPACE_RESOURCE_ID at the same namespace.',
          )
        : check('event hubs', 'namespace', 'pass', `${namespace.found.name} (${host})`),
  );

  for (const hub of settings.hubs) {
    const hubId = `${settings.namespaceId}/eventhubs/${hub.name}`;
    const read = await reader.get(hubId, API_VERSIONS.eventHubs);
    if (!('found' in read)) {
      checks.push(
        check(
          'event hubs',
          `hub ${hub.name}`,
          'fail',
          `${hub.setting}: ${'missing' in read ? `${namespace.found.name} has no hub ${hub.name}` : `the hub could not be read (${reasonOf(read)})`}`,
          `Create the hub, or set ${hub.setting} to the hub the exports send to.`,
        ),
      );
      continue;
    }
    const properties = read.found.properties as { partitionCount?: number; status?: string };
    const active = !properties.status || properties.status === 'Active';
    checks.push(
      check(
        'event hubs',
        `hub ${hub.name}`,
        active ? 'pass' : 'fail',
        `${properties.partitionCount ?? '?'} partitions, ${properties.status ?? 'status unknown'}`,
        `The hub is ${properties.status}: nothing is received until it is Active again.`,
      ),
    );
    const group = await reader.get(
      `${hubId}/consumergroups/${settings.consumerGroup}`,
      API_VERSIONS.eventHubs,
    );
    checks.push(
      'found' in group
        ? check('event hubs', `consumer group ${settings.consumerGroup} of ${hub.name}`, 'pass', 'exists')
        : check(
            'event hubs',
            `consumer group ${settings.consumerGroup} of ${hub.name}`,
            'fail',
            'missing' in group
              ? `EVENTHUB_CONSUMER_GROUP: ${hub.name} has no consumer group ${settings.consumerGroup}: the trigger cannot start`
              : `the consumer group could not be read (${reasonOf(group)})`,
            `az eventhubs eventhub consumer-group create --resource-group ${resourceGroupOf(settings.namespaceId)} --namespace-name ${namespace.found.name} --eventhub-name ${hub.name} --name ${settings.consumerGroup}, or set EVENTHUB_CONSUMER_GROUP to one that exists.`,
          ),
    );
    if (settings.connection.identity && settings.principalId) {
      checks.push(
        await roleCheck(reader, settings.principalId, {
          area: 'event hubs',
          role: 'Azure Event Hubs Data Receiver',
          grantedBy: [ROLES.eventHubsDataReceiver, ROLES.eventHubsDataOwner],
          scope: hubId,
          on: `hub ${hub.name}`,
        }),
      );
    }
  }
  if (!settings.connection.identity && settings.connection.host) {
    checks.push(
      check(
        'event hubs',
        'connection',
        'warn',
        'EventHubConnection is a connection string with a shared access key',
        'Prefer a managed identity: set EventHubConnection__fullyQualifiedNamespace and grant Azure Event Hubs Data Receiver on each hub.',
      ),
    );
  }
  return checks;
}
