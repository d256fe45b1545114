import jsonata from 'jsonata';

export interface CompiledExpression {
  source: string;
  evaluate(input: unknown, root: unknown): Promise<unknown>;
}

export class ExpressionError extends Error {
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(message);
    this.name = 'ExpressionError';
  }
}

export interface ExpressionLimits {
  /** Wall-clock budget of one evaluation. */
  timeoutMs: number;
  /** Maximum evaluation depth (guards runaway recursion). */
  maxDepth: number;
}

export const DEFAULT_LIMITS: ExpressionLimits = { timeoutMs: 500, maxDepth: 500 };

/**
 * Compiles a JSONata expression once. Every evaluation runs under jsonata's own guardrails (a time
 * budget and a stack-depth limit, counted per evaluation so one compiled expression can run
 * concurrently). `$root` is bound to the whole payload, so an expression evaluated against one array
 * element can still reach it. Nothing else from outside the input is visible.
 */
export function compileExpression(
  source: string,
  limits: ExpressionLimits = DEFAULT_LIMITS,
): CompiledExpression {
  let expr: jsonata.Expression;
  try {
    expr = jsonata(source, { timeout: limits.timeoutMs, stack: limits.maxDepth } as jsonata.JsonataOptions);
  } catch (err) {
    throw new ExpressionError(source, describe(err));
  }
  return {
    source,
    async evaluate(input, root) {
      try {
        return normalise(await expr.evaluate(input, { root }));
      } catch (err) {
        throw new ExpressionError(source, describe(err));
      }
    },
  };
}

/** JSONata returns arrays with extra markers (`sequence`); make results plain JSON-like values. */
function normalise(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalise);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    if (typeof value === 'function') return undefined;
    // fromEntries defines each key: a payload key `__proto__` stays a key instead of setting a prototype.
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v)]));
  }
  return value;
}

function describe(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { message?: string; code?: string; position?: number; token?: string };
    const where = e.position !== undefined ? ` at position ${e.position}` : '';
    return `${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}${where}`;
  }
  return String(err);
}
