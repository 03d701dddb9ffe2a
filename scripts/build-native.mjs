#!/usr/bin/env node
// Builds aimc's native kernels (build/Release/aimc_native.node) during `npm install`.
// It never fails the install: without a compiler, make, Node headers or node-gyp, or when
// the build fails, it prints one line, records why in build/native-status.json (which
// src/tensor/native.ts reports), and exits 0; aimc then runs on tfjs's own kernels.
// It never downloads anything: node-gyp gets the local headers through --nodedir.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(root, 'build');
const statusFile = join(buildDir, 'native-status.json');
const logFile = join(buildDir, 'native-build.log');
const addon = join(buildDir, 'Release', 'aimc_native.node');

function record(built, reason) {
  try {
    mkdirSync(buildDir, { recursive: true });
    writeFileSync(statusFile, JSON.stringify({ built, reason, at: new Date().toISOString() }, null, 2) + '\n');
  } catch {
    // A read-only tree still gets the one line below.
  }
  console.log(built ? `aimc: native kernels built (${addon})` : `aimc: native kernels not built (${reason}); using the tfjs fallback`);
}

/** Absolute path of an executable on PATH (or the path itself when it has a slash), else null. */
function which(cmd) {
  if (!cmd) return null;
  if (cmd.includes('/') || cmd.includes('\\')) return existsSync(cmd) ? cmd : null;
  const exts = process.platform === 'win32' ? ['', '.exe', '.cmd'] : [''];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const ext of exts) {
      const p = join(dir, cmd + ext);
      if (dir && existsSync(p)) return p;
    }
  }
  return null;
}

/** node-gyp: npm's own (npm sets npm_config_node_gyp for scripts), the one bundled beside the running npm, else a local install reachable by npx. */
function nodeGyp() {
  const env = process.env.npm_config_node_gyp;
  if (env && existsSync(env)) return { cmd: process.execPath, args: [env] };
  const candidates = [];
  if (process.env.npm_execpath) candidates.push(dirname(realpathSync(process.env.npm_execpath)));
  const npm = which('npm');
  if (npm) candidates.push(dirname(realpathSync(npm)));
  candidates.push(join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin'));
  for (const bin of candidates) {
    const p = join(bin, '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (existsSync(p)) return { cmd: process.execPath, args: [p] };
  }
  const npx = which('npx');
  // --no-install: a missing node-gyp must not be fetched from the registry.
  if (npx && spawnSync(npx, ['--no-install', 'node-gyp', '--version'], { stdio: 'ignore', timeout: 60_000 }).status === 0) {
    return { cmd: npx, args: ['--no-install', 'node-gyp'] };
  }
  return null;
}

/** A Node source/header tree for --nodedir (so node-gyp never downloads headers), else null. */
function nodeDir() {
  const hasHeaders = (dir) => existsSync(join(dir, 'include', 'node', 'node_api.h'));
  const candidates = [
    process.env.npm_config_nodedir,
    // The running node's prefix: /usr for distro packages, the tarball root for nvm & co.
    resolve(dirname(process.execPath), '..'),
    // Headers node-gyp fetched on some earlier occasion (not fetched here).
    join(homedir(), '.cache', 'node-gyp', process.versions.node),
    join(homedir(), 'Library', 'Caches', 'node-gyp', process.versions.node),
  ].filter(Boolean);
  return candidates.find(hasHeaders) ?? null;
}

/** The C++ compiler node-gyp's Makefile will use: $CXX, else g++, c++ or clang++ on PATH. */
function compiler() {
  if (process.env.CXX) return which(process.env.CXX.split(/\s+/)[0]) ? process.env.CXX : null;
  for (const c of ['g++', 'c++', 'clang++']) if (which(c)) return c;
  return null;
}

/** The most telling line of a failed build: the first compiler error, else the last gyp error. */
function firstError(text) {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const line =
    lines.find((l) => /\berror\b/i.test(l) && !l.startsWith('gyp')) ??
    lines.filter((l) => l.startsWith('gyp ERR!') && !/stack|cwd|node -v|node-gyp -v|System|command/.test(l)).pop() ??
    lines.pop() ??
    'no output';
  return line.replace(/^gyp ERR! /, '').slice(0, 240);
}

function main() {
  if (process.env.AIMC_NATIVE === '0') return record(false, 'AIMC_NATIVE=0');
  const env = { ...process.env };
  if (process.platform !== 'win32') {
    const cxx = compiler();
    if (!cxx) return record(false, process.env.CXX ? `C++ compiler '${process.env.CXX}' not found` : 'no C++ compiler: g++, c++ or clang++ not found');
    env.CXX = cxx;
    if (!which('make')) return record(false, 'make not found');
  }
  const dir = nodeDir();
  if (!dir) return record(false, `Node headers not found (no include/node/node_api.h under ${resolve(dirname(process.execPath), '..')}; set npm_config_nodedir)`);
  const gyp = nodeGyp();
  if (!gyp) return record(false, 'node-gyp not found (it ships with npm)');
  const args = [...gyp.args, 'rebuild', '--release', `--nodedir=${dir}`, '--jobs=max'];
  const r = spawnSync(gyp.cmd, args, { cwd: root, encoding: 'utf8', env, timeout: 15 * 60_000, maxBuffer: 64 << 20 });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  try {
    mkdirSync(buildDir, { recursive: true });
    writeFileSync(logFile, `$ ${gyp.cmd} ${args.join(' ')}\n${output}`);
  } catch {
    // Only the log is lost.
  }
  if (r.error) return record(false, `node-gyp did not run: ${r.error.message}`);
  if (r.status !== 0) return record(false, `node-gyp failed: ${firstError(output)}; see build/native-build.log`);
  if (!existsSync(addon)) return record(false, 'node-gyp produced no build/Release/aimc_native.node');
  // Prove the addon loads here rather than at first use.
  const probe = spawnSync(process.execPath, ['-e', `console.log(JSON.stringify(require(${JSON.stringify(addon)}).info()))`], { encoding: 'utf8', timeout: 60_000 });
  if (probe.status !== 0) return record(false, `the built addon does not load: ${firstError(probe.stderr ?? '')}`);
  record(true, null);
}

try {
  main();
} catch (e) {
  record(false, e instanceof Error ? e.message.split('\n')[0] : String(e));
}
process.exitCode = 0;
