// Writes header-only safetensors files: 8-byte little-endian header length, then the JSON header.
// No data region: the header alone determines every figure qaudit prints (spec §1).

const BYTES = { BOOL: 1, U8: 1, I8: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, I64: 8, U64: 8, F64: 8, F8_E4M3: 1, F8_E5M2: 1, F8_E8M0: 1 };

/** tensors: Array<[name, dtype, shape]>. Offsets are laid out in name order. */
export function headerJson(tensors, metadata = { format: "pt" }) {
  const header = {};
  if (metadata !== null) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, dtype, shape] of [...tensors].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    const bytes = shape.reduce((a, b) => a * b, 1) * BYTES[dtype];
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  return header;
}

/** A complete header-only file from a header object (or JSON text), padded with spaces to 8 bytes. */
export function encodeSafetensors(header) {
  let json = typeof header === "string" ? header : JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const body = Buffer.from(json, "utf8");
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(body.length));
  return Buffer.concat([prefix, body]);
}

export function encodeHeaderOnly(tensors, metadata) {
  return encodeSafetensors(headerJson(tensors, metadata));
}

/** A complete file: header, then a data region of zeros with the given tensors' contents (name → string). */
export function encodeWithData(tensors, contents, metadata) {
  const header = headerJson(tensors, metadata);
  const head = encodeSafetensors(header);
  const dataBytes = Math.max(0, ...Object.entries(header).filter(([n]) => n !== "__metadata__").map(([, e]) => e.data_offsets[1]));
  const data = Buffer.alloc(dataBytes);
  for (const [name, text] of Object.entries(contents)) {
    const entry = header[name];
    if (entry === undefined) throw new Error(`no tensor ${name}`);
    Buffer.from(text).copy(data, entry.data_offsets[0]);
  }
  return Buffer.concat([head, data]);
}
