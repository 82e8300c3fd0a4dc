import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const MODULES = resolve(__dirname, '../../src/modules');

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The module (first folder under src/modules) a path lies in, if any. */
function moduleOf(path: string): string | undefined {
  const inside = relative(MODULES, path);
  return inside.startsWith('..') ? undefined : inside.split(sep)[0];
}

/** For each module, the other modules its source files import from. */
function moduleImports(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles(MODULES)) {
    const from = moduleOf(file) as string;
    const targets = graph.get(from) ?? new Set<string>();
    graph.set(from, targets);
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(/\bfrom\s+'(\.[^']*)'/g)) {
      const to = moduleOf(resolve(dirname(file), specifier));
      if (to && to !== from) targets.add(to);
    }
  }
  return graph;
}

/** One import cycle between modules, as the path that closes it, or undefined. */
function findCycle(graph: Map<string, Set<string>>): string[] | undefined {
  const done = new Set<string>();
  const visit = (module: string, path: string[]): string[] | undefined => {
    if (path.includes(module)) return [...path.slice(path.indexOf(module)), module];
    if (done.has(module)) return undefined;
    for (const next of graph.get(module) ?? []) {
      const cycle = visit(next, [...path, module]);
      if (cycle) return cycle;
    }
    done.add(module);
    return undefined;
  };
  for (const module of graph.keys()) {
    const cycle = visit(module, []);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('dependencies between modules', () => {
  const graph = moduleImports();

  it('finds the modules and what they import', () => {
    expect(graph.get('federation')).toContain('channels');
  });

  // "federation and, later, the bus are consumers of those events, not callees of channels"
  it('channels imports nothing from federation', () => {
    expect([...(graph.get('channels') ?? [])]).not.toContain('federation');
  });

  // The cluster's shared state is infrastructure: the modules whose state is shared use it.
  it('presence imports only the cluster infrastructure, which imports no other module', () => {
    expect([...(graph.get('presence') ?? [])]).toEqual(['cluster']);
    expect([...(graph.get('cluster') ?? [])]).toEqual([]);
  });

  it('channels knows nothing of the cluster: its replication plugs in from outside', () => {
    expect([...(graph.get('channels') ?? [])]).not.toContain('cluster');
    expect([...(graph.get('cluster-channels') ?? [])].sort()).toEqual(['channels', 'cluster', 'presence']);
  });

  // "No dependency cycle between modules, with or without @Global."
  it('has no import cycle between modules', () => {
    expect(findCycle(graph)).toBeUndefined();
  });

  it('finds a cycle when there is one', () => {
    const cyclic = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
    ]);
    expect(findCycle(cyclic)).toEqual(['a', 'b', 'c', 'a']);
  });
});
