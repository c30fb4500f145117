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

/* A screenshot into tests/e2e/screenshots/NAME.png (git-ignored), full page. */
export async function shot(page, name) {
    fs.mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}
