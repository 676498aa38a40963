/** Values of the text format as JavaScript values: the few types the functions read. */

/** A result column: its name and the OID of its type. */
export interface Field {
  name: string;
  typeOid: number;
}

const BOOL = 16;
const INTEGERS = new Set([21, 23, 26]);
const FLOATS = new Set([700, 701]);
const JSON_TYPES = new Set([114, 3802]);
const TIMESTAMPS = new Set([1114, 1184]);

/**
 * Converts a text-format value: booleans, int2/int4/oid and floats, JSON and timestamps become
 * JavaScript values; everything else (int8 and numeric included, to stay exact) stays text.
 */
export function decodeValue(typeOid: number, text: string): unknown {
  if (typeOid === BOOL) return text === "t";
  if (INTEGERS.has(typeOid) || FLOATS.has(typeOid)) return Number(text);
  if (JSON_TYPES.has(typeOid)) return JSON.parse(text);
  if (TIMESTAMPS.has(typeOid)) return parseTimestamp(text, typeOid === 1184);
  return text;
}

const ISO_TIMESTAMP = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?([+-]\d\d(:\d\d){0,2})?$/;

/** `2026-11-24 21:42:50.123+00` (DateStyle ISO) as a Date. */
function parseTimestamp(text: string, withZone: boolean): Date | string {
  // Anything but ISO output (infinity, BC dates, another DateStyle) stays text.
  if (!ISO_TIMESTAMP.test(text)) return text;
  let iso = text.replace(" ", "T");
  let seconds = 0;
  if (withZone) {
    const match = /([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?$/.exec(iso);
    if (match) {
      seconds = (match[1] === "-" ? -1 : 1) * Number(match[4] ?? 0);
      iso = `${iso.slice(0, match.index)}${match[1]}${match[2]}:${match[3] ?? "00"}`;
    }
  } else iso += "Z";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? text : new Date(date.getTime() - seconds * 1000);
}
