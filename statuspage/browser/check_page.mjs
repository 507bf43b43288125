// Loads the status page in headless Debian Chromium (playwright-core, no browser download),
// runs axe-core in the light and dark colour schemes, takes a phone-width and a dark-mode
// screenshot, and prints every request the page made as JSON on stdout.
//   node check_page.mjs <page URL> <screenshot directory>
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const [url, shots] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
const result = { requests: [], violations: {}, screenshots: [] };
try {
  for (const [scheme, viewport, file] of [
    ["light", { width: 390, height: 844 }, "phone.png"],
    ["dark", { width: 1280, height: 900 }, "dark.png"],
  ]) {
    const context = await browser.newContext({ viewport, colorScheme: scheme, isMobile: viewport.width < 500 });
    const page = await context.newPage();
    page.on("request", (request) => result.requests.push(request.url()));
    await page.goto(url, { waitUntil: "load" });
    await page.screenshot({ path: `${shots}/${file}`, fullPage: true });
    result.screenshots.push(`${shots}/${file}`);
    // Check the collapsed daily tables too: axe skips what is not rendered.
    await page.evaluate(() => document.querySelectorAll("details").forEach((details) => { details.open = true; }));
    // axe-core from node_modules, evaluated in the page: no request leaves the machine.
    await page.evaluate(require("fs").readFileSync(require.resolve("axe-core/axe.min.js"), "utf8"));
    const axe = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
    result.violations[scheme] = axe.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")) }));
    await context.close();
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result));
