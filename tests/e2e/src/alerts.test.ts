/**
 * Issue 12, item 6: every alert rule has a runbook section, and every metric that an alert or the Grafana
 * dashboard uses is served by the running services (scraped on the real stack): a renamed metric fails here,
 * not silently in production.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { devEnv, resolveStack } from '@hub/testing';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const stack = resolveStack();
const local = devEnv();
const urlOf = (key: string) => process.env[key] ?? local[key];

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: { severity?: string };
  annotations?: { summary?: string; runbook_url?: string };
}
const rules = (
  parse(readFileSync(path.join(repo, 'deploy/prometheus/alerts.yml'), 'utf8')) as {
    groups: Array<{ rules: Rule[] }>;
  }
).groups.flatMap((g) => g.rules);
const runbooks = readFileSync(path.join(repo, 'docs/runbooks.md'), 'utf8');
const dashboard = readFileSync(path.join(repo, 'deploy/grafana/dashboard.json'), 'utf8');

const METRIC = /\b(hub_[a-z_]+|http_request_[a-z_]+|nodejs_[a-z0-9_]+|process_[a-z_]+)\b/g;
const metricsIn = (text: string) => new Set([...text.matchAll(METRIC)].map((m) => m[1]!));

describe('alert rules', () => {
  it('cover lag, event age, dead letters, 5xx, readiness flapping and the database, each with a runbook', () => {
    const names = rules.map((r) => r.alert);
    for (const wanted of [
      'HubConsumerLagGrowing',
      'HubEventsOld',
      'HubDeadLetters',
      'HubHttp5xx',
      'HubReadinessFlapping',
      'HubDatabaseUnavailable',
    ]) {
      expect(names).toContain(wanted);
    }
    for (const rule of rules) {
      expect(['warning', 'critical'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.runbook_url, rule.alert).toBe(`docs/runbooks.md#${rule.alert.toLowerCase()}`);
      expect(runbooks, rule.alert).toContain(`\n## ${rule.alert}\n`);
    }
  });

  it('and the dashboard use only metrics the services serve', async () => {
    const urls = [
      stack.baseUrl,
      ...['INGEST_GATEWAY_URL', 'CONFIG_SERVICE_URL', 'MAPPER_URL', 'ENTITY_WRITER_URL'].map(
        (k) => urlOf(k)!,
      ),
    ];
    const scraped = (await Promise.all(urls.map(async (u) => (await fetch(`${u}/metrics`)).text()))).join(
      '\n',
    );
    // Every registered metric has its `# TYPE` line, observed or not (a labelled counter has no sample
    // until its first increment); a histogram also serves `_bucket`, `_count` and `_sum`.
    const served = new Set<string>();
    for (const [, name, type] of scraped.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      served.add(name!);
      if (type === 'histogram')
        for (const suffix of ['_bucket', '_count', '_sum']) served.add(`${name}${suffix}`);
    }
    const used = new Set([...metricsIn(rules.map((r) => r.expr).join('\n')), ...metricsIn(dashboard)]);
    expect(used.size).toBeGreaterThan(8);
    const missing = [...used].filter((m) => !served.has(m));
    expect(missing).toEqual([]);
    // Readiness as a metric, evaluated at the scrape.
    expect(scraped).toMatch(/^hub_ready\{service="entity-writer"\} 1$/m);
    expect(scraped).toMatch(/^hub_readiness_check\{check="mongo",service="entity-writer"\} 1$/m);
  });
});
