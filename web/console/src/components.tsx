import { type ReactNode, useEffect, useId, useRef, useState } from 'react';
import { ApiError, problemsOf } from './api';
import { locate } from './json-path';

export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null;
  const text = error instanceof ApiError ? error.userMessage : String((error as Error).message ?? error);
  return (
    <p className="error" role="alert">
      {text}
    </p>
  );
}

export function Status({ value }: { value: string }) {
  return <span className={`status status-${value}`}>{value}</span>;
}

export function Json({ value }: { value: unknown }) {
  return <pre className="json">{JSON.stringify(value, null, 2)}</pre>;
}

export const time = (iso: string | null | undefined) =>
  iso
    ? new Date(iso)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '';

/** A button that asks once more before it does something that cannot be undone. */
export function ConfirmButton({ label, onConfirm }: { label: string; onConfirm: () => void }) {
  const [asking, setAsking] = useState(false);
  const confirm = useRef<HTMLButtonElement>(null);
  const ask = useRef<HTMLButtonElement>(null);
  const started = useRef(false);
  // Focus follows the question (and comes back when it is cancelled), so the keyboard is never lost.
  useEffect(() => {
    if (asking) confirm.current?.focus();
    else if (started.current) ask.current?.focus();
    started.current = true;
  }, [asking]);
  if (!asking)
    return (
      <button ref={ask} type="button" className="danger" onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  return (
    <span className="confirm">
      <button ref={confirm} type="button" className="danger" onClick={onConfirm}>
        Yes, {label.toLowerCase()}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

export interface Problem {
  path: string;
  message: string;
}

/**
 * The problems of a rejected configuration (a save's 400 or a simulation's 422), paths relative to the
 * configuration, so they can be found in the editor.
 */
export function configurationProblems(error: unknown): Problem[] | undefined {
  if (!(error instanceof ApiError)) return undefined;
  if (![400, 422].includes(error.status)) return undefined;
  if (!/CONFIGURATION|BAD_REQUEST/.test(error.code)) return undefined;
  return problemsOf(error.message).map((p) => ({
    path: p.path.replace(/^(body\.|event_configuration)?\.?(configuration)?\.?/, ''),
    message: p.message,
  }));
}

/** JSON text of a configuration, edited in a textarea, with the problems shown at their paths. */
export function ConfigEditor({
  label,
  text,
  onChange,
  problems,
  rows = 24,
}: {
  label: string;
  text: string;
  onChange: (text: string) => void;
  problems?: Problem[];
  rows?: number;
}) {
  const id = useId();
  const area = useRef<HTMLTextAreaElement>(null);
  let syntax: string | undefined;
  try {
    JSON.parse(text);
  } catch (err) {
    syntax = (err as Error).message;
  }
  const goTo = (offset: number) => {
    const el = area.current;
    if (!el) return;
    el.focus();
    const end = text.indexOf('\n', offset);
    el.setSelectionRange(offset, end < 0 ? text.length : end);
  };
  return (
    <div className="editor">
      <label htmlFor={id}>{label}</label>
      <textarea
        id={id}
        ref={area}
        value={text}
        rows={rows}
        spellCheck={false}
        aria-invalid={!!syntax || !!problems?.length}
        onChange={(e) => onChange(e.target.value)}
      />
      {syntax && (
        <p className="error" role="alert">
          Not valid JSON: {syntax}
        </p>
      )}
      {problems && problems.length > 0 && (
        <div className="problems" role="alert">
          <p>
            {problems.length} problem{problems.length > 1 ? 's' : ''} in the configuration:
          </p>
          <ul>
            {problems.map((p) => {
              const at = locate(text, p.path);
              return (
                <li key={`${p.path}:${p.message}`}>
                  <button type="button" className="link" disabled={!at} onClick={() => at && goTo(at.offset)}>
                    <code>{p.path || '(configuration)'}</code>
                    {at ? ` (line ${at.line})` : ''}
                  </button>
                  : {p.message}
                </li>
              );
            })}
          </ul>
        </div>
      )}
    </div>
  );
}

export function Section({
  title,
  children,
  actions,
}: {
  title: string;
  children: ReactNode;
  actions?: ReactNode;
}) {
  return (
    <section>
      <div className="section-head">
        <h2>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}
