import { readFileSync } from 'node:fs';
import { API_VERSIONS, reasonOf, type Resource, type ResourceReader } from '../azure/resources';
import { GUID } from '../config';
import { ActionableError } from '../errors';

/** The settings to check, where they came from, and (for a deployed app) whose roles to check. */
export interface SettingsSource {
  env: NodeJS.ProcessEnv;
  from: string;
  /** A deployed app's settings (--app): whose identity is the app's, not the one running the doctor. */
  app?: boolean;
  principal?: { id: string; from: string };
}

/** `local.settings.json`'s Values, as `func start` reads them; an ActionableError when it cannot be read. */
export function readLocalSettings(file: string): SettingsSource {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    // Only where the JSON breaks: the parser's message quotes the text there, which may be a key.
    const { code, message } = error as { code?: string; message?: string };
    const at = /position (\d+)/.exec(message ?? '')?.[1];
    throw new ActionableError(
      `--settings ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code ? code : `not JSON${at ? ` (at character ${at})` : ''}`}`,
      'Name a local.settings.json (copy local.settings.sample.json), or leave --settings out to check the environment.',
    );
  }
  const values = (parsed as { Values?: unknown } | null)?.Values;
  if (!values || typeof values !== 'object' || Array.isArray(values)) {
    throw new ActionableError(
      `--settings ${file}: has no "Values" object`,
      'A local.settings.json holds the settings under "Values", as local.settings.sample.json does.',
    );
  }
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(values)) {
    if (typeof value === 'string') env[name] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') env[name] = String(value);
  }
  return { env, from: file };
}

const NAME = /^[-\w.()]{1,90}$/;

/**
 * A deployed app's settings through Resource Manager (`config/appsettings/list`, which needs Contributor or
 * Website Contributor on the app), and its managed identity: the user-assigned one AZURE_CLIENT_ID names,
 * else the system-assigned one.
 */
export async function readAppSettings(
  reader: ResourceReader,
  app: { subscription: string; resourceGroup: string; name: string },
): Promise<SettingsSource> {
  if (!GUID.test(app.subscription) || !NAME.test(app.resourceGroup) || !/^[-\w]{1,60}$/.test(app.name)) {
    throw new ActionableError(
      `--app ${app.name} --resource-group ${app.resourceGroup} --subscription ${app.subscription}: not an app name, resource group and subscription id`,
      'Pass the function app name, its resource group and its subscription id (or set AZURE_SUBSCRIPTION_ID).',
    );
  }
  const siteId = `/subscriptions/${app.subscription}/resourceGroups/${app.resourceGroup}/providers/Microsoft.Web/sites/${app.name}`;
  const where = `app ${app.name} in ${app.resourceGroup}`;
  const site = await reader.get(siteId, API_VERSIONS.site);
  if (!('found' in site)) {
    const why = reasonOf(site);
    throw new ActionableError(
      `${where} could not be read: ${why}`,
      'missing' in site
        ? 'Check the app name, resource group and subscription (az functionapp list -o table).'
        : 'Reading an app and its settings needs Website Contributor (or Contributor) on it; sign in with `az login` as someone who holds it.',
    );
  }
  const settings = await reader.appSettings(siteId);
  if (!('found' in settings)) {
    const why = reasonOf(settings);
    throw new ActionableError(
      `the settings of ${where} could not be read: ${why}`,
      'Listing app settings needs Website Contributor (or Contributor) on the app.',
    );
  }
  const env: NodeJS.ProcessEnv = { ...settings.found };
  const principal = appPrincipal(site.found, env.AZURE_CLIENT_ID);
  return { env, from: where, app: true, ...(principal ? { principal } : {}) };
}

function appPrincipal(site: Resource, clientId: string | undefined): SettingsSource['principal'] {
  const identity = site.identity;
  if (clientId?.trim()) {
    const assigned = Object.entries(identity?.userAssignedIdentities ?? {}).find(
      ([, value]) => value.clientId?.toLowerCase() === clientId.trim().toLowerCase(),
    );
    if (assigned?.[1].principalId)
      return {
        id: assigned[1].principalId,
        from: `the app's user-assigned identity ${assigned[0].split('/').pop()}`,
      };
    return undefined;
  }
  return identity?.principalId
    ? { id: identity.principalId, from: "the app's system-assigned identity" }
    : undefined;
}

/**
 * The object id (`oid`) in an Entra access token: whose roles to check when the doctor runs as the app would
 * (a managed identity, or a developer's sign-in). The token is read, never verified or printed.
 */
export function principalOfToken(token: string): string | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { oid?: unknown };
    return typeof claims.oid === 'string' && GUID.test(claims.oid) ? claims.oid : undefined;
  } catch {
    return undefined;
  }
}
