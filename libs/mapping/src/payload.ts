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
    if (typeof payload !== 'string') return payload;
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
  return xml.parse(payload) as unknown;
}
