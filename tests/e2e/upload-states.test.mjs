// upload-states.test.mjs - the customer's upload page in Debian's headless Chromium
// (playwright-core), what it says: used-up, resolved, expired and unknown links get a
// sentence that says what to do; Russian from Accept-Language, switchable and
// remembered, with its plural forms; axe-core with no serious or critical violation in
// both themes, both languages and at phone width; screenshots of each state
// (tests/e2e/screenshots/upload-states/). The uploads themselves: upload.test.mjs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { api } from '../api/lib/server.mjs';
import { checkA11y, DESKTOP, PHONE } from './lib.mjs';
import { uploadWorld } from './upload-lib.mjs';

describe('customer upload page: states, languages, accessibility', () => {
    const h = uploadWorld('upload-states');
    before(() => h.start());
    after(() => h.stop());

    test('used-up, resolved, expired and unknown links: a sentence that says what to do, and nothing to upload', async () => {
        const used = await h.ticket({ attempts: 0 });
        const resolved = await h.ticket({ resolved: true });
        const expired = await h.ticket();
        let r = await api(h.srv, 'PATCH', `/api/v1/tickets/${expired.number}/`, { token: h.jwt, json: { expires_at: new Date(Date.now() - 3600e3).toISOString() } });
        assert.equal(r.status, 200, r.text);
        const cases = [
            ['used-up', used.token, 'used_up', /All uploads of this link have been used\. To send more files, ask support for a new link\./,
                /Все загрузки по этой ссылке использованы/],
            ['resolved', resolved.token, 'resolved', new RegExp(`Ticket ${resolved.number} is closed, so this link no longer accepts files\\. .*ask support`),
                new RegExp(`Заявка ${resolved.number} закрыта`)],
            ['expired', expired.token, 'expired', /This upload link expired on .*\. Ask support for a new link\./, /Срок действия ссылки истёк/],
            ['unknown', crypto.randomUUID(), 'unknown', /This upload link is not valid\. .*ask support for a new link\./,
                /Эта ссылка для загрузки недействительна/],
        ];
        for (const [name, token, st, en, ru] of cases) {
            for (const [locale, re] of [['en-US', en], ['ru-RU', ru]]) {
                const page = await h.newPage({ locale });
                await h.open(page, token);
                await page.waitForSelector(`#state[data-state=${st}]`);
                assert.match(await page.textContent('#state'), re, `${name} (${locale})`);
                assert.equal(await page.locator('#choose').count(), 0, `${name}: no file picker`);
                assert.equal(await page.locator('#cli').textContent(), '', `${name}: no commands`);
                const text = await page.textContent('body');
                assert.doesNotMatch(text, /\b(423|403|404)\b/, 'no status codes');
                if (name !== 'unknown') assert.equal(await page.textContent('#fact-ticket'), String(name === 'used-up' ? used.number : name === 'resolved' ? resolved.number : expired.number));
                const lang = locale.slice(0, 2);
                for (const scheme of ['light', 'dark']) {
                    await page.emulateMedia({ colorScheme: scheme });
                    if (lang === 'en' || scheme === 'light') await checkA11y(page, `${name} (${locale}, ${scheme})`);
                    await h.shot(page, `states-${name}-${lang}-${scheme}`);
                }
                await page.context().close();
            }
        }
        /* nothing of any ticket for an unknown token */
        r = await api(h.srv, 'GET', `/api/v1/check/token/${crypto.randomUUID()}/`);
        assert.equal(r.status, 404);
    });

    test('in Russian: from Accept-Language, switchable, remembered; plural forms', async () => {
        const t5 = await h.ticket({ attempts: 5 });
        const t2 = await h.ticket({ attempts: 2 });
        const t1 = await h.ticket({ attempts: 1 });
        const t21 = await h.ticket({ attempts: 21 });
        const page = await h.newPage({ locale: 'ru-RU' });
        await h.open(page, t5.token);
        assert.equal(await page.getAttribute('html', 'lang'), 'ru');
        assert.equal(await page.textContent('h1'), `Отправка логов по заявке ${t5.number}`);
        assert.equal(await page.getAttribute('[data-lang=ru]', 'aria-pressed'), 'true');
        const forms = [[t5, 'можно отправить ещё 5 файлов.'], [t2, 'можно отправить ещё 2 файла.'],
            [t1, 'можно отправить ещё 1 файл.'], [t21, 'можно отправить ещё 21 файл.']];
        for (const [t, text] of forms) {
            await h.open(page, t.token);
            assert.ok((await page.textContent('#left-note')).endsWith(text), `${t.attempts}: ${await page.textContent('#left-note')}`);
        }
        assert.equal(await page.textContent('#choose'), ' Выбрать файлы');
        /* one catalogue per language, the same keys in each */
        const keys = await page.evaluate(async () => {
            const out = {};
            for (const e of performance.getEntriesByType('resource')) {
                const m = /\/i18n-(en|ru)\.[0-9a-f]+\.js$/.exec(e.name);
                if (m) out[m[1]] = Object.keys((await import(e.name)).default).sort();
            }
            return out;
        });
        assert.ok(keys.en?.length > 50, 'the English catalogue');
        assert.deepEqual(keys.ru, keys.en, 'the same keys in both catalogues');
        assert.match(await page.getAttribute('[data-theme-toggle]', 'aria-label'), /тему/);
        await checkA11y(page, 'the page in Russian');
        await h.shot(page, 'states-ready-ru-light');
        /* more files than uploads left: said before they go; the one refused says why */
        await h.open(page, t1.token);
        await page.setInputFiles('#files-input', [
            { name: 'a.log', mimeType: 'text/plain', buffer: Buffer.from('a') },
            { name: 'b.log', mimeType: 'text/plain', buffer: Buffer.from('b') },
        ]);
        await page.waitForSelector('#too-many');
        assert.equal(await page.textContent('#too-many'), 'Вы выбрали 2 файла, а по этой ссылке осталось только 1 загрузка: ' +
            'лишние файлы не будут приняты. Упакуйте их в один архив или попросите у поддержки больше загрузок.');
        await page.waitForSelector('#files [data-status=done]');
        await page.waitForSelector('#files [data-status=error]');
        assert.equal(await page.textContent('#files .file-error'),
            'Все загрузки по этой ссылке использованы, поэтому файл не принят. Попросите у поддержки новую ссылку.');
        await page.waitForSelector('#state[data-state=used_up]');
        await checkA11y(page, 'an upload refused, in Russian');
        await h.shot(page, 'states-refused-ru-light');
        /* switched to English: remembered over Accept-Language */
        await page.click('[data-lang=en]');
        assert.equal(await page.getAttribute('html', 'lang'), 'en');
        await page.reload();
        await page.waitForSelector('#fact-ticket');
        assert.equal(await page.getAttribute('html', 'lang'), 'en');
        assert.equal(await page.textContent('h1'), `Send log files for ticket ${t1.number}`);
        assert.match(await page.textContent('#state'), /All uploads of this link have been used/);
        await h.shot(page, 'states-refused-en-light');
        await page.click('[data-lang=ru]');
        await page.reload();
        await page.waitForSelector('#fact-ticket');
        assert.equal(await page.getAttribute('html', 'lang'), 'ru');
        /* English browsers get English */
        const en = await h.newPage({ locale: 'en-GB' });
        await h.open(en, t5.token);
        assert.equal(await en.getAttribute('html', 'lang'), 'en');
    });

    test('accessible in both themes, both languages and at phone width; screenshots of each state', async () => {
        const t = await h.ticket({ attempts: 5 });
        for (const scheme of ['light', 'dark']) {
            for (const [phone, viewport] of [[false, DESKTOP], [true, PHONE]]) {
                for (const locale of ['en-US', 'ru-RU']) {
                    const page = await h.newPage({ locale, scheme, viewport });
                    const sfx = `${locale.slice(0, 2)}-${scheme}${phone ? '-phone' : ''}`;
                    await h.open(page, t.token);
                    assert.equal(await page.getAttribute('html', 'data-bs-theme'), scheme);
                    await checkA11y(page, `ready (${sfx})`);
                    await h.shot(page, `states-ready-${sfx}`);
                    await page.goto(`${h.srv.url}/upload/`);
                    await page.waitForSelector('#token-form');
                    await checkA11y(page, `no token (${sfx})`);
                    await h.shot(page, `states-form-${sfx}`);
                    /* the theme switch of the console, labelled in the page's language */
                    await page.click('[data-theme-toggle]');
                    assert.equal(await page.getAttribute('html', 'data-bs-theme'), scheme === 'light' ? 'dark' : 'light');
                    await page.context().close();
                }
            }
        }
        /* keyboard: the language, theme and file buttons are reached with Tab */
        const page = await h.newPage();
        await h.open(page, t.token);
        const reached = [];
        for (let i = 0; i < 12; i++) {
            await page.keyboard.press('Tab');
            reached.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.dataset?.lang || document.activeElement?.textContent?.trim()));
        }
        assert.ok(reached.includes('en') && reached.includes('ru'), `Tab reaches the languages: ${reached}`);
        assert.ok(reached.includes('choose'), `Tab reaches the file button: ${reached}`);
    });

    test('no console errors (CSP violations included) on the way', () => {
        assert.deepEqual(h.consoleErrors(), []);
    });
});
