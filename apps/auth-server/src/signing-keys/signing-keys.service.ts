import { createHash, generateKeyPairSync, JsonWebKey } from 'node:crypto';
import { CHANNELS } from '@cap/contracts';
import { seal, unseal } from './key-seal';
import { NewSigningKey, SigningKeysRepository } from './signing-keys.repository';

/** The JWS algorithm of access and ID tokens. */
export const SIGNING_ALG = 'ES256';

/** Published on this channel (under the queue prefix) when the keys change. */
export const SIGNING_KEYS_CHANGED = CHANNELS.signingKeysChanged;

export interface PrivateSigningJwk extends JsonWebKey {
  kid: string;
  alg: string;
  use: 'sig';
}

export interface SigningKeySet {
  /** The kid that signs new tokens. */
  signingKid: string;
  /** Private JWKs for oidc-provider, the signing key first. */
  privateKeys: PrivateSigningJwk[];
  /** Public JWKs: what `/oauth/jwks` publishes and what verifies our own tokens. */
  publicKeys: JsonWebKey[];
}

/** RFC 7638 thumbprint of an EC public key: a kid that names the key itself. */
function thumbprint(jwk: JsonWebKey): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical).digest('base64url');
}

/**
 * Token signing keys, stored in Postgres so that every replica and every restart signs with the
 * same key. The newest unretired key signs. Rotation retires it and adds a new one; a retired key
 * stays published (in the JWKS) for `retentionS` after its retirement, long enough for every
 * token it signed to expire.
 */
export class SigningKeysService {
  constructor(
    private readonly keys: SigningKeysRepository,
    private readonly sealingSecret: string,
  ) {}

  private newKey(): NewSigningKey {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicJwk = publicKey.export({ format: 'jwk' });
    const kid = thumbprint(publicJwk);
    const privateJwk = privateKey.export({ format: 'jwk' });
    return {
      kid,
      alg: SIGNING_ALG,
      publicJwk: { ...publicJwk, kid, alg: SIGNING_ALG, use: 'sig' },
      privateJwkSealed: seal(
        { ...privateJwk, kid, alg: SIGNING_ALG, use: 'sig' },
        this.sealingSecret,
      ),
    };
  }

  /** Makes sure a signing key exists (the first start of the first replica creates it). */
  async ensureSigningKey(): Promise<void> {
    await this.keys.insertIfNoneActive(this.newKey());
  }

  /** Adds a new signing key and retires the current one; returns the new kid and the retired. */
  async rotate(): Promise<{ kid: string; retired: string[] }> {
    const key = this.newKey();
    const retired = await this.keys.rotate(key);
    return { kid: key.kid, retired };
  }

  /** The keys to sign with and to publish now. */
  async load(retentionS: number): Promise<SigningKeySet> {
    const rows = await this.keys.listPublished(new Date(Date.now() - retentionS * 1000));
    const signing = rows.find((r) => r.retiredAt === null);
    if (!signing) throw new Error('no signing key: ensureSigningKey() first');
    const ordered = [signing, ...rows.filter((r) => r !== signing)];
    return {
      signingKid: signing.kid,
      privateKeys: ordered.map((r) =>
        unseal<PrivateSigningJwk>(r.privateJwkSealed, this.sealingSecret),
      ),
      publicKeys: ordered.map((r) => r.publicJwk as JsonWebKey),
    };
  }
}
