/**
 * Output locations checked before work starts: a run that trains for an hour and then cannot
 * write its result loses the hour.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InputError } from './values.js';

function writableAncestor(path: string, where: string): void {
  let dir = dirname(resolve(path));
  while (!existsSync(dir)) {
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  if (!statSync(dir).isDirectory()) throw new InputError(`${where}: cannot create ${path}: ${dir} is a file, not a folder`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new InputError(`${where}: cannot create ${path}: ${dir} is not writable`);
  }
}

/** An output folder: absent (it will be created) or an existing folder, in a writable place. */
export function checkOutputDir(path: string, where: string): void {
  if (existsSync(path)) {
    if (!statSync(path).isDirectory()) throw new InputError(`${where}: ${path} exists and is a file; give a folder to write into`);
    try {
      accessSync(path, constants.W_OK);
    } catch {
      throw new InputError(`${where}: ${path} is not writable`);
    }
    return;
  }
  writableAncestor(path, where);
}

/** An output file: absent or an existing file (replaced), in a writable place. */
export function checkOutputFile(path: string, where: string): void {
  if (existsSync(path) && statSync(path).isDirectory()) throw new InputError(`${where}: ${path} is a folder; give a file name`);
  writableAncestor(path, where);
}
