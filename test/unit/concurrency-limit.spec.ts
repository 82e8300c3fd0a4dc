import { ConcurrencyLimit } from '../../src/domain/concurrency-limit';
import { gate, settle } from './support/gate';

describe('ConcurrencyLimit', () => {
  it('runs at most `limit` tasks at once and starts the others in arrival order', async () => {
    const limit = new ConcurrencyLimit(2);
    const gates = Array.from({ length: 5 }, gate);
    const started: number[] = [];
    const results = gates.map((g, index) =>
      limit.run(async () => {
        started.push(index);
        await g.opened;
        return index * 10;
      }),
    );
    await settle();
    expect(started).toEqual([0, 1]);
    expect(limit.active).toBe(2);
    expect(limit.queued).toBe(3);

    gates[1].open();
    await settle();
    expect(started).toEqual([0, 1, 2]);
    expect(limit.active).toBe(2);

    gates[0].open();
    gates[2].open();
    await settle();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    gates[3].open();
    gates[4].open();
    await expect(Promise.all(results)).resolves.toEqual([0, 10, 20, 30, 40]);
    expect(limit.active).toBe(0);
    expect(limit.queued).toBe(0);
  });

  it('frees the slot of a task that fails, and passes the failure to its caller', async () => {
    const limit = new ConcurrencyLimit(1);
    const failing = limit.run(() => Promise.reject(new Error('boom')));
    const next = limit.run(() => Promise.resolve('after'));
    await expect(failing).rejects.toThrow('boom');
    await expect(next).resolves.toBe('after');
    expect(limit.active).toBe(0);
  });

  it('does not let a task arriving as a slot frees overtake one already waiting', async () => {
    const limit = new ConcurrencyLimit(1);
    const first = gate();
    const order: string[] = [];
    const a = limit.run(async () => {
      await first.opened;
      order.push('a');
    });
    const b = limit.run(async () => {
      order.push('b');
    });
    first.open();
    const c = limit.run(async () => {
      order.push('c');
    });
    await Promise.all([a, b, c]);
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses the limit %p', (value) => {
    expect(() => new ConcurrencyLimit(value)).toThrow(RangeError);
  });
});

describe('ConcurrencyLimit shared between keys', () => {
  it('serves waiting keys in turn, so a key with many tasks waiting does not hold back another', async () => {
    const limit = new ConcurrencyLimit(1);
    const blocker = gate();
    const order: string[] = [];
    const all: Array<Promise<void>> = [limit.run(() => blocker.opened)];
    for (let index = 0; index < 5; index++) {
      all.push(limit.run(async () => void order.push(`flood${index}`), 'flood'));
    }
    all.push(limit.run(async () => void order.push('owner'), 'owner'));
    all.push(limit.run(async () => void order.push('third'), 'third'));
    expect(limit.queued).toBe(7);
    expect(limit.waitingKeys).toBe(3);
    blocker.open();
    await Promise.all(all);
    // FIFO would have run all five flood tasks before the owner's.
    expect(order).toEqual(['flood0', 'owner', 'third', 'flood1', 'flood2', 'flood3', 'flood4']);
    expect(limit.queued).toBe(0);
    expect(limit.waitingKeys).toBe(0);
  });

  it('keeps each key’s own tasks in arrival order', async () => {
    const limit = new ConcurrencyLimit(1);
    const blocker = gate();
    const order: string[] = [];
    const all: Array<Promise<void>> = [limit.run(() => blocker.opened)];
    for (const name of ['a1', 'b1', 'a2', 'b2', 'a3']) {
      all.push(limit.run(async () => void order.push(name), name[0]));
    }
    blocker.open();
    await Promise.all(all);
    expect(order).toEqual(['a1', 'b1', 'a2', 'b2', 'a3']);
  });
});
