import { AuthorizationManagementClient } from '@azure/arm-authorization';
import { ResourceManagementClient } from '@azure/arm-resources';
import type { TokenCredential } from '@azure/core-auth';
import { ServiceClient } from '@azure/core-client';
import { createPipelineRequest, isRestError, RestError } from '@azure/core-rest-pipeline';
import type { ResourceManagerRetry } from './clients';

/** The API versions of what `doctor` and the health check read (each the type's current stable one). */
export const API_VERSIONS = {
  dataCollectionRule: '2023-03-11',
  dataCollectionEndpoint: '2023-03-11',
  workspaceTable: '2022-10-01',
  eventHubs: '2024-01-01',
  site: '2023-12-01',
} as const;

/** A resource as Resource Manager returns it; `properties` is the type's own, untouched. */
export interface Resource {
  id: string;
  name: string;
  type: string;
  location?: string;
  identity?: {
    type?: string;
    principalId?: string;
    userAssignedIdentities?: Record<string, { principalId?: string; clientId?: string }>;
  };
  properties: Record<string, unknown>;
}

/** A role assignment: who holds which role (by the role definition's GUID) where. */
export interface RoleAssignmentFact {
  scope: string;
  roleDefinition: string;
  principalId: string;
}

/**
 * What a read came to: the thing, or why not, in words a person can act on. `missing` is ARM's 404,
 * `denied` its 401/403, `failed` anything else (no answer, 5xx after retries).
 */
export type Lookup<T> = { found: T } | { missing: string } | { denied: string } | { failed: string };

function lookupOf(error: unknown): Exclude<Lookup<never>, { found: never }> {
  if (isRestError(error)) {
    const code = error.code ? ` ${error.code}` : '';
    const status = error.statusCode;
    const text = `HTTP ${status ?? 'no answer'}${code}: ${error.message.split('\n')[0]!.slice(0, 300)}`;
    if (status === 404) return { missing: text };
    if (status === 401 || status === 403) return { denied: text };
    return { failed: text };
  }
  const { name, message } = (error ?? {}) as { name?: string; message?: string };
  return {
    failed: `${name && name !== 'Error' ? `${name}: ` : ''}${String(message ?? error).split('\n')[0]}`,
  };
}

/**
 * A resource id this reader may put in a path: every segment a plain name. Ids come from settings and from
 * ARM's own answers; `getById` sends them as they are, so `?`, `#`, `%` or `..` must never get through.
 */
export function isResourceId(id: string): boolean {
  return /^(\/[-\w.()$]+)+$/.test(id) && !/\/\.\.?(\/|$)/.test(id);
}

/** Why a read found nothing, in one phrase: ARM's status, code and message. */
export function reasonOf(lookup: Exclude<Lookup<unknown>, { found: unknown }>): string {
  return 'missing' in lookup ? lookup.missing : 'denied' in lookup ? lookup.denied : lookup.failed;
}

const withoutSlash = (id: string) => id.replace(/^\/+/, '');

async function lookup<T>(read: () => Promise<T>): Promise<Lookup<T>> {
  try {
    return { found: await read() };
  } catch (error) {
    return lookupOf(error);
  }
}

/**
 * Reads resources of any type by id, the role assignments that reach a scope, and a site's app settings,
 * through the Resource Manager SDK clients (their retry of 429, 5xx and network errors).
 */
export class ResourceReader {
  private readonly resources: ResourceManagementClient;
  private readonly authorization: AuthorizationManagementClient;
  private readonly raw: ServiceClient;
  private readonly endpoint: string;

  constructor(credential: TokenCredential, endpoint: string, retry?: ResourceManagerRetry) {
    this.endpoint = endpoint.replace(/\/+$/, '');
    const options = {
      endpoint: this.endpoint,
      credentialScopes: [`${this.endpoint}/.default`],
      ...(retry ? { retryOptions: retry } : {}),
    };
    this.resources = new ResourceManagementClient(credential, options);
    // Role assignments are listed by scope; the subscription the client is made for is never used.
    this.authorization = new AuthorizationManagementClient(credential, '', options);
    this.raw = new ServiceClient({ ...options, credential });
  }

  /** One resource by its id. */
  get(id: string, apiVersion: string): Promise<Lookup<Resource>> {
    if (!isResourceId(id))
      return Promise.resolve({ failed: `not a resource id: ${JSON.stringify(id.slice(0, 200))}` });
    // The SDK's path is `/{resourceId}`: an id with its leading slash would make `//subscriptions/…`.
    return lookup(
      async () => (await this.resources.resources.getById(withoutSlash(id), apiVersion)) as Resource,
    );
  }

  /**
   * The role assignments that reach `scope` for `principalId`: at the scope and above it (a resource group,
   * the subscription, a management group), held directly or through a group (`atScope() and assignedTo`).
   */
  roleAssignments(scope: string, principalId: string): Promise<Lookup<RoleAssignmentFact[]>> {
    return lookup(async () => {
      const facts: RoleAssignmentFact[] = [];
      for await (const assignment of this.authorization.roleAssignments.listForScope(withoutSlash(scope), {
        filter: `atScope() and assignedTo('${principalId.replace(/'/g, "''")}')`,
      })) {
        facts.push({
          scope: assignment.scope ?? '',
          roleDefinition: (assignment.roleDefinitionId ?? '').split('/').pop()!.toLowerCase(),
          principalId: assignment.principalId ?? '',
        });
      }
      return facts;
    });
  }

  /**
   * A site's app settings (`POST {site}/config/appsettings/list`). Sent through the SDK's pipeline rather
   * than @azure/arm-appservice, which weighs 41 MB for this one call.
   */
  appSettings(siteId: string): Promise<Lookup<Record<string, string>>> {
    return lookup(async () => {
      const response = await this.raw.sendRequest(
        createPipelineRequest({
          url: `${this.endpoint}${siteId}/config/appsettings/list?api-version=${API_VERSIONS.site}`,
          method: 'POST',
        }),
      );
      const body = response.bodyAsText ? (JSON.parse(response.bodyAsText) as unknown) : undefined;
      if (response.status !== 200) {
        const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
        throw new RestError(error?.message ?? `HTTP ${response.status}`, {
          statusCode: response.status,
          ...(error?.code ? { code: error.code } : {}),
        });
      }
      return (body as { properties?: Record<string, string> }).properties ?? {};
    });
  }
}
