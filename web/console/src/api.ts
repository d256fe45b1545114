// The public API on the console's own origin, with the user's token. The token lives in session storage
// only: it goes when the tab goes, and it is never put in a URL the server sees.

const TOKEN_KEY = 'hub.console.token';

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (value: string) => sessionStorage.setItem(TOKEN_KEY, value.trim()),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/**
 * `#token=<jwt>` (the link `npm start` prints): removed from the address bar and history at once. In a tab
 * that is not signed in, it signs in (`'signed-in'`). In a tab already signed in with another token it
 * changes nothing by itself (`'pending'`): a link must not silently switch a person to another organisation
 * (login CSRF); the console asks, and `acceptPendingToken` switches.
 */
export function takeTokenFromFragment(): 'signed-in' | 'pending' | false {
  const match = /^#token=([^&]+)/.exec(window.location.hash);
  if (!match?.[1]) return false;
  window.history.replaceState(null, '', `${window.location.pathname}#/`);
  const offered = decodeURIComponent(match[1]).trim();
  const current = token.get();
  if (current !== null && current !== offered) {
    pendingToken = offered;
    return 'pending';
  }
  token.set(offered);
  return 'signed-in';
}

/** A token a link offered while another one was in use (memory only, never stored). */
let pendingToken: string | undefined;
export const pending = {
  get: (): string | undefined => pendingToken,
  accept: (): void => {
    if (pendingToken !== undefined) token.set(pendingToken);
    pendingToken = undefined;
  },
  dismiss: (): void => {
    pendingToken = undefined;
  },
};

/** What the token says about itself (not verified here: the services verify it on every call). */
export function tokenClaims(value: string): { org?: string; grants?: string[]; exp?: number } | undefined {
  try {
    const part = value.split('.')[1] ?? '';
    const json = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/')));
    return { org: json.org_id, grants: json.grants, exp: json.exp };
  } catch {
    return undefined;
  }
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  /** What to tell the user, in their words. */
  get userMessage(): string {
    if (this.status === 401) return `Your token is missing or expired (${this.message}). Sign in again.`;
    if (this.status === 403) {
      const grant = /grant (\S+)/.exec(this.message)?.[1];
      return grant
        ? `Your token lacks the grant ${grant}: ask for a token that has it.`
        : `Not allowed: ${this.message}`;
    }
    return `${this.message}${this.code ? ` (${this.code})` : ''}`;
  }
}

type Listener = (error: ApiError) => void;
const authListeners = new Set<Listener>();
/** Called on every 401, so the app can send the user back to sign-in. */
export function onUnauthorized(listener: Listener): () => void {
  authListeners.add(listener);
  return () => authListeners.delete(listener);
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  const current = token.get();
  if (current) headers.authorization = `Bearer ${current}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  if (!res.ok) {
    const problem = (parsed ?? {}) as { code?: string; message?: string };
    const error = new ApiError(
      res.status,
      problem.code ?? '',
      problem.message ?? (typeof parsed === 'string' && parsed ? parsed : `HTTP ${res.status}`),
    );
    if (res.status === 401) for (const l of authListeners) l(error);
    throw error;
  }
  return parsed as T;
}

/** "invalid configuration: a.b[0]: must be x; c: ..." → one problem per path. */
export function problemsOf(message: string): Array<{ path: string; message: string }> {
  const list = message.replace(/^invalid configuration:\s*/, '');
  return list.split(/;\s+(?=[\w$.[\]-]+: )/).map((item) => {
    const at = item.indexOf(': ');
    return at > 0 ? { path: item.slice(0, at), message: item.slice(at + 2) } : { path: '', message: item };
  });
}

export interface Integration {
  id: string;
  name: string;
  description?: string;
  created_at?: string;
  updated_at?: string;
}

export interface UseCase {
  id: string;
  integration_id: string;
  name: string;
  slug: string;
  type: string;
  enabled: boolean;
  configuration?: unknown;
  change_description?: string;
  created_at?: string;
  updated_at?: string;
  /** Ours (ADR 0015): `quarantined` while the hub parks the events of this configuration. */
  status?: 'active' | 'quarantined';
  quarantined_since?: string;
  quarantine_code?: string;
  quarantine_reason?: string;
}

export interface HistoryEntry extends UseCase {
  history_created_at: string;
}

export interface SimulationResponse {
  entity_updates: Array<{
    entity_slug: string;
    unique_identifiers: Record<string, unknown>;
    attributes: Record<string, unknown>;
    mode?: string;
  }>;
  meter_readings_updates: unknown[];
  prune_scope_updates?: unknown[];
  meter_readings_prune_scope_updates?: unknown[];
  warnings?: unknown[];
}

export interface StoredEvent {
  event_id: string;
  event_time: string;
  format: 'json' | 'xml';
  payload: string;
  correlation_id: string;
  use_case_id?: string;
  object_type?: string;
  status: string;
  message?: string;
}

/** An event's final outcome (v1 inbound monitoring events). */
export interface InboundOutcome {
  id: string;
  event_id: string;
  correlation_id: string | null;
  use_case_id: string | null;
  object_type: string;
  status: string;
  error_code: string | null;
  error_message: string | null;
  processing_duration_ms: number | null;
  received_at: string;
  completed_at: string;
  stage: string;
}

/** A monitoring record: one span of an event's life. */
export interface Span {
  id: string;
  event_id: string;
  correlation_id: string;
  use_case_id: string;
  level: string;
  code: string;
  message: string;
  detail: Record<string, unknown> | null;
  created_at: string;
  stage: string;
  final: boolean;
  received_at?: string;
  duration_ms?: number;
}

export interface Trace {
  correlation_id: string;
  status: string;
  started_at: string | null;
  ended_at: string | null;
  span_count: number;
  truncated: boolean;
  spans: Span[];
  inbound_event: StoredEvent | null;
}

export const paths = {
  integrations: '/v1/integrations',
  integration: (id: string) => `/v1/integrations/${encodeURIComponent(id)}`,
  casesOf: (id: string) => `/v1/integrations/${encodeURIComponent(id)}/use-cases`,
  caseOf: (id: string, uc: string) =>
    `/v1/integrations/${encodeURIComponent(id)}/use-cases/${encodeURIComponent(uc)}`,
  history: (id: string, uc: string) =>
    `/v1/integrations/${encodeURIComponent(id)}/use-cases/${encodeURIComponent(uc)}/history`,
  simulate: '/v2/erp/updates/mapping_simulation',
  events: (id: string) => `/v1/integrations/${encodeURIComponent(id)}/events`,
  replay: (id: string) => `/v1/integrations/${encodeURIComponent(id)}/events/replay`,
  outcomes: (id: string) => `/v1/integrations/${encodeURIComponent(id)}/monitoring/inbound-events`,
  associated: (id: string, eventId: string) =>
    `/v2/integrations/${encodeURIComponent(id)}/monitoring/events/${encodeURIComponent(eventId)}/associated`,
  trace: (id: string, correlationId: string) =>
    `/v2/integrations/${encodeURIComponent(id)}/monitoring/traces/${encodeURIComponent(correlationId)}`,
  statsV2: (id: string) => `/v2/integrations/${encodeURIComponent(id)}/monitoring/stats`,
  timeSeriesV1: (id: string) => `/v1/integrations/${encodeURIComponent(id)}/monitoring/timeseries`,
  pipeline: '/v2/hub/pipeline',
  entity: (slug: string, id: string) => `/v1/entity/${encodeURIComponent(slug)}/${encodeURIComponent(id)}`,
};
