import { execFileSync } from 'node:child_process';
import { keepCommandObjectsYoung, NO_PRETENURING } from '../../src/config/young-generation';

describe('young generation', () => {
  it("turns V8's allocation-site pretenuring off", () => {
    const set: string[] = [];
    keepCommandObjectsYoung((flags) => set.push(flags));
    expect(set).toEqual(['--no-allocation-site-pretenuring']);
  });

  // V8 ignores a flag it does not know without a word: a Node whose V8 dropped or renamed this one
  // would leave pretenuring on while the server believed it off.
  it("names a flag this Node's V8 has, on unless turned off", () => {
    const options = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
    const name = NO_PRETENURING.replace('--no-', '--');
    expect(options).toMatch(new RegExp(`^\\s*${name} \\(.*\\)\\n\\s*type: bool\\s+default: ${name}$`, 'm'));
  });
});
