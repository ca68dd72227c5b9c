// Copies the pinned front-end libraries from node_modules into static/vendor/, where Django's
// staticfiles (and whitenoise) serve them. No CDN: the app works with no internet.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const files = [
  ["node_modules/@alpinejs/csp/dist/cdn.min.js", "static/vendor/alpine-csp.min.js"],
];
for (const [from, to] of files) {
  mkdirSync(dirname(join(root, to)), { recursive: true });
  copyFileSync(join(root, from), join(root, to));
  console.log(`assets: ${from} -> ${to}`);
}
