#!/usr/bin/env node
// Builds aimc's native kernels (build/Release/aimc_native.node) during `npm install`.
// It never fails the install: without a compiler, headers or a working node-gyp it prints
// one line, records why in build/native-status.json, and aimc runs on the tfjs path.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const statusFile = join(root, 'build', 'native-status.json');

function record(built, reason) {
  mkdirSync(dirname(statusFile), { recursive: true });
  writeFileSync(statusFile, JSON.stringify({ built, reason, at: new Date().toISOString() }, null, 2) + '\n');
  if (!built) console.log(`aimc: native kernels not built (${reason}); using the tfjs fallback`);
}

function which(cmd) {
  if (cmd.includes('/')) return existsSync(cmd) ? cmd : null;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = join(dir, cmd);
    if (dir && existsSync(p)) return p;
  }
  return null;
}

/** npm's own node-gyp: npm sets npm_config_node_gyp for lifecycle scripts. */
function nodeGyp() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  const npm = which('npm');
  if (npm) {
    const p = join(dirname(realpathSync(npm)), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (existsSync(p)) return p;
  }
  return null;
}

function main() {
  const cxx = process.env.CXX ?? 'g++';
  if (!which(cxx)) return record(false, `C++ compiler '${cxx}' not found`);
  if (!which('make')) return record(false, 'make not found');
  const gyp = nodeGyp();
  if (!gyp) return record(false, 'node-gyp not found');
  // Build against local headers only: node-gyp must not try to download them.
  const nodedir = process.env.npm_config_nodedir ?? (existsSync('/usr/include/node/node.h') ? '/usr' : null);
  const args = [gyp, 'rebuild', '--release', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, npm_config_offline: 'true' } });
  if (r.status !== 0) {
    const last = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').filter((l) => /error/i.test(l)).slice(-1)[0] ?? `exit ${r.status}`;
    return record(false, `node-gyp failed: ${last.replace(/^gyp ERR! /, '').slice(0, 200)}`);
  }
  if (!existsSync(join(root, 'build', 'Release', 'aimc_native.node'))) return record(false, 'node-gyp produced no addon');
  record(true, null);
}

try {
  main();
} catch (e) {
  record(false, e instanceof Error ? e.message : String(e));
}
