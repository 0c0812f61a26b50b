/**
 * Storage connections the way Azure Functions names them: `<NAME>` holds a connection string, or
 * `<NAME>__blobServiceUri` / `<NAME>__tableServiceUri` (or `<NAME>__accountName`) select an identity-based
 * connection, with `<NAME>__clientId` naming a user-assigned managed identity. A setting we do not find
 * falls back to AzureWebJobsStorage, as the Functions bindings do.
 */
export type StorageService = 'blob' | 'table';

export type StorageConnection =
  | { kind: 'connectionString'; setting: string; connectionString: string }
  | { kind: 'identity'; setting: string; serviceUri: string; clientId?: string };

/**
 * What local.settings.sample.json (and the docs) put where a user's own value goes: `<sub>`, `<rg>`,
 * `<namespace>`, `<dce-name>`, `<key>`… A value holding one was copied and never filled in. Resource ids,
 * host names, GUIDs, keys and connection strings never contain `<` or `>`.
 */
export const PLACEHOLDER = /<[^<>\s]{1,40}>/;

/** The problem for a placeholder, naming the setting and never quoting its value (it may be a secret). */
export const placeholderProblem = (name: string) =>
  `${name}: still holds a placeholder copied from local.settings.sample.json (like <sub> or <rg>): replace it with your own value`;

const value = (env: NodeJS.ProcessEnv, name: string) => {
  const v = env[name]?.trim();
  return v ? v : undefined;
};

function fromSetting(
  env: NodeJS.ProcessEnv,
  setting: string,
  service: StorageService,
): StorageConnection | undefined {
  const connectionString = value(env, setting);
  if (connectionString) return { kind: 'connectionString', setting, connectionString };
  const clientId = value(env, `${setting}__clientId`);
  const serviceUri =
    value(env, `${setting}__${service}ServiceUri`) ??
    (service === 'blob' ? value(env, `${setting}__serviceUri`) : undefined);
  const account = value(env, `${setting}__accountName`);
  const uri = serviceUri ?? (account ? `https://${account}.${service}.core.windows.net` : undefined);
  if (!uri) return undefined;
  return { kind: 'identity', setting, serviceUri: uri, ...(clientId ? { clientId } : {}) };
}

/** Whether `name` is part of the connection `setting` (`X`, `X__blobServiceUri`, `X__clientId`…). */
const connectionSetting = (name: string, setting: string) =>
  name === setting || name.startsWith(`${setting}__`);

/** The connection for `setting` (e.g. ARCHIVE_STORAGE), or a sentence naming what to set. */
export function storageConnection(
  env: NodeJS.ProcessEnv,
  setting: string,
  service: StorageService,
): StorageConnection | { problem: string } {
  const found = fromSetting(env, setting, service) ?? fromSetting(env, 'AzureWebJobsStorage', service);
  const copied =
    found &&
    Object.keys(env).find(
      (name) => connectionSetting(name, found.setting) && PLACEHOLDER.test(env[name] ?? ''),
    );
  if (copied) return { problem: placeholderProblem(copied) };
  if (found?.kind === 'identity' && !found.serviceUri.startsWith('https://')) {
    return { problem: `${found.setting}__${service}ServiceUri: must be an https:// URL` };
  }
  return (
    found ?? {
      problem: `${setting}: not set (nor ${setting}__${service}ServiceUri, nor AzureWebJobsStorage): set a connection string, or a ${service} service URI for a managed identity`,
    }
  );
}
