import path from 'node:path';
import {
  deploy,
  findResources,
  isObject,
  stableGuid,
  type DeploymentContext,
  type Json,
  type JsonObject,
} from './armTemplate';
import { buildParams, findBicep, LINTER_OFF_CONFIG, ROOT, withoutParameterVariables } from './bicep';

/**
 * The function app's settings as a deployment of infra/main.bicep would write them: the template and the
 * parameters of infra/main.bicepparam compiled by the Bicep CLI, every ARM expression on the way evaluated
 * (test/helpers/armTemplate.ts), modules and the runtime values of the resources they reference included.
 */

const MAIN_PARAMETERS = path.join(ROOT, 'infra/main.bicepparam');

/** Where the realistic deployment goes (`az deployment sub create -n defender-export -l westeurope`). */
export const DEPLOYMENT_CONTEXT: Omit<DeploymentContext, 'location'> = {
  tenantId: stableGuid('contoso tenant'),
  subscriptionId: stableGuid('contoso production subscription'),
  deploymentName: 'defender-export',
};

/**
 * What a real deployment sets beyond main.bicepparam's defaults (README "Deploy"): an environment name,
 * the security provider's principal for trusted-service export, an alert address. Every other parameter
 * takes its default from the template.
 */
export const REALISTIC_PARAMETERS: Readonly<Record<string, Json>> = {
  environmentName: 'defender-export-prod',
  location: 'westeurope',
  securityProviderPrincipalId: stableGuid('Windows Azure Security Resource Provider'),
  alertEmail: 'secops@contoso.com',
};

interface Compiled {
  template: JsonObject;
  /** The values main.bicepparam gives, with none of its environment variables set. */
  parameters: Record<string, Json>;
}

let compiled: Compiled | undefined;

/** Compiles main.bicepparam and the template it uses once (the linter off: its findings have their own test). */
function compileMain(): Compiled {
  if (compiled) return compiled;
  // main.bicepparam reads environment variables; the realistic set must not depend on the caller's.
  const env = withoutParameterVariables(MAIN_PARAMETERS);
  const result = buildParams(MAIN_PARAMETERS, { env, config: LINTER_OFF_CONFIG });
  if (result.status !== 0 || result.diagnostics.length > 0) {
    throw new Error(`bicep build-params infra/main.bicepparam failed:\n${result.diagnostics.join('\n')}`);
  }
  const output = JSON.parse(result.stdout) as { parametersJson: string; templateJson: string };
  const parametersFile = JSON.parse(output.parametersJson) as { parameters: Record<string, { value: Json }> };
  const parameters = Object.fromEntries(
    Object.entries(parametersFile.parameters).map(([name, p]) => [name, p.value]),
  );
  compiled = { template: JSON.parse(output.templateJson) as JsonObject, parameters };
  return compiled;
}

/** A caller's value as JSON (the one place an unknown value is taken in). */
function toJson(what: string, value: unknown): Json {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (Array.isArray(value)) return value.map((v, i) => toJson(`${what}[${i}]`, v));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(`${what}.${k}`, v)]));
  }
  throw new Error(`${what}: not a JSON value`);
}

/**
 * The app settings the function app gets from a deployment of infra/main.bicep with the realistic
 * parameters (main.bicepparam, REALISTIC_PARAMETERS, then `parameters`), or undefined when there is no
 * Bicep CLI. Throws when a setting is not a string: app settings are strings, so the template is wrong.
 */
export function templateAppSettings(
  parameters: Record<string, unknown> = {},
): Record<string, string> | undefined {
  if (!findBicep()) return undefined;
  const { template, parameters: fromFile } = compileMain();
  const values: Record<string, Json> = { ...fromFile, ...REALISTIC_PARAMETERS };
  for (const [name, value] of Object.entries(parameters)) values[name] = toJson(name, value);
  const location = values.location;
  if (typeof location !== 'string') throw new Error('parameter location must be a string');
  const root = deploy(template, values, { ...DEPLOYMENT_CONTEXT, location });

  const appSettings = findResources(root, 'Microsoft.Web/sites/config').filter(({ scope, resource }) => {
    const name = scope.evaluate(resource.name ?? null);
    return typeof name === 'string' && name.toLowerCase().endsWith('/appsettings');
  });
  if (appSettings.length !== 1) {
    throw new Error(
      `expected one Microsoft.Web/sites/config 'appsettings' resource, found ${appSettings.length}`,
    );
  }
  const [{ scope, resource }] = appSettings as [(typeof appSettings)[number]];
  if (!scope.deployed(resource)) throw new Error("the 'appsettings' resource is not deployed (condition)");
  const properties = scope.evaluate(resource.properties ?? null);
  if (!isObject(properties)) throw new Error("the 'appsettings' resource's properties are not an object");
  const settings: Record<string, string> = {};
  const notStrings: string[] = [];
  for (const [name, value] of Object.entries(properties)) {
    if (typeof value === 'string') settings[name] = value;
    else notStrings.push(`${name} (${JSON.stringify(value)})`);
  }
  if (notStrings.length > 0) throw new Error(`app settings that are not strings: ${notStrings.join(', ')}`);
  return settings;
}
