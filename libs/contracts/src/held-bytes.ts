/**
 * What a JSON document costs a process that keeps it decoded, in bytes, estimated from its shape (ADR
 * 0015, decision 14): its bytes of JSON (strings are held at about one byte per byte), plus
 * `VALUE_BYTES` for each value (the slot that points to it) and `CONTAINER_BYTES` for each object or array
 * (its header). Bytes of JSON alone would let a document of empty objects (`[{},{},…]`, 3 bytes each,
 * ~60 bytes of heap each) take 20 times its size; with the overhead, heap stays within about its estimate
 * whatever the shape (measured: ADR 0015). Additive: a document's estimate is the sum of its parts'.
 */
export const VALUE_BYTES = 8;
export const CONTAINER_BYTES = 48;

/** Bytes of JSON of a value. */
export const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? '');

/** The overhead of a decoded value beyond its bytes of JSON: slots and object/array headers. */
export function decodedOverhead(value: unknown): number {
  let total = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === undefined) continue;
    total += VALUE_BYTES;
    if (v !== null && typeof v === 'object') {
      total += CONTAINER_BYTES;
      for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push(child);
    }
  }
  return total;
}

/** The estimate of what a value costs held decoded: its bytes of JSON plus `decodedOverhead`. */
export function heldBytes(value: unknown, jsonLength = jsonBytes(value)): number {
  return jsonLength + decodedOverhead(value);
}
