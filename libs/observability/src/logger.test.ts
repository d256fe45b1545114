import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

describe('createLogger', () => {
  it('prints only each line’s own fields (nothing carried over from earlier lines)', () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()));
        done();
      },
    });
    const logger = createLogger({ service: 'log-test', level: 'info' }, sink);
    logger.info({ broker: '127.0.0.1:9092', memberAssignment: [1, 3] }, 'first');
    logger.child({ component: 'mongo' }).warn('second');
    expect(lines[1]).toMatchObject({ service: 'log-test', component: 'mongo', msg: 'second' });
    expect(lines[1]).not.toHaveProperty('broker');
    expect(lines[1]).not.toHaveProperty('memberAssignment');
  });
});
