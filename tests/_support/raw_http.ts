/** One HTTP/1.1 request over a raw socket, for a `Host` header that `fetch` will not send. */

/** Sends `method path` to the server at `url` with the given `Host`; returns its answer. */
export async function requestWithHost(
  url: string,
  host: string,
  method: string,
  path: string,
  options: { body?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const { hostname, port } = new URL(url);
  const connection = await Deno.connect({ hostname, port: Number(port) });
  const body = new TextEncoder().encode(options.body ?? "");
  const headers = { ...options.headers, Host: host, "Content-Length": String(body.length) };
  const head = `${method} ${path} HTTP/1.1\r\n${
    Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join("")
  }Connection: close\r\n\r\n`;
  await connection.write(new Uint8Array([...new TextEncoder().encode(head), ...body]));
  const chunks: number[] = [];
  for await (const chunk of connection.readable) chunks.push(...chunk);
  const text = new TextDecoder().decode(new Uint8Array(chunks));
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  let content = text.slice(text.indexOf("\r\n\r\n") + 4);
  if (/\r\ntransfer-encoding: chunked\r\n/i.test(text.slice(0, text.indexOf("\r\n\r\n") + 2))) {
    content = dechunk(content);
  }
  return new Response(status === 204 ? null : content, { status });
}

function dechunk(text: string): string {
  let result = "";
  let rest = text;
  while (true) {
    const end = rest.indexOf("\r\n");
    const size = parseInt(rest.slice(0, end), 16);
    if (!(size > 0)) return result;
    result += rest.slice(end + 2, end + 2 + size);
    rest = rest.slice(end + 2 + size + 2);
  }
}
