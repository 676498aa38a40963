/**
 * SQL text with values written in as literals, and the type that marks it: the pool sends only
 * {@link SqlText}, which only {@link statement} makes, so a value can reach the server only
 * through {@link literal}.
 */

declare const sqlTextBrand: unique symbol;

/** SQL text whose every value was written by {@link literal}; made only by {@link statement}. */
export type SqlText = string & { readonly [sqlTextBrand]: true };

/** A value {@link literal} can write. */
export type SqlValue = string | number | boolean | Date | null | readonly string[];

/**
 * Writes a value as a SQL literal that no neighbouring text can change the meaning of. Numbers,
 * dates and arrays are parenthesised (`1 -${-1}` is `1 -(-1)`, never the comment `1 --1`).
 * Strings take the `E'...'` form with backslashes and quotes doubled, which reads back the same
 * whatever `standard_conforming_strings` is; NUL, which text cannot hold, is refused rather than
 * cut, and so are numbers SQL cannot write (NaN, infinities).
 */
export function literal(value: SqlValue): string {
  if (value === null) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`Not a finite number: ${value}`);
    // String() writes the shortest digits that read back as the same double (exponent and all,
    // "1e-7", "1.5e+300"), which SQL reads as an exact numeric; -0 is written as 0.
    return `(${String(value)})`;
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new TypeError("Invalid date");
    return `('${value.toISOString()}'::timestamptz)`;
  }
  if (typeof value === "string") {
    if (value.includes("\0")) throw new TypeError("A SQL text value cannot hold NUL");
    return `E'${value.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
  }
  return `(array[${value.map(literal).join(", ")}]::text[])`;
}

/**
 * Builds SQL text with every interpolated value written by {@link literal}. Such text goes out
 * with the simple protocol: one round trip, several statements allowed, and nothing left on the
 * server between transactions, which Supabase's transaction pooler requires. Fixed text with no
 * values is a statement too: statement`commit`.
 */
export function statement(strings: TemplateStringsArray, ...values: SqlValue[]): SqlText {
  return strings.reduce(
    (text, part, index) =>
      index === 0 ? part : `${text}${literal(values[index - 1] ?? null)}${part}`,
    "",
  ) as SqlText;
}
