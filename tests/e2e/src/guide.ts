import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface GuideRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The getting-started guide users start from: the team's shared copy when present, else ours (docs/). */
export function guideText(): string {
  const shared = path.resolve(repoRoot, '../shared/docs/GETTING_STARTED.md');
  return readFileSync(existsSync(shared) ? shared : path.join(repoRoot, 'docs/GETTING_STARTED.md'), 'utf8');
}

/** Every `curl` command of the guide, parsed as written (method, URL, headers, body). */
export function guideRequests(text = guideText()): GuideRequest[] {
  const requests: GuideRequest[] = [];
  const re = /curl -X (\w+) '([^']+)'((?:\s*\\\s*-H '[^']+')*)\s*\\\s*-d '([\s\S]*?)'/g;
  for (const m of text.matchAll(re)) {
    const headers: Record<string, string> = {};
    for (const h of m[3]!.matchAll(/-H '([^:]+):\s*([^']*)'/g)) headers[h[1]!.toLowerCase()] = h[2]!;
    requests.push({ method: m[1]!, url: m[2]!, headers, body: m[4]! });
  }
  return requests;
}

/** The example responses of the guide: the JSON object after each "Response:" line. */
export function guideResponses(text = guideText()): unknown[] {
  const out: unknown[] = [];
  let from = 0;
  for (;;) {
    const at = text.indexOf('Response:', from);
    if (at < 0) return out;
    const start = text.indexOf('{', at);
    let depth = 0;
    let end = start;
    for (; end < text.length; end++) {
      if (text[end] === '{') depth++;
      else if (text[end] === '}' && --depth === 0) break;
    }
    out.push(JSON.parse(text.slice(start, end + 1)));
    from = end;
  }
}
