/**
 * What a mapping worker loads when it starts (ADR 0015, decision 22): every worker stopped at its deadline
 * is replaced by a new process, so its start is paid again and again under a noisy neighbour. The schema
 * library (typebox, under `@hub/contracts` and the configuration validator) took about 0.3 s of CPU of a
 * start of ~0.55 s; the worker needs none of it to map, and loads the validator only for a job that asks
 * to validate. Read from the sources: the static imports from the worker's module, followed through this
 * package (type-only imports and `import()` are not loaded at start).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

function staticImports(file: URL): { local: URL[]; packages: string[] } {
  const source = readFileSync(file, 'utf8');
  const local: URL[] = [];
  const packages: string[] = [];
  for (const match of source.matchAll(/^\s*import\s+(?!type\s)[^;]*?from\s+'([^']+)';/gms)) {
    const specifier = match[1]!;
    if (specifier.startsWith('.')) local.push(new URL(specifier.replace(/\.js$/, '.ts'), file));
    else packages.push(specifier);
  }
  return { local, packages };
}

describe('a mapping worker’s start', () => {
  it('loads no schema library: neither typebox nor the whole of @hub/contracts', () => {
    const seen = new Set<string>();
    const packages = new Set<string>();
    const queue = [new URL('./sandbox-worker.ts', import.meta.url)];
    for (let file = queue.pop(); file; file = queue.pop()) {
      if (seen.has(file.href)) continue;
      seen.add(file.href);
      const found = staticImports(file);
      queue.push(...found.local);
      for (const p of found.packages) packages.add(p);
    }
    expect(seen.size).toBeGreaterThan(5); // the engine's modules were followed
    expect([...packages].sort()).not.toContain('typebox');
    expect([...packages].filter((p) => p.startsWith('typebox') || p === '@hub/contracts')).toEqual([]);
    expect([...seen].some((f) => f.endsWith('/validate.ts'))).toBe(false);
  });
});
