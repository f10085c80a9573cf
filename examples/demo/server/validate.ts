import { TRPCError } from '@trpc/server';
import type { DocId } from './catalog.js';
import { DOCUMENTS, isDocId } from './catalog.js';
import type { RoomName } from './feed.js';
import type { Role } from './users.js';

function field(raw: unknown, name: string): unknown {
  return typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)[name] : undefined;
}

function badRequest(message: string): never {
  throw new TRPCError({ code: 'BAD_REQUEST', message });
}

/** A display name: 1–24 characters once trimmed. */
export function parseName(raw: unknown): string {
  const name = typeof raw === 'string' ? raw.trim() : '';
  if (name.length < 1 || name.length > 24) badRequest('name must be 1–24 characters');
  return name;
}

export function parsePost(raw: unknown): { room: RoomName; text: string } {
  const room = field(raw, 'room');
  const text = field(raw, 'text');
  if (room !== 'public' && room !== 'private') badRequest('room must be "public" or "private"');
  if (typeof text !== 'string' || text.trim().length === 0 || text.length > 280) badRequest('text must be 1–280 characters');
  return { room, text: text.trim() };
}

export function parseRole(raw: unknown): { role: Role } {
  const role = field(raw, 'role');
  if (role !== 'admin' && role !== 'member') badRequest('role must be "admin" or "member"');
  return { role };
}

/** A subscription's input: tRPC fills in `lastEventId` when it resumes. */
export function parseRoomInput(raw: unknown): { lastEventId?: string | null } {
  const lastEventId = field(raw, 'lastEventId');
  return typeof lastEventId === 'string' ? { lastEventId } : {};
}

/** Which document: one of {@link DOCUMENTS}. */
export function parseDocId(raw: unknown): { docId: DocId } {
  const docId = field(raw, 'docId');
  if (!isDocId(docId)) badRequest(`docId must be one of ${Object.keys(DOCUMENTS).join(', ')}`);
  return { docId };
}

/** `doc.watch`'s input: the document, and the `lastEventId` tRPC fills in when it resumes. */
export function parseDocInput(raw: unknown): { docId: DocId; lastEventId?: string | null } {
  return { ...parseDocId(raw), ...parseRoomInput(raw) };
}
