// The browser tests drive Debian's Chromium (downloading a browser does not work
// on our machines). Make sure it is there before they run: install it with
// apt-get when we are root on Debian, otherwise say exactly what to run.
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';

const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (existsSync(path)) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const hasApt = existsSync('/usr/bin/apt-get');
if (isRoot && hasApt && !process.env.CHROMIUM_PATH) {
  console.log(`readsync: ${path} is missing; installing Debian's chromium for the browser tests…`);
  execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium', { stdio: 'inherit' });
  if (existsSync(path)) process.exit(0);
}
console.error(
  `readsync: the browser tests need Chromium at ${path}.\n` +
    `  On Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y chromium\n` +
    `  Elsewhere: set CHROMIUM_PATH to a Chromium or Chrome binary.`,
);
process.exit(1);
