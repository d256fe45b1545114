import { describe, expect, it } from 'vitest';
import { PayloadError, parsePayload, treeDepth } from './payload.js';

describe('parsePayload', () => {
  it('parses JSON strings and passes objects through', () => {
    expect(parsePayload('json', '{"a":1}')).toEqual({ a: 1 });
    expect(parsePayload('json', { a: 1 })).toEqual({ a: 1 });
    expect(() => parsePayload('json', '{"a":')).toThrow(PayloadError);
  });

  it('converts XML by the documented rules', () => {
    const tree = parsePayload(
      'xml',
      '<?xml version="1.0"?><Customer id="007"><No>00012</No><Email>a@b</Email><Email>c@d</Email></Customer>',
    );
    expect(tree).toEqual({ Customer: { '@_id': '007', No: '00012', Email: ['a@b', 'c@d'] } });
  });

  it('rejects DTDs and entity declarations', () => {
    const bomb = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><a>&lol;</a>';
    expect(() => parsePayload('xml', bomb)).toThrow(/DTD/);
    expect(() => parsePayload('xml', '<!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>')).toThrow(/DTD/);
  });

  it('says where malformed XML breaks', () => {
    expect(() => parsePayload('xml', '<a><b></a>')).toThrow(/line 1, column/);
  });
});

describe('deep payloads (issue 10)', () => {
  const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
  it('refuses JSON text and objects nested past 100 levels as a payload error, and counts brackets in strings as text', () => {
    expect(() => parsePayload('json', nested(100))).not.toThrow();
    expect(() => parsePayload('json', nested(5_000))).toThrow(PayloadError);
    expect(() => parsePayload('json', nested(5_000))).toThrow(/nested deeper than 100 levels/);
    expect(() => parsePayload('json', JSON.stringify({ a: '['.repeat(5_000) }))).not.toThrow();
    let deep: unknown = {};
    for (let i = 0; i < 5_000; i++) deep = { a: deep };
    expect(() => parsePayload('json', deep)).toThrow(PayloadError);
    expect(treeDepth(deep, 100)).toBe(101); // stops counting past the limit
  });

  it('refuses XML nested past the parser’s limit as a payload error, not a crash', () => {
    const xml = `${'<a>'.repeat(20_000)}x${'</a>'.repeat(20_000)}`;
    expect(() => parsePayload('xml', xml)).toThrow(PayloadError);
  });
});
