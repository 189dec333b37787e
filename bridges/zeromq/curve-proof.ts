// Proof that a CURVE client holds the secret key of the public key it names, bound to a server nonce and
// to the client's routing identity. ZeroMQ authenticates the key during the handshake but does not tell
// which connection a frame came from, so the RPC server asks for this proof to bind an identity to a user.
import { createHmac, createPrivateKey, createPublicKey, diffieHellman, timingSafeEqual } from "node:crypto";
import { z85Decode, z85Encode } from "./z85.js";

// X25519 shared secret of one side's key pair and the other's public key (both Z85).
function sharedSecret(ownPublic: string, ownSecret: string, otherPublic: string): Buffer {
  const privateKey = createPrivateKey({
    key: { kty: "OKP", crv: "X25519", d: z85Decode(ownSecret).toString("base64url"), x: z85Decode(ownPublic).toString("base64url") },
    format: "jwk",
  });
  const publicKey = createPublicKey({ key: { kty: "OKP", crv: "X25519", x: z85Decode(otherPublic).toString("base64url") }, format: "jwk" });
  return diffieHellman({ privateKey, publicKey });
}

function mac(secret: Buffer, nonce: string, identity: string): Buffer {
  return createHmac("sha256", secret).update(`berrymq-rpc-login\n${nonce}\n${identity}`).digest();
}

/** The client's proof for `nonce` and its `identity`, from its key pair and the server's public key. */
export function curveProof(client: { publicKey: string; secretKey: string }, serverKey: string, nonce: string, identity: string): string {
  return mac(sharedSecret(client.publicKey, client.secretKey, serverKey), nonce, identity).toString("base64");
}

/** Whether `proof` was made by the holder of `clientKey`'s secret for this nonce and identity. */
export function checkCurveProof(
  server: { publicKey: string; secretKey: string },
  clientKey: string,
  nonce: string,
  identity: string,
  proof: string,
): boolean {
  try {
    const expected = mac(sharedSecret(server.publicKey, server.secretKey, clientKey), nonce, identity);
    const given = Buffer.from(proof, "base64");
    return given.length === expected.length && timingSafeEqual(given, expected);
  } catch {
    return false; // a malformed key or proof
  }
}

// PKCS#8 DER of an X25519 private key: this prefix, then the 32 key bytes.
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

/** The Z85 public key of a CURVE secret key (Z85, checked by isCurveKey): X25519, as libzmq derives it. */
export function curvePublicKey(secretKey: string): string {
  const privateKey = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, z85Decode(secretKey)]), format: "der", type: "pkcs8" });
  const { x } = createPublicKey(privateKey).export({ format: "jwk" });
  return z85Encode(Buffer.from(x ?? "", "base64url"));
}
