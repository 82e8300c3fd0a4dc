import { cpuBetween, processesCpu, statCpuMs } from '../../bench/process-cpu';

const onLinux = process.platform === 'linux' ? it : it.skip;

describe('CPU time of processes, from /proc', () => {
  it('reads user and system time from a stat line, whatever the command name holds', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
    const line = '4242 (node (worker) x) R 1 4242 4242 0 -1 4194304 10 0 0 0 123 45 0 0 20 0 11 0 100 0 0';
    expect(statCpuMs(line)).toBe((123 + 45) * 10);
  });

  onLinux('counts the main thread apart from the others, and sees CPU this process spends', () => {
    const before = processesCpu([process.pid]);
    const started = process.cpuUsage();
    // Spend 300 ms of CPU (CPU time, not time on the clock), nearly all of it in this thread's loop.
    let spent = 0;
    let spin = 0;
    while (spent < 300_000) {
      for (let index = 0; index < 100_000; index++) spin += index % 7;
      const used = process.cpuUsage(started);
      spent = used.user + used.system;
    }
    const used = cpuBetween(before, processesCpu([process.pid]));
    expect(spin).toBeGreaterThan(0);
    expect(used).toBeDefined();
    // process.cpuUsage counts every thread; the few ms of the collector's helpers are not the main thread's.
    expect(used?.main).toBeGreaterThanOrEqual(200);
    expect(used?.others).toBeGreaterThanOrEqual(0);
  });

  onLinux('sums several processes', () => {
    const one = processesCpu([process.pid]);
    const twice = processesCpu([process.pid, process.pid]);
    expect(one && twice && twice.main).toBeGreaterThanOrEqual(2 * (one?.main ?? Infinity));
  });

  it('gives nothing for a process that cannot be read, nor between readings when one is missing', () => {
    expect(processesCpu([2 ** 30])).toBeUndefined();
    expect(cpuBetween(undefined, { main: 1, others: 2 })).toBeUndefined();
    expect(cpuBetween({ main: 1, others: 2 }, { main: 4, others: 7 })).toEqual({ main: 3, others: 5 });
    // A tick read as another thread's in the first reading and as the main thread's in the second.
    expect(cpuBetween({ main: 100, others: 20 }, { main: 130, others: 10 })).toEqual({ main: 30, others: 0 });
  });
});
