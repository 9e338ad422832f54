import { aclFileLine, redisAclRules, REDIS_SERVICES } from './redis-acl';

const channelRules = (rules: string[]) => rules.filter((r) => r.startsWith('&'));
const selectors = (rules: string[]) => rules.filter((r) => r.startsWith('('));

describe('redisAclRules', () => {
  it('lets each service subscribe to what it listens to, and publish only what it owns', () => {
    const seen = Object.fromEntries(
      REDIS_SERVICES.map((s) => {
        const rules = redisAclRules(s, 'cap');
        return [s, { subscribe: channelRules(rules), publish: selectors(rules) }];
      }),
    );
    expect(seen).toEqual({
      'api-gateway': {
        subscribe: ['&cap:events:key-revoked', '&cap:events:token-revoked'],
        publish: [],
      },
      'auth-server': {
        subscribe: ['&cap:events:auth-signing-keys-changed'],
        publish: ['(+publish &cap:events:token-revoked &cap:events:auth-signing-keys-changed)'],
      },
      'projects-service': {
        subscribe: ['&cap:events:token-revoked'],
        publish: ['(+publish &cap:events:key-revoked)'],
      },
      'usage-worker': { subscribe: [], publish: [] },
      admin: { subscribe: [], publish: [] },
      console: { subscribe: [], publish: [] },
    });
  });

  it('gives the console its session keys only: no queue, no reply stream, no channel', () => {
    const rules = redisAclRules('console', 'cap');
    expect(rules.filter((r) => /^%?R?~/.test(r))).toEqual(['~cap:console:*']);
    expect(rules.filter((r) => r.startsWith('&'))).toEqual([]);
  });

  it('never grants PUBLISH outside a selector, nor a channel pattern', () => {
    for (const service of REDIS_SERVICES) {
      const rules = redisAclRules(service, 'cap');
      const outside = rules.filter((r) => !r.startsWith('('));
      expect(outside).toContain('-publish');
      expect(outside.indexOf('-publish')).toBeGreaterThan(outside.indexOf('+@pubsub'));
      expect(outside).not.toContain('+publish');
      expect(rules.join(' ')).not.toMatch(/&[^ ]*\*/);
      expect(rules).toContain('resetchannels');
    }
  });

  it('hash-tags the queue key patterns as BullMQ names the queues', () => {
    const rules = redisAclRules('api-gateway', 'cap');
    expect(rules).toEqual(
      expect.arrayContaining([
        '~cap:{projects}:*',
        '~cap:{identity}:*',
        '~cap:{usage}:*',
        '~cap:{usage-queries}:*',
        '~cap:rpc-replies:*',
        '~cap:rl:*',
      ]),
    );
    expect(rules.filter((r) => r.startsWith('~cap:{admin-'))).toEqual([]);
  });

  it('writes the selector into the ACL file line', () => {
    expect(aclFileLine('cap-projects-service', 'pw', 'projects-service', 'cap')).toMatch(
      / \(\+publish &cap:events:key-revoked\)$/,
    );
  });
});
