import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The README's TypeScript examples are compiled by `npm run typecheck` as the files in
// test/types/readme/ (between `// #region readme` and `// #endregion`). This test keeps the two
// identical, so a README example cannot drift from code that compiles.
const root = new URL('../../', import.meta.url);
const fixtures = new URL('test/types/readme/', root);

function readmeBlocks(): string[] {
  const readme = readFileSync(new URL('README.md', root), 'utf8');
  return [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1] ?? '');
}

function fixtureRegions(): Map<string, string> {
  const regions = new Map<string, string>();
  for (const name of readdirSync(fixtures).filter((file) => file.endsWith('.ts'))) {
    const text = readFileSync(new URL(name, fixtures), 'utf8');
    const region = /^\/\/ #region readme\n([\s\S]*?)^\/\/ #endregion$/m.exec(text);
    if (region) regions.set(name, region[1] ?? '');
  }
  return regions;
}

describe('README examples', () => {
  it('every ```ts block of the README is a compiled fixture, character for character', () => {
    const compiled = new Set(fixtureRegions().values());
    const blocks = readmeBlocks();
    expect(blocks.length).toBeGreaterThan(0);
    const missing = blocks.filter((block) => !compiled.has(block));
    expect(missing, 'README blocks with no identical region in test/types/readme/*.ts').toEqual([]);
  });

  it('every fixture region is still in the README', () => {
    const blocks = new Set(readmeBlocks());
    const stale = [...fixtureRegions()].filter(([, region]) => !blocks.has(region)).map(([name]) => name);
    expect(stale).toEqual([]);
  });
});
