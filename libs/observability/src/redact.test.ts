import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { redactValues } from './redact.js';

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, logger: createLogger({ service: 'redact-test', level: 'info' }, sink) };
}

describe('log lines without values (issue 19, item 10)', () => {
  it('redacts the values an error message quotes, keeping names and codes', () => {
    expect(
      redactValues('2+ entities match contact {"customer_number":"C-778","email":"ada@example.com"}'),
    ).toBe('2+ entities match contact {"customer_number":<redacted>,"email":<redacted>}');
    expect(redactValues('value "C-778" must be a number')).toBe('value "<redacted>" must be a number');
    expect(redactValues('unique id "email" has no value in this event')).toBe(
      'unique id "email" has no value in this event',
    );
    expect(redactValues('E11000 duplicate key error index: k_1 dup key: { k: "org|contact|C-778" }')).toBe(
      'E11000 duplicate key error index: k_1 dup key: <redacted>',
    );
    expect(redactValues('mail to ada@example.com bounced')).toBe('mail to <redacted> bounced');
    // Where the hub could not connect stays readable; a value after a name does not.
    expect(redactValues('connect ECONNREFUSED 127.0.0.1:21017')).toBe('connect ECONNREFUSED 127.0.0.1:21017');
    expect(redactValues('connection 3 to localhost:27017 closed')).toBe(
      'connection 3 to localhost:27017 closed',
    );
    expect(redactValues('meter_number: 123456')).toBe('meter_number: <redacted>');
  });

  it("logs an error's message, stack and cause without the values, and none of its other properties", () => {
    const { lines, logger } = capture();
    const driver = Object.assign(
      new Error('E11000 duplicate key error dup key: { email: "ada@example.com" }'),
      {
        code: 11000,
        keyValue: { email: 'ada@example.com' },
        errorResponse: { errmsg: 'dup key: { email: "ada@example.com" }' },
      },
    );
    const err = Object.assign(
      new Error('entity update e:0: 2+ entities match contact {"customer_number":"C-778"}', {
        cause: driver,
      }),
      { code: 'AMBIGUOUS_LOOKUP' },
    );
    logger.error({ err, eventId: 'evt_1' }, 'entity update dead-lettered');
    const line = lines.join('');
    expect(line).not.toContain('C-778');
    expect(line).not.toContain('ada@example.com');
    const parsed = JSON.parse(line);
    expect(parsed.err).toMatchObject({
      code: 'AMBIGUOUS_LOOKUP',
      message: expect.stringContaining('"customer_number":<redacted>'),
      cause: { code: 11000, message: expect.stringContaining('dup key') },
    });
    expect(parsed.err.stack).toMatch(/\n\s+at /);
    expect(parsed.eventId).toBe('evt_1');
  });
});
