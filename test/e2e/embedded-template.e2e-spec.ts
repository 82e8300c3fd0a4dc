import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedDatabase, openEarly, openEmbeddedDatabase, templateLocation } from '../../src/database/embedded-database';

// Each case here runs PostgreSQL's initdb at least once, which takes seconds on a busy machine.
jest.setTimeout(180_000);

const DEFAULT_TEMPLATE = templateLocation.folder;
let scratch: string;
const opened: EmbeddedDatabase[] = [];

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'chat-template-e2e-'));
});

afterEach(async () => {
  templateLocation.folder = DEFAULT_TEMPLATE;
  for (const database of opened.splice(0)) await close(database);
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function close({ thread, lock }: EmbeddedDatabase): Promise<void> {
  try {
    await thread.close();
  } finally {
    await lock.release();
  }
}

async function openNew(name: string, said: string[] = []): Promise<EmbeddedDatabase> {
  const database = await openEmbeddedDatabase(join(scratch, name), (message) => said.push(message));
  opened.push(database);
  return database;
}

describe('a new embedded database comes from a template', () => {
  test('the first creation makes the template, the next copies it, and each database is its own', async () => {
    const template = join(scratch, 'cache', 'template');
    templateLocation.folder = template;
    const firstSaid: string[] = [];
    const first = await openNew('first', firstSaid);
    expect(first.thread.built).toBe('new template');
    expect(firstSaid[0]).toBe(
      `creating a new embedded database in ${join(scratch, 'first')} (the first on this installation; this takes a few seconds)`,
    );
    expect(firstSaid[1]).toMatch(
      /^embedded database created with a new template \(once per installation\) and open \(\d+\.\d s\)$/,
    );
    expect(existsSync(join(template, 'PG_VERSION'))).toBe(true);
    await first.thread.exec('CREATE TABLE only_in_first (n int); INSERT INTO only_in_first VALUES (1)');

    const secondSaid: string[] = [];
    const second = await openNew('second', secondSaid);
    expect(second.thread.built).toBe('template');
    expect(secondSaid[0]).toBe(`creating a new embedded database in ${join(scratch, 'second')} from the template in ${template}`);
    expect(secondSaid[1]).toMatch(/^embedded database created from the template and open/);
    const tables = "SELECT count(*)::int AS c FROM pg_tables WHERE tablename = 'only_in_first'";
    await expect(second.thread.exec(tables)).resolves.toMatchObject({ rows: [{ c: 0 }] });
    await expect(first.thread.exec(tables)).resolves.toMatchObject({ rows: [{ c: 1 }] });
    expect(existsSync(join(scratch, 'second', '.chat-server-building'))).toBe(false);
    expect(existsSync(join(scratch, 'second', '.chat-server-creating'))).toBe(false);
  });

  test('where no template can be kept, initdb makes the database all the same', async () => {
    const blocker = join(scratch, 'a-file');
    writeFileSync(blocker, 'not a folder');
    templateLocation.folder = join(blocker, 'template');
    const database = await openNew('no-template');
    expect(database.thread.built).toBe('initdb');
    await expect(database.thread.exec('SELECT 1 AS one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
  });
});

describe('opening early', () => {
  test('the server that starts next takes over the open database and hears what was said', async () => {
    templateLocation.folder = join(scratch, 'early-template');
    const folder = join(scratch, 'early');
    const early = openEarly(folder);
    const said: string[] = [];
    const database = await openEmbeddedDatabase(folder, (message) => said.push(message));
    opened.push(database);
    expect(said[0]).toMatch(/^creating a new embedded database in /);
    expect(said[1]).toMatch(/^embedded database created/);
    await early.discard();
    await expect(database.thread.exec('SELECT 2 AS two')).resolves.toMatchObject({ rows: [{ two: 2 }] });
  });

  test('an early open nobody took is closed by discard, and the folder can be opened again', async () => {
    templateLocation.folder = join(scratch, 'early-template');
    const folder = join(scratch, 'discarded');
    await openEarly(folder).discard();
    const said: string[] = [];
    const again = await openNew('discarded', said);
    expect(said[0]).toBe(`opening the embedded database in ${folder}`);
    expect(again.thread.built).toBeUndefined();
  });
});

describe('node dist/embedded-template.js', () => {
  test('leaves the installation with a template and says where', () => {
    const made = spawnSync(process.execPath, [join(__dirname, '..', '..', 'dist', 'embedded-template.js')], { encoding: 'utf8' });
    expect(made.stderr).toBe('');
    expect(made.stdout).toBe(`chat-server: the template for new embedded databases is in ${DEFAULT_TEMPLATE}\n`);
    expect(made.status).toBe(0);
    expect(existsSync(join(DEFAULT_TEMPLATE as string, 'PG_VERSION'))).toBe(true);
  });
});
