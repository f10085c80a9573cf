// The README's uWebSockets.js example imports 'uWebSockets.js', which is installed from GitHub, not
// from the npm registry, and is no dependency of this repo: it is typed here as the release the
// adapter's tests run (a republish of uWebSockets.js v20.30).
declare module 'uWebSockets.js' {
  export * from '@trufflesuite/uws-js-unofficial';
}
