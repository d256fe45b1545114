import { describe, expect, it } from 'vitest';
import { decodeXmlText, PayloadError, parsePayload, treeDepth, xmlTree } from './payload.js';

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

  // Issue 20: text and attribute values as XML defines them.
  const idoc = `<?xml version="1.0" encoding="UTF-8"?>
<DEBMAS06>
  <IDOC BEGIN="1">
    <EDI_DC40 SEGMENT="1"><DOCNUM>0000000004711</DOCNUM><MESTYP>DEBMAS</MESTYP></EDI_DC40>
    <E1KNA1M SEGMENT="1">
      <KUNNR>0000100042</KUNNR>
      <NAME1>M&#252;ller &amp; S&#xF6;hne GmbH</NAME1>
      <NAME2><![CDATA[Abt. <Einkauf> & Co &amp; bleibt]]></NAME2>
      <ORT01 LANG="D&#xFC;sseldorf &quot;Altstadt&quot;">D&#252;sseldorf</ORT01>
      <STRAS>K&#246;nigsallee 1 &lt;2. OG&gt; &apos;Hinterhaus&apos;</STRAS>
      <E1KNVVM SEGMENT="1"><VKORG>1000</VKORG><VTWEG>10</VTWEG></E1KNVVM>
      <E1KNVVM SEGMENT="1"><VKORG>2000</VKORG><VTWEG>20</VTWEG></E1KNVVM>
    </E1KNA1M>
  </IDOC>
</DEBMAS06>`;

  it('decodes the predefined entities and character references in an IDoc, keeps CDATA as written and repeated segments as arrays', () => {
    const tree = parsePayload('xml', idoc) as { DEBMAS06: { IDOC: Record<string, unknown> } };
    const kna1 = tree.DEBMAS06.IDOC.E1KNA1M as Record<string, unknown>;
    expect(tree.DEBMAS06.IDOC['@_BEGIN']).toBe('1');
    expect(kna1.KUNNR).toBe('0000100042');
    expect(kna1.NAME1).toBe('Müller & Söhne GmbH');
    expect(kna1.NAME2).toBe('Abt. <Einkauf> & Co &amp; bleibt');
    expect(kna1.ORT01).toEqual({ '#text': 'Düsseldorf', '@_LANG': 'Düsseldorf "Altstadt"' });
    expect(kna1.STRAS).toBe("Königsallee 1 <2. OG> 'Hinterhaus'");
    expect(kna1.E1KNVVM).toEqual([
      { '@_SEGMENT': '1', VKORG: '1000', VTWEG: '10' },
      { '@_SEGMENT': '1', VKORG: '2000', VTWEG: '20' },
    ]);
  });

  it('decodes the issue’s example exactly once (no double decoding of &amp;lt;)', () => {
    const tree = parsePayload(
      'xml',
      '<C><N>A &amp; B &lt;x&gt; &quot;q&quot; &apos;s&apos; M&#252;ller M&#xFC;ller &amp;lt;</N></C>',
    );
    expect(tree).toEqual({ C: { N: `A & B <x> "q" 's' Müller Müller &lt;` } });
  });

  it('refuses references to undeclared entities and to characters XML does not allow', () => {
    expect(() => parsePayload('xml', '<a>&nbsp;</a>')).toThrow(/undeclared entity &nbsp;/);
    expect(() => parsePayload('xml', '<a b="&lol;"/>')).toThrow(PayloadError);
    expect(() => parsePayload('xml', '<a>&#0;</a>')).toThrow(/&#0; is not a character XML allows/);
    expect(() => parsePayload('xml', '<a>&#x110000;</a>')).toThrow(PayloadError);
    expect(decodeXmlText('&#x1F600; &#128512;')).toBe('😀 😀');
  });

  it('refuses a billion-laughs payload and external entities even past the DOCTYPE check (the parser’s own entity hook)', () => {
    const laughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<lolz>&lol3;</lolz>`;
    expect(() => parsePayload('xml', laughs)).toThrow(/DTD/);
    expect(() => xmlTree(laughs)).toThrow(PayloadError);
    expect(() => xmlTree(laughs)).toThrow(/entities|undeclared/);
    const external =
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><x>&xxe;</x>';
    expect(() => parsePayload('xml', external)).toThrow(/DTD/);
    expect(() => xmlTree(external)).toThrow(PayloadError);
    expect(() => xmlTree('<!DOCTYPE x><x>&amp;</x>')).not.toThrow(); // a DOCTYPE without entities declares nothing
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
