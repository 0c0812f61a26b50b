import { spawnSync } from 'node:child_process';
import { accessSync, chmodSync, constants, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The Bicep CLI: the pinned Azure.Bicep.CommandLine.linux-x64 package in the NuGet global packages folder,
 * where `dotnet restore tools/bicep` puts it; else one on the PATH or where `az bicep install` puts it
 * (~/.azure/bin). Every call runs it with an argument array, never a shell.
 */

export const ROOT = path.resolve(__dirname, '../..');

/** How to get a Bicep CLI, in one plain line (printed once when there is none). */
export const HOW_TO_GET_BICEP =
  'Bicep CLI not found, so the Bicep checks are skipped: run `dotnet restore tools/bicep` (or `az bicep install`) to get it.';

/** CI sets this (.ci/run): a missing Bicep CLI then fails the Bicep checks instead of skipping them. */
export const BICEP_REQUIRED = process.env.DEFENDER_EXPORT_REQUIRE_BICEP === 'true';

export interface BicepCli {
  path: string;
  /** Where it was found. */
  source: 'PATH' | '~/.azure/bin' | 'NuGet';
}

export interface BicepResult {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The non-empty lines of stderr: Bicep writes its diagnostics there, one a line. */
  diagnostics: string[];
}

/** A diagnostic line: `<file>(<line>,<column>) : <Level> <code>: <message>`. */
export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  level: string;
  code: string;
  message: string;
}

/** The version the tools project pins: tools/bicep/bicep-cli.csproj is the one place it is written. */
export function pinnedBicepVersion(): string {
  const project = readFileSync(path.join(ROOT, 'tools/bicep/bicep-cli.csproj'), 'utf8');
  const version = /Include="Azure\.Bicep\.CommandLine\.linux-x64"\s+Version="\[([^\]]+)\]"/.exec(
    project,
  )?.[1];
  if (!version)
    throw new Error('tools/bicep/bicep-cli.csproj pins no Azure.Bicep.CommandLine.linux-x64 version');
  return version;
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function nugetCandidate(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  const packages = process.env.NUGET_PACKAGES || path.join(os.homedir(), '.nuget', 'packages');
  const file = path.join(
    packages,
    'azure.bicep.commandline.linux-x64',
    pinnedBicepVersion(),
    'tools',
    'bicep',
  );
  if (!isFile(file)) return undefined;
  // NuGet does not always keep the executable bit of a package's files.
  if (!isExecutable(file)) {
    try {
      chmodSync(file, statSync(file).mode | 0o111);
    } catch {
      return undefined;
    }
  }
  return file;
}

let found: BicepCli | null | undefined;

/** The Bicep CLI to use — the NuGet one tools/bicep pins, else one on the PATH or in ~/.azure/bin — or undefined. */
export function findBicep(): BicepCli | undefined {
  if (found !== undefined) return found ?? undefined;
  const name = process.platform === 'win32' ? 'bicep.exe' : 'bicep';
  const onPath = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .map((dir) => path.join(dir, name))
    .find((file) => isFile(file) && isExecutable(file));
  const azure = path.join(os.homedir(), '.azure', 'bin', name);
  const nuget = nugetCandidate();
  // The pinned CLI first: the linter's rule set and the API versions it knows change with the version, and
  // infra/bicepconfig.json and the templates are kept clean for that one.
  found = nuget
    ? { path: nuget, source: 'NuGet' }
    : onPath
      ? { path: onPath, source: 'PATH' }
      : isFile(azure) && isExecutable(azure)
        ? { path: azure, source: '~/.azure/bin' }
        : null;
  return found ?? undefined;
}

function requireBicep(): BicepCli {
  const cli = findBicep();
  if (!cli) throw new Error(HOW_TO_GET_BICEP);
  return cli;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Runs `bicep <args>` (no shell) and returns its output. */
export function runBicep(args: readonly string[], options: RunOptions = {}): BicepResult {
  const result = spawnSync(requireBicep().path, args, {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  const stderr = result.stderr;
  return {
    status: result.status,
    stdout: result.stdout,
    stderr,
    diagnostics: stderr.split(/\r?\n/).filter((line) => line.trim() !== ''),
  };
}

/** `bicep build-params <file> --stdout`: `{ parametersJson, templateJson }` on stdout. */
export function buildParams(file: string, options: RunOptions & { config?: string } = {}): BicepResult {
  const config = options.config ? ['--config', options.config] : [];
  return runBicep(['build-params', file, '--stdout', ...config], options);
}

/** `bicep build --pattern <glob> --outdir <dir>`: every matching file in one process (each takes seconds). */
export function buildAll(pattern: string, outdir: string, options: RunOptions = {}): BicepResult {
  return runBicep(['build', '--pattern', pattern, '--outdir', outdir], options);
}

/** `bicep lint --pattern <glob>`: every matching file in one process. */
export function lintAll(pattern: string, options: RunOptions = {}): BicepResult {
  return runBicep(['lint', '--pattern', pattern], options);
}

/**
 * The environment without the variables a .bicepparam file reads (readEnvironmentVariable), so that it
 * builds with its own defaults whatever the caller's environment holds.
 */
export function withoutParameterVariables(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const out = { ...env };
  const source = readFileSync(path.resolve(ROOT, file), 'utf8');
  for (const m of source.matchAll(/readEnvironmentVariable\(\s*'([^']+)'/g)) delete out[m[1]!];
  return out;
}

const DIAGNOSTIC = /^(.*)\((\d+),(\d+)\) : (\w+) ([^:\s]+): (.*)$/;

/** A diagnostic line taken apart, or undefined when the line is not one. */
export function parseDiagnostic(line: string): Diagnostic | undefined {
  const m = DIAGNOSTIC.exec(line);
  if (!m) return undefined;
  return {
    file: m[1]!,
    line: Number(m[2]),
    column: Number(m[3]),
    level: m[4]!,
    code: m[5]!,
    message: m[6]!,
  };
}

/**
 * The diagnostics of one run, by file (absolute path). A line that names no file is an error of the run
 * itself: it is listed under every file, so that no check passes over it.
 */
export function diagnosticsByFile(result: BicepResult, files: readonly string[]): Map<string, string[]> {
  const byFile = new Map<string, string[]>(files.map((file) => [path.resolve(file), []]));
  const unattributed: string[] = [];
  for (const line of new Set(result.diagnostics)) {
    const diagnostic = parseDiagnostic(line);
    const list = diagnostic && byFile.get(path.resolve(diagnostic.file));
    if (list) list.push(line);
    else unattributed.push(line);
  }
  for (const list of byFile.values()) list.push(...unattributed);
  return byFile;
}

/**
 * A Bicep configuration with the linter off, for compiling a template only to evaluate it (the linter has its
 * own checks: test/unit/bicep.test.ts).
 */
export const LINTER_OFF_CONFIG = path.join(ROOT, 'tools/bicep/linter-off.bicepconfig.json');
