import { join } from 'node:path';

/**
 * A database thread's script, `name` in this folder: compiled JavaScript after a build, TypeScript
 * under ts-node in tests.
 */
export function threadScript(name: string): { file: string; execArgv: string[] } {
  if (__filename.endsWith('.ts')) {
    return { file: join(__dirname, `${name}.ts`), execArgv: ['--require', 'ts-node/register/transpile-only'] };
  }
  return { file: join(__dirname, `${name}.js`), execArgv: [] };
}
