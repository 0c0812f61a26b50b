import ignore from 'ignore';
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';

/**
 * Rehearses the function app package the way each publish tool builds it, without the tools: which files
 * Core Tools and azd put in the zip, the zip's round trip, and the Node worker loading the entry points.
 */

export const repoRoot = resolve(__dirname, '../..');

const toPosix = (path: string) => path.split(sep).join('/');

// ---------- which files each tool packs ----------

/**
 * Core Tools' `.funcignore` matcher, ported from src/Cli/func/Common/GitIgnoreParser.cs (itself a port of
 * codemix/gitignore-parser): a leading `/` is dropped and every pattern matches from the root; `*` is
 * `[^/]+` (one character at least), `**` is `.+`; a path is denied when some pattern matches a prefix of it
 * that ends on a word boundary, unless some `!` pattern matches it the same way. Returns `denies`.
 */
export function coreToolsIgnore(text: string): (path: string) => boolean {
  const positive: string[] = [];
  const negative: string[] = [];
  for (const raw of text.split('\n')) {
    let line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    if (negated) line = line.slice(1);
    if (line.startsWith('/')) line = line.slice(1);
    (negated ? negative : positive).push(line);
  }
  const toRegex = (pattern: string) =>
    pattern
      .replace(/[-[\]/{}()+?.\\^$|]/g, '\\$&')
      .replaceAll('**', '(.+)')
      .replaceAll('*', '([^\\/]+)');
  const compile = (patterns: string[]) =>
    patterns.length > 0 ? new RegExp(`^((${patterns.map(toRegex).join(')|(')}))\\b`) : /$^/;
  const [pos, neg] = [compile(positive), compile(negative)];
  return (path) => !(neg.test(path) || !pos.test(path));
}

/**
 * The files `func azure functionapp publish` zips from `root` (FileSystemHelpers.GetLocalFiles and
 * ZipHelper.GetAppZipFile): every file below it, symbolic links followed, except directories named `.git`
 * or `.vscode`, files named `.funcignore`, `.gitignore`, `local.settings.json` or `project.lock.json`, at
 * any depth and in any case, and paths `root/.funcignore` denies (or `funcignore`, when given).
 */
export function coreToolsFiles(root: string, funcignore?: string): string[] {
  const text = funcignore ?? readIfExists(join(root, '.funcignore'));
  const denies = text === undefined ? () => false : coreToolsIgnore(text);
  const skippedDirs = ['.git', '.vscode'];
  const skippedFiles = ['.funcignore', '.gitignore', 'local.settings.json', 'project.lock.json'];
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const abs = join(dir, name);
      if (statSync(abs).isDirectory()) {
        if (!skippedDirs.includes(name.toLowerCase())) walk(abs);
      } else if (!skippedFiles.includes(name.toLowerCase())) {
        const path = toPosix(relative(root, abs));
        if (!denies(path)) files.push(path);
      }
    }
  };
  walk(root);
  return files.sort();
}

/**
 * The files azd zips from a function app's package folder `root` (createDeployableZip in
 * cli/azd/pkg/project/project_utils.go, walking with rzip.CreateFromDirectory): directories named `.azure`,
 * files named `.funcignore` or `local.settings.json` are skipped at any depth, and `root/.funcignore` (or
 * `funcignore`) applies with gitignore rules, an excluded directory taking everything under it. Without an
 * ignore file a TypeScript service leaves `node_modules` out unless `remoteBuild` is false.
 */
export function azdFiles(
  root: string,
  options: { funcignore?: string; remoteBuild?: boolean } = {},
): string[] {
  const text = options.funcignore ?? readIfExists(join(root, '.funcignore'));
  const rules =
    text === undefined ? undefined : ignore({ ignorecase: false }).add(text.replace(/^\uFEFF/, ''));
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const abs = join(dir, name);
      const isDir = statSync(abs).isDirectory();
      const path = toPosix(relative(root, abs));
      if (isDir && name === '.azure') continue;
      if (!isDir && (name === '.funcignore' || name === 'local.settings.json')) continue;
      const excluded = rules
        ? rules.ignores(isDir ? `${path}/` : path)
        : isDir && name === 'node_modules' && options.remoteBuild !== false;
      if (excluded) continue;
      if (isDir) walk(abs);
      else files.push(path);
    }
  };
  walk(root);
  return files.sort();
}

/**
 * The zip's round trip: both tools zip regular files only, each under its path from the root with `/`
 * separators, a symbolic link as the content it points to, and no directory entries; the platform unpacks
 * exactly those files. Putting the same list, links resolved, in an empty folder makes the same tree: each
 * file is hard-linked to its source (the same content under its own path, so module resolution stays in the
 * folder; much faster than copying 13,000 files), or copied where a link cannot be made.
 */
export function extract(root: string, files: string[], destination: string): string {
  for (const file of files) {
    const source = realpathSync(join(root, file));
    const target = join(destination, file);
    mkdirSync(dirname(target), { recursive: true });
    try {
      linkSync(source, target);
    } catch {
      copyFileSync(source, target);
    }
  }
  return destination;
}

// ---------- the project as a publish tool finds it ----------

/** The working tree's files as a clean clone has them, plus files added and not ignored (`git ls-files -co`). */
export function projectFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: repoRoot,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((file) => file && existsSync(join(repoRoot, file)));
}

/** A copy (not links: the rehearsal writes around them) of the project's files in `destination`. */
export function copyProject(destination: string): string {
  for (const file of projectFiles()) {
    mkdirSync(dirname(join(destination, file)), { recursive: true });
    copyFileSync(join(repoRoot, file), join(destination, file));
  }
  return destination;
}

/** `npm run build` (tsc -p tsconfig.build.json), written to `outDir`. */
export function build(outDir: string): Promise<void> {
  const tsc = require.resolve('typescript/bin/tsc', { paths: [repoRoot] });
  return run(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir], repoRoot);
}

/**
 * Production dependencies from the lockfile into `dir`/node_modules: the tree `npm ci && npm prune
 * --omit=dev` leaves, file for file, without installing the devDependencies first. No lifecycle scripts: no
 * production dependency has one, and the project's own `prepare` builds from sources the package lacks.
 */
export function installProduction(dir: string): Promise<void> {
  const args = ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'];
  return run(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, dir);
}

function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd, env, shell: process.platform === 'win32' });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) =>
      code === 0 ? done() : fail(new Error(`${command} ${args.join(' ')} exited ${code}:\n${output}`)),
    );
  });
}

// ---------- azure.yaml ----------

/** A scalar of the `app` service in azure.yaml (`dist`, `remoteBuild`, ...), as text. */
export function serviceSetting(azureYaml: string, key: string): string | undefined {
  return new RegExp(`^ {4}${key}:[ \\t]*(\\S+)[ \\t]*$`, 'm').exec(azureYaml)?.[1];
}

/** The `run: |` block of a service hook for one OS (`posix` or `windows`), dedented. */
export function hookScript(azureYaml: string, hook: string, os: 'posix' | 'windows'): string {
  const lines = azureYaml.split('\n');
  const at = (pattern: RegExp, from: number) => lines.findIndex((line, i) => i > from && pattern.test(line));
  const hookLine = at(new RegExp(`^\\s+${hook}:\\s*$`), -1);
  const osLine = at(new RegExp(`^\\s+${os}:\\s*$`), hookLine);
  const runLine = at(/^\s+run:\s*\|\s*$/, osLine);
  if (hookLine < 0 || osLine < 0 || runLine < 0) throw new Error(`azure.yaml has no ${hook} ${os} run block`);
  const indent = (line: string) => line.length - line.trimStart().length;
  const body: string[] = [];
  for (const line of lines.slice(runLine + 1)) {
    if (line.trim() && indent(line) <= indent(lines[runLine]!)) break;
    body.push(line);
  }
  const margin = Math.min(...body.filter((l) => l.trim()).map(indent));
  return `${body
    .map((l) => l.slice(margin))
    .join('\n')
    .trimEnd()}\n`;
}

/**
 * Runs the posix `prepackage` hook of azure.yaml in `projectDir`, as azd does (`sh`, in the service's folder),
 * with `npm` standing in: `npm run build` copies `builtDist` to dist/; `npm ci` checks that it installs
 * production dependencies only, without scripts, from a lockfile, and links node_modules to
 * `productionModules`, the tree that command installs (azd follows the link when it zips). Any other npm
 * command fails. Returns the npm commands the hook ran.
 */
export async function runPrepackageHook(
  projectDir: string,
  stand: { builtDist: string; productionModules: string },
): Promise<string[]> {
  const script = hookScript(readFileSync(join(projectDir, 'azure.yaml'), 'utf8'), 'prepackage', 'posix');
  const bin = mkdtempSync(join(tmpdir(), 'defender-export-npm-'));
  const log = join(bin, 'calls.log');
  writeFileSync(join(bin, 'npm.cjs'), FAKE_NPM);
  writeFileSync(join(bin, 'npm'), `#!/bin/sh\nexec "${process.execPath}" "${join(bin, 'npm.cjs')}" "$@"\n`);
  chmodSync(join(bin, 'npm'), 0o755);
  writeFileSync(join(bin, 'prepackage.sh'), script);
  try {
    await run('sh', [join(bin, 'prepackage.sh')], projectDir, {
      ...process.env,
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      FAKE_NPM_LOG: log,
      FAKE_NPM_DIST: stand.builtDist,
      FAKE_NPM_NODE_MODULES: stand.productionModules,
    });
    return readFileSync(log, 'utf8').trim().split('\n');
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
}

const FAKE_NPM = `'use strict';
const fs = require('node:fs');
const args = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_NPM_LOG, args.join(' ') + '\\n');
const fail = (message) => { console.error('npm stand-in: ' + message); process.exit(1); };
if (args[0] === 'run' && args[1] === 'build' && args.length === 2) {
  fs.cpSync(process.env.FAKE_NPM_DIST, 'dist', { recursive: true });
} else if (args[0] === 'ci') {
  for (const flag of ['--omit=dev', '--ignore-scripts'])
    if (!args.includes(flag)) fail('npm ci without ' + flag + ' would install devDependencies or run scripts');
  for (const file of ['package.json', 'package-lock.json'])
    if (!fs.existsSync(file)) fail('npm ci needs ' + file + ' in ' + process.cwd());
  fs.rmSync('node_modules', { recursive: true, force: true });
  fs.symlinkSync(process.env.FAKE_NPM_NODE_MODULES, 'node_modules', 'dir');
} else {
  fail('unexpected npm ' + args.join(' '));
}
`;

// ---------- loading the package as the Node worker does ----------

export interface Binding {
  name: string;
  type: string;
  direction: string;
  [property: string]: unknown;
}

export interface RegisteredFunction {
  name: string;
  /** The entry point that registered it, relative to the app folder. */
  entryPoint: string;
  bindings: Binding[];
  retryOptions: unknown;
}

export interface LoadResult {
  /** The files `main` names, in load order. */
  entryPoints: string[];
  loaded: string[];
  /** The first entry point that failed, as the worker reports it; loading stops there. */
  error?: { entryPoint: string; message: string };
  programmingModel?: { name: string; version: string };
  functions: RegisteredFunction[];
  /** What the process wrote to stdout and stderr. */
  output: string;
}

/**
 * Loads the app in `appDir` the way the Node worker does (src/startApp.ts, src/loadScriptFile.ts): resolves
 * package.json `main` as a glob from the app folder and requires each file in order, in a fresh Node process
 * whose current folder is the app and whose environment is `env` (the app settings) only. A stand-in for the
 * host-provided module `@azure/functions-core` is served by intercepting `require`, as the worker does
 * (src/setupCoreModule.ts), so `app.eventHub(...)` and `app.timer(...)` really register and every function's
 * metadata is recorded.
 */
export async function loadApp(appDir: string, env: Record<string, string>): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'defender-export-worker-'));
  writeFileSync(join(dir, 'worker.cjs'), WORKER);
  const resultFile = join(dir, 'result.json');
  const childEnv: NodeJS.ProcessEnv = { ...env };
  if (process.env.SystemRoot) childEnv.SystemRoot = process.env.SystemRoot;
  try {
    const output = await new Promise<string>((done, fail) => {
      const child = spawn(process.execPath, [join(dir, 'worker.cjs'), appDir, resultFile], {
        cwd: appDir,
        env: childEnv,
        timeout: 30_000,
      });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.on('error', fail);
      child.on('close', (code) =>
        code === 0 && existsSync(resultFile)
          ? done(text)
          : fail(new Error(`worker stand-in exited ${code}:\n${text}`)),
      );
    });
    const result = JSON.parse(readFileSync(resultFile, 'utf8')) as Omit<LoadResult, 'output'>;
    return { ...result, output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const WORKER = `'use strict';
const Module = require('node:module');
const fs = require('node:fs');
const path = require('node:path');
const url = require('node:url');

const [appDir, resultFile] = process.argv.slice(2);
const result = { entryPoints: [], loaded: [], functions: [] };
let currentEntryPoint;
let locked = false;
let programmingModel;

class Disposable {
  constructor(callback) { this.callback = callback; }
  static from(...items) { return new Disposable(() => items.forEach((item) => item && item.dispose && item.dispose())); }
  dispose() { if (this.callback) { this.callback(); this.callback = undefined; } }
}

// What the worker provides as '@azure/functions-core' (azure-functions-nodejs-worker src/setupCoreModule.ts,
// src/coreApi/registerFunction.ts), recording instead of answering the host.
const coreApi = {
  version: 'stand-in',
  hostVersion: 'stand-in',
  Disposable,
  registerHook: () => new Disposable(() => undefined),
  setProgrammingModel(model) {
    programmingModel = model;
    result.programmingModel = { name: model.name, version: model.version };
  },
  getProgrammingModel: () => programmingModel,
  log: () => undefined,
  registerFunction(metadata, callback) {
    if (locked) throw new Error('A function can only be registered during app startup.');
    const id = metadata.functionId || metadata.name;
    if (result.functions.some((f) => f.name === id)) throw new Error('A function with id "' + id + '" has already been registered.');
    if (typeof callback !== 'function') throw new Error('Function "' + id + '" has no handler.');
    result.functions.push({
      name: id,
      entryPoint: currentEntryPoint ? path.relative(appDir, currentEntryPoint).split(path.sep).join('/') : 'unknown',
      bindings: Object.entries(metadata.bindings).map(([name, binding]) => ({ ...binding, name })),
      retryOptions: metadata.retryOptions || null,
    });
    return new Disposable(() => { result.functions = result.functions.filter((f) => f.name !== id); });
  },
};
Module.prototype.require = new Proxy(Module.prototype.require, {
  apply(target, thisArg, args) {
    return args[0] === '@azure/functions-core' ? coreApi : Reflect.apply(target, thisArg, args);
  },
});

// globby's reading of package.json main, for the patterns an app uses: *, ** and ?; a leading dot only matches
// a dot; files only.
function globToRegExp(glob) {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    const segmentStart = i === 0 || glob[i - 1] === '/';
    if (c === '*' && glob[i + 1] === '*' && segmentStart && (glob[i + 2] === '/' || i + 2 === glob.length)) {
      re += glob[i + 2] === '/' ? '(?:(?!\\\\.)[^/]+/)*' : '(?:(?!\\\\.)[^/]+/)*(?!\\\\.)[^/]+';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += (segmentStart ? '(?!\\\\.)' : '') + '[^/]*';
    else if (c === '?') re += '[^/]';
    else if ('{}[]!'.includes(c)) throw new Error('the worker stand-in does not read "' + c + '" in main');
    else re += c.replace(/[.^$|()+\\\\]/g, '\\\\$&');
  }
  return new RegExp('^' + re + '$');
}
function resolveMain(pattern) {
  const regex = globToRegExp(pattern);
  const found = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, entry.name);
      const rel = path.relative(appDir, abs).split(path.sep).join('/');
      if (fs.statSync(abs).isDirectory()) { if (entry.name !== 'node_modules') walk(abs); }
      else if (regex.test(rel)) found.push(rel);
    }
  };
  walk(appDir);
  return found.sort();
}

process.on('unhandledRejection', (reason) => {
  result.error = result.error || { entryPoint: 'unknown', message: 'unhandled rejection: ' + ((reason && reason.stack) || reason) };
});

(async () => {
  let current;
  let pattern = 'index.js';
  try {
    const packageJson = JSON.parse(fs.readFileSync(path.join(appDir, 'package.json'), 'utf8'));
    pattern = packageJson.main || pattern;
    result.entryPoints = resolveMain(pattern);
    if (result.entryPoints.length === 0) throw new Error('Found zero files matching the supplied pattern');
    for (const file of result.entryPoints) {
      current = file;
      currentEntryPoint = path.join(appDir, file);
      const esm = file.endsWith('.mjs') || (!file.endsWith('.cjs') && packageJson.type === 'module');
      if (esm) await import(url.pathToFileURL(currentEntryPoint).href);
      else require(currentEntryPoint);
      currentEntryPoint = undefined;
      result.loaded.push(file);
    }
  } catch (err) {
    result.error = {
      entryPoint: current || pattern,
      message: 'Worker was unable to load entry point "' + (current || pattern) + '": ' + (err && err.message),
    };
  }
  locked = true;
  setImmediate(() => {
    fs.writeFileSync(resultFile, JSON.stringify(result));
    process.exit(0);
  });
})();
`;

// ---------- app settings ----------

/**
 * local.settings.sample.json's Values with each `<placeholder>` replaced by its own name (`<dce-name>` becomes
 * `dce-name`), as a developer fills them in: the placeholders themselves are not valid settings (the
 * endpoint's `<` makes it no URL), and the app refuses to start with them.
 */
export function sampleAppSettings(): Record<string, string> {
  const { Values } = JSON.parse(readFileSync(join(repoRoot, 'local.settings.sample.json'), 'utf8')) as {
    Values: Record<string, string>;
  };
  return Object.fromEntries(
    Object.entries(Values).map(([name, value]) => [
      name,
      value.replace(/<([^<>]*)>/g, (_, placeholder: string) => placeholder.replace(/[^A-Za-z0-9-]+/g, '-')),
    ]),
  );
}

function readIfExists(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}
