import { describe, expect, it } from 'vitest';
import { PayloadError, parsePayload } from './payload.js';

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
