import type { PGlite, PGliteOptions } from '@electric-sql/pglite';
import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { PostgresCode } from './embedded-messages';

/**
 * How a new embedded database is made: by copying a template, a database fresh from initdb kept
 * once per installation, which takes a fraction of a second; initdb itself takes seconds. The
 * first creation on an installation makes the template. Runs in the database's thread.
 */
export interface BuildPlan {
  /** Where the new database is assembled, inside its data folder (so a mounted volume works too). */
  readonly building: string;
  /** The template's folder; unset when there is nowhere to keep one. */
  readonly template?: string;
}

/** How the database was made: copied from the template, from a template made now, or by initdb alone. */
export type Built = 'template' | 'new template' | 'initdb';

type PGliteClass = Pick<typeof PGlite, 'create'>;

/**
 * PGlite's options for the code the thread read ahead, if it could. The bundle stands in for a
 * Blob: PGlite reads only its `arrayBuffer()`.
 */
export function codeOptions(code: PostgresCode | undefined): PGliteOptions {
  return code ? { ...code, fsBundle: code.fsBundle as Blob } : {};
}

/** Runs initdb in `folder` (which PGlite creates) and closes the database. */
async function initdb(PGlite: PGliteClass, folder: string, code: PostgresCode | undefined): Promise<void> {
  const database = await PGlite.create(folder, codeOptions(code));
  await database.close();
}

/** Whether process `pid` is alive (on this machine: the template's folder is not shared). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes templates half-made by processes that are gone (a start stopped during initdb). */
function clearAbandoned(template: string): void {
  const name = basename(template);
  for (const entry of readdirSync(dirname(template))) {
    const maker = /^\.(\d+)\.\d+$/.exec(entry.slice(name.length));
    if (!entry.startsWith(name) || !maker || alive(Number(maker[1]))) continue;
    rmSync(join(dirname(template), entry), { recursive: true, force: true });
  }
}

/**
 * Makes the template if there is none: built aside (`<template>.<pid>.<time>`) and renamed into
 * place, so a template that exists is whole, and two first starts at once both end with one.
 * Its folder may not be writable (a read-only installation): then there is no template, and false.
 */
async function makeTemplate(PGlite: PGliteClass, template: string, code: PostgresCode | undefined): Promise<boolean> {
  const aside = `${template}.${process.pid}.${Date.now()}`;
  try {
    mkdirSync(dirname(template), { recursive: true });
    clearAbandoned(template);
    await initdb(PGlite, aside, code);
    renameSync(aside, template);
  } catch {
    try {
      rmSync(aside, { recursive: true, force: true });
    } catch {
      // Nothing could be made there to remove: its parent is not a folder.
    }
  }
  return existsSync(join(template, 'PG_VERSION'));
}

/**
 * Assembles a new database in `plan.building`, from the template when there is one. `code` is
 * PostgreSQL's code when the thread has read it already.
 */
export async function buildDatabase(PGlite: PGliteClass, plan: BuildPlan, code?: PostgresCode): Promise<Built> {
  let built: Built = 'initdb';
  if (plan.template) {
    if (existsSync(join(plan.template, 'PG_VERSION'))) built = 'template';
    else if (await makeTemplate(PGlite, plan.template, code)) built = 'new template';
  }
  rmSync(plan.building, { recursive: true, force: true });
  if (built === 'initdb') await initdb(PGlite, plan.building, code);
  else cpSync(plan.template as string, plan.building, { recursive: true });
  return built;
}

/** Moves the assembled database into its data folder, PG_VERSION last: a folder with PG_VERSION is whole. */
export function moveIntoPlace(building: string, folder: string): void {
  const entries = readdirSync(building).filter((entry) => entry !== 'PG_VERSION');
  for (const entry of [...entries, 'PG_VERSION']) renameSync(join(building, entry), join(folder, entry));
  rmSync(building, { recursive: true });
}
