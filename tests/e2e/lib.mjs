// lib.mjs - the browser tests' helpers: Debian's Chromium driven by playwright-core
// (headless, no sandbox: the tests run as root), axe-core checks, screenshots.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';

export const SHOTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'screenshots');
export const CHROMIUM = process.env.LC_CHROMIUM ?? '/usr/bin/chromium';
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 900 };

/* The views every page is looked at in: both themes, at desktop and at phone width;
 * `suffix` names its screenshots (light, light-phone, dark, dark-phone). */
export const VIEWS = ['light', 'dark'].flatMap((scheme) => [false, true].map((phone) =>
    ({ scheme, phone, size: phone ? PHONE : DESKTOP, suffix: `${scheme}${phone ? '-phone' : ''}` })));

/* Runs fn(view) with the page set to each of VIEWS; the page is back at light and
 * desktop width afterwards. */
export async function forEachView(page, fn) {
    try {
        for (const v of VIEWS) {
            await page.setViewportSize(v.size);
            await page.emulateMedia({ colorScheme: v.scheme });
            await fn(v);
        }
    } finally {
        await page.setViewportSize(DESKTOP);
        await page.emulateMedia({ colorScheme: 'light' });
    }
}

/* Chromium as the lead's brief says; throws when it is missing (a failure, not a skip). */
export async function launch() {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (scripts/deps.sh test installs Debian's chromium)`);
    return chromium.launch({
        executablePath: CHROMIUM,
        timeout: 60000,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
}

/* Every console error and CSP report of a page, to assert there were none. */
export function watchConsole(page) {
    const errors = [];
    page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    return errors;
}

/* axe-core: no serious or critical violation on the page as it is now. */
export async function checkA11y(page, what) {
    const r = await new AxeBuilder({ page }).analyze();
    const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`), [], `accessibility of ${what}`);
}

/* The page as it is now, in view v (forEachView): in v's theme, no serious or critical
 * axe violation (checked at desktop width), nothing wider than the window, and its
 * screenshot NAME-SUFFIX (shot: from screenshots()). */
export async function checkView(page, shot, name, v) {
    assert.equal(await page.getAttribute('html', 'data-bs-theme'), v.scheme, `${name} in the ${v.scheme} theme`);
    if (!v.phone) await checkA11y(page, `${name} (${v.scheme})`);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(wide <= 0, `${name} (${v.suffix}) is ${wide} px wider than the window`);
    await shot(page, `${name}-${v.suffix}`);
}

/* The screenshot function of one test file: shot(page, NAME) saves the full page as
 * tests/e2e/screenshots/FILE/NAME.png (git-ignored). The folder is emptied here, when
 * the file starts: each file clears its own, so files running at once keep each
 * other's. */
export function screenshots(file) {
    const dir = path.join(SHOTS, file);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    return (page, name) => page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}
