import { CHANNELS, KeyRevokedEvent } from '@cap/contracts';
import { EventBus } from '@cap/queue';

/**
 * Tells every gateway to drop these keys from its cache (and ask again on next use). One event
 * for the whole list, so a project with many keys costs one message; nothing for an empty list.
 */
export async function announceKeysRevoked(events: EventBus, keyIds: string[]): Promise<void> {
  if (keyIds.length === 0) return;
  const event: KeyRevokedEvent = { v: 1, key_ids: keyIds };
  await events.publish(CHANNELS.keyRevoked, event);
}
