/**
 * A user script: load a device profile through aimc's public API and print how its
 * conductances drift — devices programmed to 10 %, 50 % and 90 % of gMax, read from 1 s to
 * 10 years: `node examples/profile-drift.mjs [PROFILE]`. The tests run it, and type-check it
 * against the package's generated declarations (examples/tsconfig.json, checkJs).
 */
import { conductanceStats, DeviceModel, initBackend, loadProfile } from 'aimc';

const name = process.argv[2] ?? 'pcm-nandakumar-2019';
await initBackend();
const device = new DeviceModel(loadProfile(name));
const times = [1, 3600, 86400, 31536000, 315360000];
const rows = conductanceStats(device, [0.1, 0.5, 0.9], times, 20000, 'example');
console.log(`${device.name}: conductance (µS) of 20 000 devices per target, read t s after programming`);
for (const r of rows)
  console.log(`target ${r.gTarget.toFixed(2)}  t ${String(r.t).padStart(9)}  mean ${r.gMean.toFixed(3)}  std ${r.gStd.toFixed(3)}`);
