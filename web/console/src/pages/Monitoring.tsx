import { useEffect, useId, useRef, useState } from 'react';
import uPlot from 'uplot';
import { api, paths, token, tokenClaims } from '../api';
import { ErrorMessage, Section, time } from '../components';
import { useLoad } from '../hooks';
import { IntegrationNav } from './IntegrationNav';

const RANGES = {
  '1h': { label: 'last hour', ms: 3_600_000, interval: '5m' },
  '24h': { label: 'last 24 hours', ms: 86_400_000, interval: '1h' },
  '7d': { label: 'last 7 days', ms: 7 * 86_400_000, interval: '1d' },
} as const;
type RangeKey = keyof typeof RANGES;

const LEVELS = [
  ['success', '#1b7f3b'],
  ['error', '#b3261e'],
  ['warning', '#9a6700'],
  ['skipped', '#5f6b7a'],
] as const;

interface StatsV1 {
  inbound: {
    total_events: number;
    total_correlations: number;
    success_count: number;
    error_count: number;
    warning_count: number;
    skipped_count: number;
    success_rate: number;
    last_error_at: string | null;
  };
}
interface StatsByCode {
  breakdown?: Array<{ code: string; total_events: number; error_count: number }>;
}
interface Pipeline {
  measured_at: string;
  consumer_groups: Array<{
    group: string;
    topic: string;
    lag: number;
    partitions: Array<{ partition: number; lag: number }>;
  }>;
  dead_letters: { topic: string; retained: number };
}
interface Series {
  buckets: Array<{
    timestamp: string;
    inbound: Record<'success_count' | 'error_count' | 'warning_count' | 'skipped_count', number> | null;
  }>;
}

export function MonitoringPage({ integrationId }: { integrationId: string }) {
  const id = useId();
  const [range, setRange] = useState<RangeKey>('24h');
  const operator = tokenClaims(token.get() ?? '')?.grants?.includes('hub:operate') ?? false;
  const data = useLoad(async () => {
    const { ms, interval } = RANGES[range];
    const from = new Date(Date.now() - ms).toISOString();
    const [stats, codes, series, pipeline] = await Promise.all([
      api<StatsV1>('POST', `${paths.integration(integrationId)}/monitoring/stats`, { from_date: from }),
      api<StatsByCode>('POST', paths.statsV2(integrationId), { from_date: from, group_by: 'code' }),
      api<Series>('POST', paths.timeSeriesV1(integrationId), {
        from_date: from,
        interval,
        direction: 'inbound',
      }),
      // The pipeline's figures are the operator's (grant hub:operate): not asked for with another token.
      operator ? api<Pipeline>('GET', paths.pipeline) : Promise.resolve(undefined),
    ]);
    return { stats: stats.inbound, codes, series, pipeline };
  }, `${integrationId}:${range}`);

  const errors = (data.data?.codes.breakdown ?? [])
    .filter((b) => b.code && b.error_count > 0)
    .sort((a, b) => b.error_count - a.error_count);
  const top = Math.max(1, ...errors.map((e) => e.error_count));
  const s = data.data?.stats;
  return (
    <>
      <IntegrationNav integrationId={integrationId} current="Monitoring" />
      <h1>Monitoring</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label htmlFor={`${id}-range`}>Period</label>
        <select id={`${id}-range`} value={range} onChange={(e) => setRange(e.target.value as RangeKey)}>
          {Object.entries(RANGES).map(([k, r]) => (
            <option key={k} value={k}>
              {r.label}
            </option>
          ))}
        </select>
        <button type="button" onClick={data.reload}>
          Refresh
        </button>
      </form>
      <ErrorMessage error={data.error} />
      {s && (
        <dl className="stats">
          <div>
            <dt>Outcomes</dt>
            <dd>{s.total_events}</dd>
          </div>
          <div>
            <dt>Success</dt>
            <dd>{s.success_count}</dd>
          </div>
          <div>
            <dt>Errors</dt>
            <dd>{s.error_count}</dd>
          </div>
          <div>
            <dt>Warnings</dt>
            <dd>{s.warning_count}</dd>
          </div>
          <div>
            <dt>Skipped</dt>
            <dd>{s.skipped_count}</dd>
          </div>
          <div>
            <dt>Success rate</dt>
            <dd>{s.success_rate}%</dd>
          </div>
          <div>
            <dt>Last error</dt>
            <dd>{s.last_error_at ? time(s.last_error_at) : 'none'}</dd>
          </div>
        </dl>
      )}
      <Section title="Outcomes by status over time">
        {data.data && <Chart series={data.data.series} />}
      </Section>
      <Section title="Errors by code">
        {data.data && errors.length === 0 && <p>No errors in this period.</p>}
        <ul className="bars" aria-label="Errors by code">
          {errors.map((e) => (
            <li key={e.code}>
              <code>{e.code}</code>
              <span className="bar" style={{ width: `${(e.error_count / top) * 100}%` }} />
              <span>{e.error_count}</span>
            </li>
          ))}
        </ul>
      </Section>
      {data.data?.pipeline && <PipelineSection pipeline={data.data.pipeline} />}
    </>
  );
}

/** The hub's own pipeline, shared by every organisation: what each consumer group has yet to process. */
function PipelineSection({ pipeline }: { pipeline: Pipeline }) {
  return (
    <Section title="Pipeline (all organisations)">
      <table aria-label="Consumer lag">
        <thead>
          <tr>
            <th scope="col">Consumer group</th>
            <th scope="col">Topic</th>
            <th scope="col">Messages behind</th>
            <th scope="col">Partitions</th>
          </tr>
        </thead>
        <tbody>
          {pipeline.consumer_groups.map((g) => (
            <tr key={g.group}>
              <td>
                <code>{g.group}</code>
              </td>
              <td>
                <code>{g.topic}</code>
              </td>
              <td>{g.lag}</td>
              <td>{g.partitions.map((p) => `${p.partition}: ${p.lag}`).join(' · ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        Dead letters retained on <code>{pipeline.dead_letters.topic}</code>:{' '}
        <strong>{pipeline.dead_letters.retained}</strong>
      </p>
      <p className="hint">
        Measured on the broker at {time(pipeline.measured_at)}; the same figures as the services'{' '}
        <code>hub_consumer_lag</code> gauges. Per-service <code>hub_dead_letters_total</code> counts are in
        the Grafana dashboard (<code>deploy/grafana</code>).
      </p>
    </Section>
  );
}

function Chart({ series }: { series: Series }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const xs = series.buckets.map((b) => Date.parse(b.timestamp) / 1000);
    const ys = LEVELS.map(([level]) =>
      series.buckets.map((b) => b.inbound?.[`${level}_count` as keyof NonNullable<typeof b.inbound>] ?? 0),
    );
    const plot = new uPlot(
      {
        width: Math.max(320, el.clientWidth),
        height: 240,
        series: [
          {},
          ...LEVELS.map(([label, stroke]) => ({ label, stroke, width: 2, points: { show: true } })),
        ],
        axes: [{}, { label: 'outcomes' }],
      },
      [xs, ...ys],
      el,
    );
    return () => plot.destroy();
  }, [series]);
  return <div ref={box} className="chart" role="img" aria-label="Outcomes by status over time" />;
}
