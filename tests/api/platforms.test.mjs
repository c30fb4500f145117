// platforms.test.mjs - platform CRUD, validation messages, rename and cascade delete,
// pagination (limit capped at 1000).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAndCheck, api, login, expectJson, expectFields } from './lib/server.mjs';

let srv;
let token;

before(async () => {
    srv = await startServer();
    token = (await login(srv)).access;
});
after(() => stopAndCheck(srv));

const NOT_FOUND = { detail: 'Not found.' };
// retention off, no extra mail recipients: the defaults of a platform's own settings
const OFF = { archives_keep_days: 0, resolve_after_days: 0, notify_emails: [] };
const REQUIRED = ['This field is required.'];
const SLUG = ['Enter a valid "slug" consisting of lowercase letters, numbers, underscores or hyphens.'];
const call = (method, p, json) => api(srv, method, p, { token, json });

function checkItem(item) {
    assert.deepEqual(Object.keys(item).sort(), ['archives_keep_days', 'id', 'name', 'notify_emails', 'pretty_name',
        'resolve_after_days']);
    assert.equal(typeof item.id, 'number');
    assert.ok(Number.isInteger(item.id) && item.id > 0);
}

test('create returns 201 with the item; get returns it; list is ordered by id', async () => {
    const made = [];
    for (const [name, pretty] of [['zeta', 'Zeta product'], ['alpha', 'Alpha'], ['vm6', 'VMmanager 6']]) {
        const r = await call('POST', '/api/v1/platforms/', { name, pretty_name: pretty });
        expectJson(r, 201, undefined, `create ${name}`);
        checkItem(r.json);
        assert.equal(r.json.name, name);
        assert.equal(r.json.pretty_name, pretty);
        made.push(r.json);
    }
    assert.ok(made[0].id < made[1].id && made[1].id < made[2].id, 'ids grow');

    const g = await call('GET', '/api/v1/platforms/vm6/');
    expectJson(g, 200, made[2]);

    const l = await call('GET', '/api/v1/platforms/');
    expectJson(l, 200);
    assert.ok(Array.isArray(l.json));
    for (const it of l.json) checkItem(it);
    const ids = l.json.map((p) => p.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'ordered by id');
    for (const m of made) assert.deepEqual(l.json.find((p) => p.id === m.id), m);
});

test('boundary lengths and characters accepted', async () => {
    const name20 = 'a'.repeat(18) + '_-';
    let r = await call('POST', '/api/v1/platforms/', { name: name20, pretty_name: 'P'.repeat(100) });
    expectJson(r, 201);
    assert.equal(r.json.name, name20);
    r = await call('POST', '/api/v1/platforms/', { name: 'x', pretty_name: 'Ü ünïcode ✓' });
    expectJson(r, 201);
    assert.equal(r.json.pretty_name, 'Ü ünïcode ✓');
    r = await call('GET', '/api/v1/platforms/x/');
    expectJson(r, 200);
    assert.equal(r.json.pretty_name, 'Ü ünïcode ✓');
});

test('duplicate name, bad slug, too long, missing and wrong-typed fields: 400', async () => {
    await call('POST', '/api/v1/platforms/', { name: 'dup', pretty_name: 'Dup' });
    let r = await call('POST', '/api/v1/platforms/', { name: 'dup', pretty_name: 'Again' });
    expectJson(r, 400, { name: ['platform with this name already exists.'] }, 'duplicate');

    for (const bad of ['Bad Name', 'VM6', 'a.b', 'a/b', 'é']) {
        r = await call('POST', '/api/v1/platforms/', { name: bad, pretty_name: 'x' });
        expectJson(r, 400, { name: SLUG }, `slug ${JSON.stringify(bad)}`);
    }
    r = await call('POST', '/api/v1/platforms/', { name: 'a'.repeat(21), pretty_name: 'x' });
    expectJson(r, 400, { name: ['Ensure this field has no more than 20 characters.'] }, '21 chars');

    r = await call('POST', '/api/v1/platforms/', {});
    expectJson(r, 400, { name: REQUIRED, pretty_name: REQUIRED }, 'empty object');
    r = await call('POST', '/api/v1/platforms/', { name: 'onlyname' });
    expectJson(r, 400, { pretty_name: REQUIRED }, 'no pretty_name');

    r = await call('POST', '/api/v1/platforms/', { name: 5, pretty_name: 'x' });
    expectJson(r, 400, { name: ['Not a valid string.'] }, 'name as number');
    r = await call('POST', '/api/v1/platforms/', { name: '', pretty_name: 'x' });
    expectFields(r, ['name'], 'empty name');
    r = await call('POST', '/api/v1/platforms/', { name: 'okname', pretty_name: '' });
    expectFields(r, ['pretty_name'], 'empty pretty_name');
    r = await call('POST', '/api/v1/platforms/', { name: 'okname', pretty_name: 'p'.repeat(101) });
    expectFields(r, ['pretty_name'], '101-char pretty_name');

    // Nothing of the refused ones was stored.
    const l = await call('GET', '/api/v1/platforms/');
    assert.equal(l.json.filter((p) => p.name === 'dup').length, 1);
    assert.equal(l.json.find((p) => p.name === 'okname'), undefined);
});

test('get, put, patch, delete of an unknown platform: 404', async () => {
    for (const [m, body] of [['GET'], ['PUT', { name: 'q', pretty_name: 'q' }], ['PATCH', { pretty_name: 'q' }], ['DELETE']]) {
        const r = await call(m, '/api/v1/platforms/no-such/', body);
        expectJson(r, 404, NOT_FOUND, m);
    }
});

test('PUT requires both fields; PATCH changes a subset', async () => {
    await call('POST', '/api/v1/platforms/', { name: 'editme', pretty_name: 'Edit me' });
    let r = await call('PUT', '/api/v1/platforms/editme/', { pretty_name: 'Only pretty' });
    expectJson(r, 400, { name: REQUIRED }, 'PUT without name');
    r = await call('PUT', '/api/v1/platforms/editme/', { name: 'editme', pretty_name: 'Put pretty' });
    expectJson(r, 200);
    checkItem(r.json);
    assert.equal(r.json.pretty_name, 'Put pretty');
    const id = r.json.id;

    r = await call('PATCH', '/api/v1/platforms/editme/', { pretty_name: 'Patched' });
    expectJson(r, 200, { id, name: 'editme', pretty_name: 'Patched', ...OFF });
    r = await call('PATCH', '/api/v1/platforms/editme/', {});
    expectJson(r, 200, { id, name: 'editme', pretty_name: 'Patched', ...OFF }, 'empty PATCH');
    r = await call('PATCH', '/api/v1/platforms/editme/', { name: 'Not A Slug' });
    expectJson(r, 400, { name: SLUG }, 'PATCH bad name');
    r = await call('PATCH', '/api/v1/platforms/editme/', { name: 'vm6' });
    expectJson(r, 400, { name: ['platform with this name already exists.'] }, 'rename onto existing');
    r = await call('GET', '/api/v1/platforms/editme/');
    expectJson(r, 200, { id, name: 'editme', pretty_name: 'Patched', ...OFF }, 'unchanged by refused edits');
});

test('renaming keeps the tickets; deleting cascades to them', async () => {
    let r = await call('POST', '/api/v1/platforms/', { name: 'old-name', pretty_name: 'Old' });
    expectJson(r, 201);
    const id = r.json.id;
    r = await call('POST', '/api/v1/tickets/', { number: 777001, platform: 'old-name' });
    expectJson(r, 201, undefined, 'ticket create');
    r = await call('POST', '/api/v1/tickets/', { number: 777002, platform: 'old-name' });
    expectJson(r, 201, undefined, 'ticket create');

    r = await call('PATCH', '/api/v1/platforms/old-name/', { name: 'new-name' });
    expectJson(r, 200, { id, name: 'new-name', pretty_name: 'Old', ...OFF });
    expectJson(await call('GET', '/api/v1/platforms/old-name/'), 404, NOT_FOUND, 'old name gone');
    r = await call('GET', '/api/v1/tickets/777001/');
    expectJson(r, 200);
    assert.equal(r.json.platform, 'new-name');

    // PUT rename as well.
    r = await call('PUT', '/api/v1/platforms/new-name/', { name: 'newer', pretty_name: 'Newer' });
    expectJson(r, 200, { id, name: 'newer', pretty_name: 'Newer', ...OFF });
    r = await call('GET', '/api/v1/tickets/777002/');
    assert.equal(r.json.platform, 'newer');

    r = await call('DELETE', '/api/v1/platforms/newer/');
    assert.equal(r.status, 204);
    assert.equal(r.text, '', '204 has no body');
    expectJson(await call('GET', '/api/v1/platforms/newer/'), 404, NOT_FOUND, 'platform gone');
    expectJson(await call('GET', '/api/v1/tickets/777001/'), 404, NOT_FOUND, 'ticket 1 gone');
    expectJson(await call('GET', '/api/v1/tickets/777002/'), 404, NOT_FOUND, 'ticket 2 gone');
    expectJson(await call('DELETE', '/api/v1/platforms/newer/'), 404, NOT_FOUND, 'second delete');
    const l = await call('GET', '/api/v1/tickets/?number=777001,777002');
    expectJson(l, 200, []);
});

test('platform routes need staff authentication', async () => {
    for (const [m, p] of [['GET', '/api/v1/platforms/'], ['POST', '/api/v1/platforms/'], ['GET', '/api/v1/platforms/vm6/'], ['DELETE', '/api/v1/platforms/vm6/']]) {
        const r = await api(srv, m, p, { json: m === 'POST' ? { name: 'anon', pretty_name: 'a' } : undefined });
        expectJson(r, 401, { detail: 'Authentication credentials were not provided.' }, `${m} ${p}`);
    }
    expectJson(await call('GET', '/api/v1/platforms/vm6/'), 200, undefined, 'vm6 survived');
});

test('pagination of platforms: envelope, next/previous; limit is capped at 1000', async () => {
    const s = await startServer();
    try {
        const tk = (await login(s)).access;
        const N = 1003;
        for (let b = 0; b < N; b += 25) {
            const batch = [];
            for (let i = b; i < Math.min(N, b + 25); i++) {
                batch.push(api(s, 'POST', '/api/v1/platforms/', {
                    token: tk, json: { name: `p${String(i).padStart(4, '0')}`, pretty_name: `P ${i}` },
                }));
            }
            for (const r of await Promise.all(batch)) expectJson(r, 201, undefined, 'create');
        }
        const all = await api(s, 'GET', '/api/v1/platforms/', { token: tk });
        expectJson(all, 200);
        assert.equal(all.json.length, N, 'without limit/offset: the whole plain list');
        const ids = all.json.map((x) => x.id);
        assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'ordered by id');

        const page = await api(s, 'GET', '/api/v1/platforms/?limit=2&offset=1', { token: tk });
        expectJson(page, 200);
        assert.deepEqual(Object.keys(page.json).sort(), ['count', 'next', 'previous', 'results']);
        assert.equal(page.json.count, N);
        assert.deepEqual(page.json.results, all.json.slice(1, 3));
        const next = new URL(page.json.next);
        assert.equal(next.pathname.replace(/\/$/, ''), '/api/v1/platforms');
        assert.deepEqual([next.searchParams.get('limit'), next.searchParams.get('offset')], ['2', '3']);
        const prev = new URL(page.json.previous);
        assert.equal(prev.searchParams.get('offset') ?? '0', '0');
        const p2 = await api(s, 'GET', next.pathname + next.search, { token: tk });
        assert.deepEqual(p2.json.results, all.json.slice(3, 5), 'following next');

        // limit over 1000 is capped at 1000 (docs/api.md)
        const big = await api(s, 'GET', '/api/v1/platforms/?limit=5000', { token: tk });
        expectJson(big, 200);
        assert.equal(big.json.count, N);
        assert.equal(big.json.results.length, 1000, 'at most 1000 items a page');
        assert.deepEqual(big.json.results, all.json.slice(0, 1000));
        const bn = new URL(big.json.next);
        assert.deepEqual([bn.searchParams.get('limit'), bn.searchParams.get('offset')], ['1000', '1000']);
        const rest = await api(s, 'GET', bn.pathname + bn.search, { token: tk });
        assert.deepEqual(rest.json.results, all.json.slice(1000));
        assert.equal(rest.json.next, null);
        // limit=1000 exactly is not cut
        const exact = await api(s, 'GET', '/api/v1/platforms/?limit=1000&offset=3', { token: tk });
        assert.equal(exact.json.results.length, 1000);
        assert.equal(exact.json.next, null);
        for (const qs of ['limit=-1', 'limit=x', 'offset=-1', 'offset=1.5']) {
            expectFields(await api(s, 'GET', `/api/v1/platforms/?${qs}`, { token: tk }), [qs.split('=')[0]], qs);
        }
    } finally {
        await stopAndCheck(s);
    }
});
