/**
 * The demo's documents: id → title. One is enough to show a grant's life. This module imports
 * nothing, so the web app can show the titles without bundling the server.
 */
export const DOCUMENTS = { roadmap: 'Roadmap.md' } as const;

export type DocId = keyof typeof DOCUMENTS;

export function isDocId(value: unknown): value is DocId {
  return typeof value === 'string' && Object.hasOwn(DOCUMENTS, value);
}
