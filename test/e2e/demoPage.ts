import type { Page } from 'playwright-core';

/** A panel that lists messages: the two rooms, and the document's edits. */
export type Feed = 'public' | 'private' | 'doc';

/** Reads the demo page through its `data-testid`s. */
export class DemoPage {
  constructor(public readonly page: Page) {}

  public async signIn(name: string): Promise<void> {
    await this.page.getByTestId('signin-name').fill(name);
    await this.page.getByTestId('signin-submit').click();
  }

  public async text(testId: string): Promise<string> {
    return ((await this.page.getByTestId(testId).textContent({ timeout: 5_000 })) ?? '').trim();
  }

  public async number(testId: string): Promise<number> {
    return Number(await this.text(testId));
  }

  public async post(room: 'public' | 'private', text: string): Promise<void> {
    await this.page.getByTestId(`composer-${room}`).fill(text);
    await this.page.getByTestId(`post-${room}`).click();
  }

  /** The texts of the room's (or the document's) messages as shown, oldest first. */
  public async messages(room: Feed): Promise<string[]> {
    const texts = await this.page.getByTestId(`messages-${room}`).locator('[data-testid=message] .text').allTextContents();
    return texts.reverse();
  }

  /** The ids of the room's (or the document's) messages as shown, ascending. */
  public async messageIds(room: Feed): Promise<number[]> {
    const ids = await this.page
      .getByTestId(`messages-${room}`)
      .locator('[data-testid=message]')
      .evaluateAll((items) => items.map((item) => Number((item as HTMLElement).dataset['id'])));
    return ids.sort((a, b) => a - b);
  }

  public async click(testId: string): Promise<void> {
    await this.page.getByTestId(testId).click();
  }

  public async count(testId: string): Promise<number> {
    return this.page.getByTestId(testId).count();
  }

  /**
   * Shows the page `width` px wide (a phone is 390), saves a screenshot to `path`, and returns
   * how wide the document is: wider than `width` means the page scrolls sideways.
   */
  public async widthAt(width: number, path: string): Promise<number> {
    const before = this.page.viewportSize();
    await this.page.setViewportSize({ width, height: 844 });
    try {
      const scrollWidth = await this.page.evaluate(() => document.documentElement.scrollWidth);
      await this.page.screenshot({ path, fullPage: true });
      return scrollWidth;
    } finally {
      if (before) await this.page.setViewportSize(before);
    }
  }
}

/** Whether `ids` (ascending) has no hole and no repeat. */
export function isContiguous(ids: readonly number[]): boolean {
  return ids.every((id, i) => i === 0 || id === (ids[i - 1] ?? Number.NaN) + 1);
}
