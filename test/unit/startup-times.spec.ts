import { performance } from 'node:perf_hooks';
import { StartupTimes } from '../../src/startup-times';

describe('StartupTimes', () => {
  test('names the parts recorded, in the order of a start, with the whole since the process started', () => {
    const times = new StartupTimes();
    times.record('modules', 100, 550);
    times.record('launch', 0, 90);
    times.record('configuration', 90, 100);
    const before = Math.floor(performance.now());
    const { totalMs, parts, text } = times.summary();
    const after = Math.ceil(performance.now());
    expect(parts).toEqual({ launch: 90, configuration: 10, modules: 450 });
    expect(totalMs).toBeGreaterThanOrEqual(before);
    expect(totalMs).toBeLessThanOrEqual(after);
    expect(text).toBe(
      `ready ${(totalMs / 1000).toFixed(2)} s after launch (Node.js and the launcher 0.09 s, configuration 0.01 s, the server's modules 0.45 s)`,
    );
    expect(times.endOf('modules')).toBe(550);
    expect(times.endOf('database')).toBeUndefined();
  });

  test("the server's own part leaves out what it waited on: the schema and a database still opening", () => {
    const times = new StartupTimes();
    const now = performance.now();
    const serverStarted = now - 1000;
    times.record('database', serverStarted - 500, serverStarted + 300);
    times.record('schema', serverStarted + 300, serverStarted + 500);
    times.serverReady(serverStarted);
    const nest = times.summary().parts.nest as number;
    // 1000 ms in the server, 300 of them waiting for the database and 200 for the schema.
    expect(nest).toBeGreaterThanOrEqual(500);
    expect(nest).toBeLessThan(520);
  });

  test('a database opened before the server started costs the server nothing', () => {
    const times = new StartupTimes();
    const serverStarted = performance.now() - 200;
    times.record('database', serverStarted - 900, serverStarted - 100);
    times.serverReady(serverStarted);
    expect(times.summary().parts.nest).toBeGreaterThanOrEqual(200);
  });
});
