#!/usr/bin/env node
// Summarises the .cpuprofile files of a profiling run (issue 22; tests/bench/README.md, "Where the services'
// CPU goes"): per profile, the service (from its scripts' paths), the busy time sampled, self time by
// package, the functions with the most self time and the most inclusive time (Node's internals and the
// event loop's own frames left out of the second list).
// Usage: node tests/bench/profile-summary.mjs <dir> [top=25] [from seconds] [to seconds]
// (from/to: only the samples in that window after the profile started, e.g. to leave start-up out).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.argv[2];
const top = Number(process.argv[3] ?? 25);
const fromS = Number(process.argv[4] ?? 0);
const toS = Number(process.argv[5] ?? 1e9);
const short = (url) => {
  if (!url) return '';
  const u = url.replace(/^file:\/\/\/work\/wt\/[^/]+\//, '').replace(/^file:\/\/\/work\/main\//, '');
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)/.exec(u);
  if (m) return `${m[1]}/${m[2].split('/').slice(-2).join('/')}`;
  return u;
};
const pkgOf = (url) => {
  if (!url) return '(native/gc/idle)';
  const u = url.replace(/^file:\/\/\/work\/wt\/[^/]+\//, '');
  let m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
  if (m) return m[1];
  m = /^(libs|services)\/([^/]+)\//.exec(u);
  if (m) return `${m[1]}/${m[2]}`;
  if (u.startsWith('node:')) return 'node:' + u.slice(5).split('/')[0];
  return u.split('/')[0];
};
for (const f of readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .sort()) {
  const p = JSON.parse(readFileSync(path.join(dir, f), 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const service = (
    p.nodes.map((n) => n.callFrame.url).find((u) => /services\/[^/]+\/dist\/main\.js/.test(u)) ?? '?'
  ).match(/services\/([^/]+)\//)?.[1];
  const counts = new Map();
  let t = 0;
  p.samples.forEach((id, i) => {
    t += p.timeDeltas[i] ?? 0;
    if (t < fromS * 1e6 || t > toS * 1e6) return;
    counts.set(id, (counts.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  const label = (n) =>
    `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  const self = new Map(),
    incl = new Map(),
    pkg = new Map();
  let total = 0,
    idle = 0;
  for (const [id, us] of counts) {
    const n = byId.get(id);
    total += us;
    const name = n.callFrame.functionName;
    if (name === '(idle)') {
      idle += us;
      continue;
    }
    const l = label(n);
    self.set(l, (self.get(l) ?? 0) + us);
    const pk =
      name === '(garbage collector)' ? '(gc)' : name === '(program)' ? '(program)' : pkgOf(n.callFrame.url);
    pkg.set(pk, (pkg.get(pk) ?? 0) + us);
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const ll = label(byId.get(cur));
      if (seen.has(ll)) continue;
      seen.add(ll);
      incl.set(ll, (incl.get(ll) ?? 0) + us);
    }
  }
  const busy = total - idle;
  const fmt = (us) =>
    `${(us / 1000).toFixed(0).padStart(6)} ms ${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  console.log(
    `\n=== ${service} (${f}) busy ${(busy / 1e6).toFixed(2)} s of ${(total / 1e6).toFixed(1)} s sampled`,
  );
  console.log('-- self time by package');
  for (const [k, v] of [...pkg].sort((a, b) => b[1] - a[1]).slice(0, 14)) console.log(`${fmt(v)}  ${k}`);
  console.log('-- top self');
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${fmt(v)}  ${k}`);
  console.log('-- top inclusive');
  for (const [k, v] of [...incl]
    .sort((a, b) => b[1] - a[1])
    .filter(
      ([k]) =>
        !/^\(root\)|^\(program\)| node:internal|^\(anonymous\) :0|^runMicrotasks|^processTicks/.test(k),
    )
    .slice(0, top + 10))
    console.log(`${fmt(v)}  ${k}`);
}
