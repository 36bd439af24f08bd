// Drives Debian's headless Chromium (playwright-core, never a downloaded browser) through the Igia sandbox's standalone
// launch: launcher page → sample app → login page → patient picker → the app's patient banner; saves a screenshot.
//   node sandbox-browser.mjs <sandboxBaseUrl> <screenshot.png> [chromiumPath]
import { chromium } from "playwright-core";

const [base, screenshot, executablePath = "/usr/bin/chromium"] = process.argv.slice(2);
// Playwright's default limit of 30 s per launch, navigation and action is too short for a busy CI machine: 2 minutes each.
const timeout = 120000;
const browser = await chromium.launch({
  executablePath,
  headless: true,
  timeout,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  page.setDefaultTimeout(timeout);
  page.setDefaultNavigationTimeout(timeout);
  const visited = [];
  page.on("framenavigated", f => { if (f === page.mainFrame()) visited.push(new URL(f.url()).pathname); });
  await page.goto(new URL("/", base).toString());
  await page.click("#standalone-launch");
  await page.waitForURL(u => u.pathname === "/smart/login", { timeout });
  await page.fill("#username", "practitioner");
  await page.fill("#password", "practitioner");
  await page.click("#sign-in");
  await page.waitForURL(u => u.pathname === "/smart/patient-picker", { timeout });
  const first = page.locator("button.pick").first();
  const picked = (await first.textContent()).trim();
  await first.click();
  await page.waitForSelector("#patient-banner", { timeout });
  const banner = (await page.textContent("#patient-banner")).trim();
  const rows = await page.locator("#observations tr").count();
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({ banner, picked, rows, url: page.url(), visited }));
} finally {
  await browser.close();
}
