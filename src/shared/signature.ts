import crypto from 'node:crypto';

/** Timestamps further than this from our clock are treated as replays. */
export const MAX_SKEW_SECONDS = 300;

export function signBody(secret: string, timestamp: string, rawBody: Buffer | string): string {
  return 'sha256=' + crypto.createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
}

/** Constant-time comparison of equal-length buffers; unequal lengths are a plain mismatch. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/** X-Closeloop-Signature: sha256=hex(HMAC-SHA256(secret, timestamp + "." + raw body)). */
export function verifySignature(args: {
  secret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  rawBody: Buffer;
  now: Date;
}): boolean {
  const { timestamp, signature } = args;
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(args.now.getTime() / 1000 - Number(timestamp)) > MAX_SKEW_SECONDS) return false;
  return safeEqual(signature, signBody(args.secret, timestamp, args.rawBody));
}
