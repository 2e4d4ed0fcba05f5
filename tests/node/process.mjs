// What every server here shares: it announces its URL as the first line of its output, logs
// to stderr only (stdout is that one line), and exits when its parent closes its stdin, or
// after MAX_LIFETIME_MS at the latest, so that no test run leaves a Node process behind.

const MAX_LIFETIME_MS = 30 * 60 * 1000;

export const logger = {
  debug() {},
  info: (...args) => console.error(...args),
  warn: (...args) => console.error(...args),
  error: (...args) => console.error(...args),
};

export function announce(url) {
  process.stdout.write(JSON.stringify({ url }) + "\n");
}

export function exitWithParent(stop) {
  const exit = async () => {
    await stop();
    process.exit(0);
  };
  process.stdin.on("end", exit);
  process.stdin.on("error", exit);
  process.stdin.resume();
  setTimeout(() => {
    console.error(`exiting after ${MAX_LIFETIME_MS / 1000} s, the longest a test server lives`);
    process.exit(1);
  }, MAX_LIFETIME_MS).unref();
}
