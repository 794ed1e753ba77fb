// multipart/form-data (RFC 7578) parsed from a body already in memory: the service bounds the
// body's size before it gets here, so streaming the parts would save nothing.

export interface Part {
  /** The form field's name (Content-Disposition name). */
  name: string;
  /** The uploaded file's name, when the part is a file. */
  filename: string | null;
  /** The part's Content-Type, lower-cased, without parameters; null when not given. */
  contentType: string | null;
  data: Buffer;
}

/** The boundary parameter of a multipart Content-Type, or null when it has none. */
export function boundaryOf(contentType: string): string | null {
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]!) : null;
}

function dispositionParam(header: string, name: string): string | null {
  const m = new RegExp(`;\\s*${name}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]+))`, 'i').exec(header);
  if (!m) return null;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!;
}

/** The parts of a multipart body; throws a message saying what is malformed. */
export function parseMultipart(body: Buffer, boundary: string): Part[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const between = Buffer.from(`\r\n--${boundary}`);
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw new Error(`the multipart body has no boundary line --${boundary}`);
  pos += delimiter.length;
  const parts: Part[] = [];
  for (;;) {
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) return parts; // "--": the closing delimiter
    // Transport padding (spaces, tabs) may follow a delimiter before its CRLF.
    while (body[pos] === 0x20 || body[pos] === 0x09) pos++;
    if (body[pos] !== 0x0d || body[pos + 1] !== 0x0a) throw new Error('a multipart boundary line is not followed by CRLF');
    pos += 2;
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    const next = body.indexOf(between, pos);
    if (next < 0) throw new Error(`the multipart body ends without its closing boundary --${boundary}--`);
    let headers = '';
    let start: number;
    if (headerEnd >= 0 && headerEnd < next) {
      headers = body.subarray(pos, headerEnd).toString('latin1');
      start = headerEnd + 4;
    } else if (body.indexOf('\r\n', pos) === next) {
      start = next; // a part with no headers and no content
    } else {
      throw new Error('a multipart part has no blank line after its headers');
    }
    let name: string | null = null;
    let filename: string | null = null;
    let contentType: string | null = null;
    for (const line of headers.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const key = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (key === 'content-disposition') {
        name = dispositionParam(value, 'name');
        const f = dispositionParam(value, 'filename');
        // Browsers send UTF-8 bytes in the quoted name; latin1 above kept them byte for byte.
        filename = f === null ? null : Buffer.from(f, 'latin1').toString('utf8');
      } else if (key === 'content-type') {
        contentType = value.split(';')[0]!.trim().toLowerCase();
      }
    }
    if (name === null) throw new Error('a multipart part has no Content-Disposition: form-data; name="..." header');
    parts.push({ name, filename, contentType, data: body.subarray(start, next) });
    pos = next + between.length;
  }
}
