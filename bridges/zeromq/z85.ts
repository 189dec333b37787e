const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/** Z85-encodes bytes (ZeroMQ RFC 32), as CURVE keys are written; the length must be a multiple of 4. */
export function z85Encode(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) throw new RangeError(`z85: length ${bytes.length} is not a multiple of 4`);
  let text = "";
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let offset = 0; offset < bytes.length; offset += 4) {
    let value = view.getUint32(offset);
    let chunk = "";
    for (let i = 0; i < 5; i++) {
      chunk = ALPHABET[value % 85] + chunk;
      value = Math.floor(value / 85);
    }
    text += chunk;
  }
  return text;
}

/**
 * Whether `text` is a Z85-encoded 32-byte CURVE key: 40 characters of the Z85 alphabet whose every group of
 * 5 decodes within 32 bits. ("#####…" is 40 such characters but decodes past 32 bits: libzmq refuses it
 * with EINVAL, and a zeromq.js socket whose constructor failed that way crashed the process at exit.)
 */
export function isCurveKey(text: unknown): text is string {
  if (typeof text !== "string" || text.length !== 40) return false;
  try {
    z85Decode(text);
    return true;
  } catch {
    return false;
  }
}

/** Decodes Z85 text (ZeroMQ RFC 32); the length must be a multiple of 5. @throws RangeError on bad text. */
export function z85Decode(text: string): Buffer {
  if (text.length % 5 !== 0) throw new RangeError(`z85: length ${text.length} is not a multiple of 5`);
  const bytes = Buffer.alloc((text.length / 5) * 4);
  for (let offset = 0; offset < text.length; offset += 5) {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      const digit = ALPHABET.indexOf(text[offset + i] as string);
      if (digit === -1) throw new RangeError(`z85: ${JSON.stringify(text[offset + i])} is not a Z85 character`);
      value = value * 85 + digit;
    }
    if (value > 0xffff_ffff) throw new RangeError("z85: a group decodes past 32 bits");
    bytes.writeUInt32BE(value, (offset / 5) * 4);
  }
  return bytes;
}
