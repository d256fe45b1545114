// Where a validation problem's path (`entities[0].fields[2].attribute`) is in the JSON text being edited, so
// the editor can show the line and put the cursor there.

type Step = string | number;

export function parsePath(path: string): Step[] {
  const steps: Step[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (m[2] !== undefined) steps.push(Number(m[2]));
    else if (m[1] !== undefined) steps.push(m[1]);
  }
  return steps;
}

const key = (steps: Step[]) => JSON.stringify(steps);

/** The offset of every value in `text`, by path; undefined if the text is not JSON. */
function offsets(text: string): Map<string, number> | undefined {
  const found = new Map<string, number>();
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i] ?? '')) i++;
  };
  const str = () => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (at: Step[]): void => {
    ws();
    found.set(key(at), i);
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        const name = str();
        ws();
        i++; // :
        value([...at, name]);
        ws();
        if (text[i++] === '}') return;
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        value([...at, n]);
        ws();
        if (text[i++] === ']') return;
      }
    }
    if (c === '"') {
      str();
      return;
    }
    while (i < text.length && /[^,\]}\s]/.test(text[i] ?? '')) i++;
  };
  try {
    JSON.parse(text);
    value([]);
    return found;
  } catch {
    return undefined;
  }
}

/** The 1-based line and offset of the deepest part of `path` present in `text`. */
export function locate(text: string, path: string): { line: number; offset: number } | undefined {
  const map = offsets(text);
  if (!map) return undefined;
  const steps = parsePath(path);
  for (let n = steps.length; n >= 0; n--) {
    const offset = map.get(key(steps.slice(0, n)));
    if (offset !== undefined) return { line: text.slice(0, offset).split('\n').length, offset };
  }
  return undefined;
}
