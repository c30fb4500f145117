// totp.mjs - RFC 6238 codes (SHA-1, 6 digits, 30 s) from a base32 secret, as an
// authenticator app makes them: the tests compute the codes a user would type.
import crypto from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Decode(s) {
    const clean = s.replace(/[\s=]/g, '').toUpperCase();
    let bits = 0;
    let value = 0;
    const out = [];
    for (const c of clean) {
        const v = ALPHABET.indexOf(c);
        if (v < 0) throw new Error(`not base32: ${c}`);
        value = (value << 5) | v;
        bits += 5;
        if (bits >= 8) {
            out.push((value >>> (bits - 8)) & 0xff);
            bits -= 8;
        }
    }
    return Buffer.from(out);
}

/* The code of `secret` at `seconds` (Unix time; default now). */
export function totp(secret, seconds = Date.now() / 1000) {
    const counter = Math.floor(seconds / 30);
    const msg = Buffer.alloc(8);
    msg.writeBigUInt64BE(BigInt(counter));
    const mac = crypto.createHmac('sha1', base32Decode(secret)).update(msg).digest();
    const off = mac[mac.length - 1] & 0x0f;
    const bin = (mac.readUInt32BE(off) & 0x7fffffff) % 1000000;
    return String(bin).padStart(6, '0');
}
