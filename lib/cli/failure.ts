import { CONNECTION_CODES } from '../azure/preflight';
import { ActionableError, ConfigError } from '../errors';
import { unreadable } from './input';
import { EXIT } from './io';
import { plural } from './text';

/** How a failure is told: the exit code and the text for stderr. */
export interface Failure {
  code: number;
  text: string;
}

const PREFIX = 'defender-export: error:';

/** The one error style: what went wrong on the first line, what to do on the next. */
export function errorText(message: string, hint: string): string {
  return `${PREFIX} ${message}\n${hint}\n`;
}

const IDENTITY_ERRORS = new Set([
  'CredentialUnavailableError',
  'AggregateAuthenticationError',
  'AuthenticationRequiredError',
  'AuthenticationError',
]);
const NETWORK_CODES = new Set([...CONNECTION_CODES, 'EPIPE', 'UND_ERR_SOCKET']);
/** TLS failures: an expired certificate, or a TLS-inspecting proxy whose CA this machine does not trust. */
const TLS_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
const FILE_CODES = new Set(['ENOENT', 'EISDIR', 'ENOTDIR', 'EACCES', 'EPERM']);

const SIGN_IN =
  "Sign in with 'az login' (or run where a managed identity is, AZURE_CLIENT_ID naming a user-assigned one); " +
  'against local stand-ins, set LOCAL_DEV_BEARER_TOKEN.';

/** The error and its causes, outermost first. */
function chain(error: unknown): unknown[] {
  const found: unknown[] = [];
  for (
    let e = error;
    e !== undefined && e !== null && found.length < 8;
    e = (e as { cause?: unknown }).cause
  ) {
    found.push(e);
    if (typeof e !== 'object') break;
  }
  return found;
}

/** A failure the user can fix, said as such, when the error (or one of its causes) is one. */
function actionable(error: unknown): ActionableError | undefined {
  for (const e of chain(error)) {
    if (e instanceof ActionableError) return e;
    if (!(e instanceof Error)) continue;
    const { code, path, syscall } = e as NodeJS.ErrnoException;
    if (code && FILE_CODES.has(code) && path && syscall) return unreadable(path, e as NodeJS.ErrnoException);
    if (IDENTITY_ERRORS.has(e.name)) {
      return new ActionableError(`no Azure credentials: ${firstLine(e.message)}`, SIGN_IN, { cause: e });
    }
    const status = (e as { statusCode?: number }).statusCode;
    if (e.name === 'RestError' && status === 401) {
      return new ActionableError(`Azure did not accept the credentials: ${firstLine(e.message)}`, SIGN_IN, {
        cause: e,
      });
    }
    if (e.name === 'RestError' && status === 403) {
      return new ActionableError(
        `Azure refused the request (HTTP 403): ${firstLine(e.message)}`,
        'Grant the identity the role the README names for this command (Security Reader to read coverage, ' +
          'Monitoring Metrics Publisher on the DCR, Storage Blob/Table Data Contributor on the accounts).',
        { cause: e },
      );
    }
    if (code && TLS_CODES.has(code)) {
      return new ActionableError(
        `the endpoint's TLS certificate was not trusted (${code}): ${firstLine(e.message)}`,
        'Behind a TLS-inspecting proxy, point NODE_EXTRA_CA_CERTS at its CA certificate; against the local ' +
          'stand-ins, at the certificate npm run dev:stand-ins prints.',
        { cause: e },
      );
    }
    if (
      e.name === 'RestError' &&
      status !== undefined &&
      (status >= 500 || status === 408 || status === 429)
    ) {
      return new ActionableError(
        `an Azure service failed to answer (HTTP ${status}) after the SDK's retries: ${firstLine(e.message)}`,
        'This passes by itself: run again in a few minutes; the Azure status page says whether it is an outage.',
        { cause: e },
      );
    }
    if (e.name === 'AbortError') {
      return new ActionableError(
        `a call to an Azure service timed out: ${firstLine(e.message)}`,
        'Check the network path to the endpoint settings (proxy, firewall), then run again.',
        { cause: e },
      );
    }
    if ((code && NETWORK_CODES.has(code)) || code === 'REQUEST_SEND_ERROR') {
      return new ActionableError(
        `could not reach an endpoint: ${firstLine(e.message)}`,
        'Check the endpoint settings (AZURE_RESOURCE_MANAGER_ENDPOINT, LOGS_INGESTION_ENDPOINT, the storage ' +
          'connections) and that the network (or the local stand-in) is up.',
        { cause: e },
      );
    }
  }
  return undefined;
}

const firstLine = (text: string) => text.split('\n')[0]!.trim();

/**
 * Says what went wrong, in one style everywhere: `defender-export: error: <what>` and a line on what to do.
 * Settings and things the user can fix exit 2 without a stack; anything else is a bug of ours (70), with
 * its stack, asking to be reported.
 */
export function describeFailure(error: unknown, command: string | undefined): Failure {
  const helpFor = command ? `defender-export ${command} --help` : 'defender-export --help';
  if (error instanceof ConfigError) {
    return {
      code: EXIT.usage,
      text:
        `${PREFIX} invalid configuration: ${plural(error.problems.length, 'problem')}\n` +
        error.problems.map((p) => `  - ${p}\n`).join('') +
        `Set them in the environment (the app settings); '${helpFor}' lists the settings it reads.\n`,
    };
  }
  const fixable = actionable(error);
  if (fixable) return { code: EXIT.usage, text: errorText(fixable.message, fixable.hint) };
  const message = error instanceof Error ? error.message : String(error);
  const stack = error instanceof Error && error.stack ? `${error.stack}\n` : '';
  return {
    code: EXIT.internal,
    text: `${PREFIX} ${firstLine(message) || 'unexpected failure'} (a bug: please report it)\n${stack}`,
  };
}
