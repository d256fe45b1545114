/** Where Debian's Chromium is. */
export const CHROMIUM: string;
/** The path of Debian's Chromium, installing it with apt-get first when it is missing. */
export function ensureChromium(): string;
