import { ensureChromium } from '../../../scripts/lib/chromium.mjs';

/** Debian's Chromium is there before any browser test starts (installed with a visible log line if not). */
export default function setup(): void {
  ensureChromium();
}
