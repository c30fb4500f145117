// upload-lib.mjs - what the upload page's browser tests share (upload.test.mjs,
// upload-states.test.mjs): a server with a platform, tickets, pages in browser contexts
// of their own (locale = Accept-Language, theme, size), files of random bytes,
// Chromium's upload throttling, and reading the page's progress.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { api, login, makeDataDir, startServer, stopAll } from '../api/lib/server.mjs';
import { DESKTOP, launch, screenshots, SHOTS, watchConsole } from './lib.mjs';


export function sha256sum(file) {
    return new Promise((resolve, reject) => {
        execFile('sha256sum', [file], { timeout: 60000 }, (err, stdout) => (err ? reject(err) : resolve(stdout.split(' ')[0])));
    });
}

/* Chromium's upload throttling for this page (bytes a second). */
export async function throttle(page, bytesPerSecond) {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
        offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerSecond,
    });
    return cdp;
}

/* The percentage the page shows for the file called name (-1: no such file). */
export const percentOf = (page, name) => page.evaluate((n) => {
    for (const li of document.querySelectorAll('#files [data-file]')) {
        if (li.querySelector('.file-name')?.textContent !== n) continue;
        return Number(li.querySelector('.progress')?.getAttribute('aria-valuenow') ?? -1);
    }
    return -1;
}, name);

export const itemOf = (page, name) => page.locator('#files [data-file]', { has: page.locator('.file-name', { hasText: name }) });

/*
 * One test file's world: start() runs a server on a DATA_DIR of its own (kept across a
 * restart: h.srv may be replaced) with platform vm6, and Chromium; stop() ends both
 * and removes the files. h.errors collects every page's console errors.
 */
export function uploadWorld(folder) {
    const h = {
        srv: null,
        jwt: null,
        browser: null,
        dataDir: makeDataDir(),
        tmp: fs.mkdtempSync(path.join(os.tmpdir(), 'lc-e2e-up-')),
        errors: [],
        number: 7000,
    };

    h.start = async () => {
        h.shot = screenshots(folder);
        h.shots = path.join(SHOTS, folder);
        h.srv = await startServer({ dataDir: h.dataDir });
        h.jwt = (await login(h.srv)).access;
        const r = await api(h.srv, 'POST', '/api/v1/platforms/', { token: h.jwt, json: { name: 'vm6', pretty_name: 'VMmanager 6' } });
        assert.equal(r.status, 201, r.text);
        h.browser = await launch();
    };

    h.stop = async () => {
        await h.browser?.close();
        fs.rmSync(h.tmp, { recursive: true, force: true });
        try {
            await stopAll(h.srv);
        } finally {
            fs.rmSync(h.dataDir, { recursive: true, force: true });
        }
    };

    /* A ticket of platform vm6 (body overrides); the item. */
    h.ticket = async (body = {}) => {
        const r = await api(h.srv, 'POST', '/api/v1/tickets/', { token: h.jwt, json: { number: ++h.number, platform: 'vm6', ...body } });
        assert.equal(r.status, 201, r.text);
        return r.json;
    };

    h.checkToken = async (token) => {
        const r = await api(h.srv, 'GET', `/api/v1/check/token/${token}/`);
        assert.equal(r.status, 200, r.text);
        return r.json;
    };

    h.archives = async (number) => {
        const r = await api(h.srv, 'GET', `/api/v1/archives/?ticket=${number}`, { token: h.jwt });
        assert.equal(r.status, 200, r.text);
        return r.json;
    };

    /* A page in a browser context of its own (its own storage). */
    h.newPage = async ({ locale = 'en-US', scheme = 'light', viewport = DESKTOP } = {}) => {
        /* reduced motion: no transition is half-way when axe measures contrast */
        const ctx = await h.browser.newContext({ locale, colorScheme: scheme, viewport, reducedMotion: 'reduce' });
        const page = await ctx.newPage();
        page.setDefaultTimeout(30000);
        h.errors.push(watchConsole(page));
        /* leaving mid-upload asks first (beforeunload); the tests mean to leave */
        page.on('dialog', (d) => d.accept().catch(() => {}));
        return page;
    };

    /* Opens the link of token and waits for the page to have asked the server. */
    h.open = async (page, token) => {
        await page.goto(`${h.srv.url}/upload/${token}/`);
        await page.waitForSelector('#summary:not(:has(.spinner-border))');
        await page.waitForSelector('#app:not(.upload-pending)');
    };

    /* A file of size random bytes in the temp folder; its path. */
    h.file = (name, size) => {
        const p = path.join(h.tmp, name);
        const fd = fs.openSync(p, 'w');
        try {
            for (let left = size; left > 0;) {
                const n = Math.min(left, 1 << 20);
                fs.writeSync(fd, crypto.randomBytes(n));
                left -= n;
            }
        } finally {
            fs.closeSync(fd);
        }
        return p;
    };

    /* Every console error of every page, but failed loads (a server stopped on purpose). */
    h.consoleErrors = () => h.errors.flat().filter((e) => !/^Failed to load resource/.test(e));

    return h;
}
