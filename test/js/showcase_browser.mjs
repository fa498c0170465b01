// Two browser tabs on the showcase page (Debian's Chromium driven by
// playwright-core): both join one room, tab 1 sends a message, tab 2 shows
// it; a screenshot of tab 2 is saved.
// Usage: node showcase_browser.mjs <base url> <screenshot.png>
import { chromium } from "playwright-core";

const [base, shot] = process.argv.slice(2);
if (!base || !shot) {
  console.error("usage: node showcase_browser.mjs <base url> <screenshot.png>");
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  const tabs = [await context.newPage(), await context.newPage()];
  for (const tab of tabs) {
    tab.setDefaultTimeout(15000);
    await tab.goto(`${base}/#room`);
    await tab.fill("#room-name", "browser_e2e");
    await tab.click("#room-join");
    await tab.waitForSelector("#room-input:not([disabled])");
  }
  // Tab 1 sees tab 2 join (exclude_current: tab 2 does not see its own).
  await tabs[0].waitForSelector("#room-log li:has-text(\"Someone joined room 'browser_e2e'\")");
  await tabs[0].fill("#room-input", "hello from tab 1");
  await tabs[0].click("#room-send");
  await tabs[1].waitForSelector("#room-log li:has-text(\"hello from tab 1\")");
  const seen = await tabs[1].locator("#room-log li").allTextContents();
  console.log(JSON.stringify(seen));
  await tabs[1].screenshot({ path: shot, fullPage: true });
} finally {
  await browser.close();
}
