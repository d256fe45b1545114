import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** The event's payload is not valid JSON/XML: the event gets `error`, the rest of the request goes on. */
export class PayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadError';
  }
}

/** Attributes of an XML element are kept under keys with this prefix: `<Meter id="7"/>` -> `{"@_id": "7"}`. */
export const XML_ATTRIBUTE_PREFIX = '@_';
/** Text of an element that also has attributes or children: `<No type="x">12</No>` -> `{"#text": "12", ...}`. */
export const XML_TEXT_KEY = '#text';

/** The five entities XML predefines (XML 1.0 §4.6); no other name is ever expanded. */
const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const REFERENCE = /&(?:#x([0-9A-Fa-f]+)|#([0-9]+)|([A-Za-z_:][\w.:-]*));/g;

/** Whether a code point is a `Char` of XML 1.0 (§2.2): what a character reference may name. */
const isXmlChar = (c: number) =>
  c === 0x9 ||
  c === 0xa ||
  c === 0xd ||
  (c >= 0x20 && c <= 0xd7ff) ||
  (c >= 0xe000 && c <= 0xfffd) ||
  (c >= 0x10000 && c <= 0x10ffff);

/**
 * Decodes text and attribute values as XML defines them: the five predefined entities and decimal / hex
 * character references. A reference to any other entity is an error (XML: "undeclared entity"), since
 * DTDs, the only place entities are declared, are refused. Exported for tests.
 */
export function decodeXmlText(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(REFERENCE, (whole, hex: string | undefined, dec: string | undefined, name?: string) => {
    if (name !== undefined) {
      const value = PREDEFINED[name];
      if (value === undefined) {
        throw new PayloadError(
          `payload is not valid XML: undeclared entity ${whole} (only &amp; &lt; &gt; &quot; &apos; and character references are allowed; DTDs are not accepted)`,
        );
      }
      return value;
    }
    const code = hex !== undefined ? Number.parseInt(hex, 16) : Number(dec);
    if (!isXmlChar(code)) {
      throw new PayloadError(`payload is not valid XML: ${whole} is not a character XML allows`);
    }
    return String.fromCodePoint(code);
  });
}

/**
 * fast-xml-parser's entity hook: decodes as `decodeXmlText` and refuses any entity a DOCTYPE would
 * declare (a second wall behind the DOCTYPE check in `parsePayload`: the parser reads a DOCTYPE's
 * entities only to hand them to this decoder). CDATA sections never reach it: they stay text as written.
 */
const xmlEntities = {
  decode: decodeXmlText,
  addInputEntities(entities: Record<string, unknown>) {
    if (Object.keys(entities).length > 0)
      throw new PayloadError('payload declares entities; DTDs are not accepted');
  },
  setExternalEntities() {
    throw new PayloadError('external entities are not accepted');
  },
  reset() {},
  setXmlVersion() {},
};

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: XML_ATTRIBUTE_PREFIX,
  textNodeName: XML_TEXT_KEY,
  parseTagValue: false, // leaf values stay strings: leading zeros in ERP ids matter
  parseAttributeValue: false,
  // Text and attribute values decoded as XML defines (predefined entities, character references);
  // a DTD entity is never expanded (see xmlEntities and the DOCTYPE check below).
  processEntities: true,
  entityDecoder: xmlEntities,
  ignoreDeclaration: true,
  ignorePiTags: true,
  trimValues: true,
});

/**
 * Turns an event payload into the JSON tree the mapping runs on (decision 9 of API_SCOPE.md):
 * JSON strings are parsed, objects used as they are; XML becomes a tree whose top-level key is the root
 * element, repeated elements become arrays, attributes are kept under `@_`, leaf values stay strings.
 * Text and attribute values are decoded (`&amp;` -> `&`, `&#252;` -> `ü`); CDATA is kept as written.
 * DTDs are rejected outright, so no internal or external entity is ever resolved.
 */
export function parsePayload(format: 'json' | 'xml', payload: unknown): unknown {
  if (format === 'json') {
    if (typeof payload !== 'string') {
      if (treeDepth(payload, MAX_PAYLOAD_DEPTH) > MAX_PAYLOAD_DEPTH) throw tooDeep();
      return payload;
    }
    if (textDepth(payload) > MAX_PAYLOAD_DEPTH) throw tooDeep();
    try {
      return JSON.parse(payload);
    } catch (err) {
      throw new PayloadError(`payload is not valid JSON: ${(err as Error).message}`);
    }
  }
  if (typeof payload !== 'string') throw new PayloadError('an xml payload must be a string');
  if (/<!DOCTYPE/i.test(payload) || /<!ENTITY/i.test(payload)) {
    throw new PayloadError('payload contains a DTD (<!DOCTYPE or <!ENTITY); DTDs are not accepted');
  }
  return xmlTree(payload);
}

/**
 * Validates and converts XML text (after `parsePayload`'s DOCTYPE check; exported so a test can show
 * that the parser alone refuses DTD entities too).
 */
export function xmlTree(payload: string): unknown {
  const valid = XMLValidator.validate(payload);
  if (valid !== true) {
    throw new PayloadError(
      `payload is not valid XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`,
    );
  }
  try {
    return xml.parse(payload) as unknown;
  } catch (err) {
    if (err instanceof PayloadError) throw err;
    // e.g. "Maximum nested tags exceeded": a problem of this payload, never of the request
    throw new PayloadError(`payload is not valid XML: ${(err as Error).message}`);
  }
}

/**
 * How deep a payload may nest (objects and arrays, or XML elements). ERP documents are a few levels deep;
 * thousands of levels only exhaust the stack of whatever walks them (serialising, mapping, storing).
 */
export const MAX_PAYLOAD_DEPTH = 100;

const tooDeep = () =>
  new PayloadError(`payload is nested deeper than ${MAX_PAYLOAD_DEPTH} levels (objects, arrays or elements)`);

/** The nesting depth of a parsed value, counted without recursion; stops counting past `limit`. */
export function treeDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (!v || typeof v !== 'object') continue;
    const d = depth + 1;
    if (d > deepest) deepest = d;
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d]);
  }
  return deepest;
}

/** The nesting depth of JSON text: brackets outside strings, in one pass. */
function textDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false; // "
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > deepest) deepest = depth; // [ {
    } else if (c === 93 || c === 125) depth--; // ] }
  }
  return deepest;
}
