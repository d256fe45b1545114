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

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: XML_ATTRIBUTE_PREFIX,
  textNodeName: XML_TEXT_KEY,
  parseTagValue: false, // leaf values stay strings: leading zeros in ERP ids matter
  parseAttributeValue: false,
  processEntities: false, // no DTD entity is ever expanded
  ignoreDeclaration: true,
  ignorePiTags: true,
  trimValues: true,
});

/**
 * Turns an event payload into the JSON tree the mapping runs on (decision 9 of API_SCOPE.md):
 * JSON strings are parsed, objects used as they are; XML becomes a tree whose top-level key is the root
 * element, repeated elements become arrays, attributes are kept under `@_`, leaf values stay strings.
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
  const valid = XMLValidator.validate(payload);
  if (valid !== true) {
    throw new PayloadError(
      `payload is not valid XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`,
    );
  }
  try {
    return xml.parse(payload) as unknown;
  } catch (err) {
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
