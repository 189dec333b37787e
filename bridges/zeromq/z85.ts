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

/** Whether `text` is a Z85-encoded 32-byte CURVE key (40 characters of the Z85 alphabet). */
export function isCurveKey(text: unknown): text is string {
  if (typeof text !== "string" || text.length !== 40) return false;
  for (const char of text) if (!ALPHABET.includes(char)) return false;
  return true;
}
