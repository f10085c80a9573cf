/** Number formats shared by the per-run lines and the table. */
export const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
export const dec1 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 });
export const dec2 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2, minimumFractionDigits: 2 });
export const pct = (share: number): string => `${Math.round(share * 100)}%`;
