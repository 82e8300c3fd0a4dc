import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openEmbeddedDatabase, templateLocation } from './database/embedded-database';
import { plainFailure } from './database/plain-failure';

/**
 * `node dist/embedded-template.js`: makes the installation's template for new embedded databases
 * now (an image build runs it), so that no server start pays for initdb; in CHAT_TEMPLATE_DIR when
 * that is set, as the server reads it. Exit 0 when the template is there, 1 when it cannot be made.
 */
async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'chat-template-'));
  const configured = process.env.CHAT_TEMPLATE_DIR;
  const template = configured ? resolve(configured) : templateLocation.folder;
  try {
    const { thread, lock } = await openEmbeddedDatabase(join(scratch, 'data'), undefined, template);
    await thread.close();
    await lock.release();
    if (thread.built === 'initdb') throw new Error(`${template ?? 'the template folder'} cannot be written`);
    process.stdout.write(`chat-server: the template for new embedded databases is in ${template}\n`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`chat-server: no template for new embedded databases: ${plainFailure(error)}\n`);
  process.exit(1);
});
