import { describe, expect, it } from 'vitest';
import { importChain } from './import-chain.js';

const graph = {
  'entry.ts': { imports: [{ path: 'a.ts' }, { path: 'b.ts' }] },
  'a.ts': { imports: [{ path: 'c.ts' }] },
  'b.ts': { imports: [{ path: 'd.ts' }] },
  'd.ts': { imports: [{ path: 'c.ts' }] },
  'c.ts': { imports: [{ path: 'node:fs' }] },
};

describe('importChain', () => {
  it('finds the shortest chain from the entry to an input', () => {
    expect(importChain(graph, 'c.ts')).toEqual(['entry.ts', 'a.ts', 'c.ts']);
    expect(importChain(graph, 'd.ts')).toEqual(['entry.ts', 'b.ts', 'd.ts']);
    expect(importChain(graph, 'entry.ts')).toEqual(['entry.ts']);
  });

  it('survives cycles, and names a file it cannot reach by itself', () => {
    const cyclic = { 'entry.ts': { imports: [{ path: 'x.ts' }] }, 'x.ts': { imports: [{ path: 'y.ts' }] }, 'y.ts': { imports: [{ path: 'x.ts' }] } };
    expect(importChain(cyclic, 'y.ts')).toEqual(['entry.ts', 'x.ts', 'y.ts']);
    expect(importChain(graph, 'elsewhere.ts')).toEqual(['elsewhere.ts']);
  });
});
