// tickets.test.mjs - ticket CRUD, validation, token renewal, filters, pagination, size.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    startServer, stopAndCheck, api, login, expectJson, expectFields, UUID4, RFC3339,
} from './lib/server.mjs';

let srv;
let token;

before(async () => {
    srv = await startServer();
    token = (await login(srv)).access;
    for (const [name, pretty_name] of [['vm6', 'VMmanager 6'], ['dci6', 'DCImanager 6']]) {
        const r = await api(srv, 'POST', '/api/v1/platforms/', { token, json: { name, pretty_name } });
        assert.equal(r.status, 201, r.text);
    }
});
after(() => stopAndCheck(srv));

const NOT_FOUND = { detail: 'Not found.' };
const REQUIRED = ['This field is required.'];
const KEYS = ['archives', 'attempts', 'expires_at', 'id', 'note', 'number', 'platform', 'resolved',
    'size', 'time_create', 'time_update', 'token', 'user'];
const DAY = 86400 * 1000;
const call = (method, p, json) => api(srv, method, p, { token, json });

/* Asserts the shape every ticket item has. */
function checkItem(t) {
    assert.deepEqual(Object.keys(t).sort(), KEYS, 'ticket item keys');
    assert.ok(Number.isInteger(t.id) && t.id > 0);
    assert.ok(Number.isInteger(t.number) && t.number > 0);
    assert.equal(typeof t.resolved, 'boolean');
    assert.match(t.token, UUID4);
    assert.ok(Number.isInteger(t.attempts));
    assert.equal(typeof t.platform, 'string');
    assert.match(t.time_create, RFC3339);
    assert.match(t.time_update, RFC3339);
    assert.ok(t.user === null || typeof t.user === 'string');
    assert.equal(typeof t.note, 'string');
    assert.ok(t.expires_at === null || RFC3339.test(t.expires_at), `expires_at ${t.expires_at}`);
    assert.ok(Number.isInteger(t.archives) && t.archives >= 0);
    assert.ok(Number.isInteger(t.size) && t.size >= 0);
}

async function create(body) {
    const r = await call('POST', '/api/v1/tickets/', body);
    expectJson(r, 201, undefined, `create ${JSON.stringify(body)}`);
    checkItem(r.json);
    return r.json;
}

async function all() {
    const r = await call('GET', '/api/v1/tickets/');
    expectJson(r, 200);
    assert.ok(Array.isArray(r.json));
    return r.json;
}

test('create with defaults', async () => {
    const before = Date.now();
    const t = await create({ number: 1001, platform: 'vm6' });
    assert.equal(t.number, 1001);
    assert.equal(t.attempts, 5);
    assert.equal(t.user, 'admin');
    assert.equal(t.platform, 'vm6');
    assert.equal(t.resolved, false);
    assert.equal(t.note, '');
    assert.equal(t.archives, 0);
    assert.equal(t.size, 0);
    const tc = Date.parse(t.time_create);
    assert.ok(Math.abs(tc - before) < 60000, `time_create ${t.time_create} is now`);
    assert.ok(Date.parse(t.time_update) >= tc - 1);
    const exp = Date.parse(t.expires_at);
    assert.ok(Math.abs(exp - (before + 7 * DAY)) < 120000, `expires_at ${t.expires_at} is now + 7 d`);

    const g = await call('GET', '/api/v1/tickets/1001/');
    expectJson(g, 200, t, 'GET returns the created item');
    const g2 = await call('GET', '/api/v1/tickets/1001');
    expectJson(g2, 200, t, 'GET without trailing slash');
});

test('create with every optional field; read-only fields ignored; numeric string number', async () => {
    const t = await create({
        number: '1002', platform: 'dci6', attempts: 0, note: 'Logs of **node 3**\n- a\n- b',
        resolved: true, expires_at: '2030-01-02T03:04:05Z',
        id: 99999, token: '00000000-0000-4000-8000-000000000000', user: 'mallory',
        time_create: '2000-01-01T00:00:00Z', archives: 7, size: 12345,
    });
    assert.equal(t.number, 1002);
    assert.equal(t.platform, 'dci6');
    assert.equal(t.attempts, 0);
    assert.equal(t.note, 'Logs of **node 3**\n- a\n- b');
    assert.equal(t.resolved, true);
    assert.equal(Date.parse(t.expires_at), Date.parse('2030-01-02T03:04:05Z'));
    assert.notEqual(t.id, 99999);
    assert.notEqual(t.token, '00000000-0000-4000-8000-000000000000');
    assert.equal(t.user, 'admin');
    assert.ok(Date.parse(t.time_create) > Date.parse('2020-01-01T00:00:00Z'));
    assert.equal(t.archives, 0);
    assert.equal(t.size, 0);

    const n = await create({ number: 1003, platform: 'vm6', expires_at: null, attempts: 100 });
    assert.equal(n.expires_at, null, 'expires_at null = never');
    assert.equal(n.attempts, 100);
    const big = await create({ number: 2147483647, platform: 'vm6', note: 'x'.repeat(65536) });
    assert.equal(big.note.length, 65536);
    const del = await call('DELETE', '/api/v1/tickets/2147483647/');
    assert.equal(del.status, 204);
});

test('tokens are distinct UUID v4', async () => {
    const ts = (await all()).map((t) => t.token);
    assert.equal(new Set(ts).size, ts.length);
    for (const t of ts) assert.match(t, UUID4);
});

test('create refusals: duplicate, bad number, unknown platform, bad attempts and fields', async () => {
    const cases = [
        [{ number: 1001, platform: 'vm6' }, { number: ['ticket with this number already exists.'] }],
        [{ number: 'abc', platform: 'vm6' }, { number: ['A valid integer is required.'] }],
        [{ number: 0, platform: 'vm6' }, { number: ['Ensure this value is greater than or equal to 1.'] }],
        [{ number: -1, platform: 'vm6' }, { number: ['Ensure this value is greater than or equal to 1.'] }],
        [{ number: 5001, platform: 'nope' }, { platform: ['Invalid pk "nope" - object does not exist.'] }],
        [{ number: 5001, platform: 'vm6', attempts: 101 }, { attempts: ['Ensure this value is less than or equal to 100.'] }],
        [{ number: 5001, platform: 'vm6', attempts: -1 }, { attempts: ['Ensure this value is greater than or equal to 0.'] }],
        [{ number: 5001, platform: 'vm6', resolved: 'maybe' }, { resolved: ['Must be a valid boolean.'] }],
        [{ number: 5001, platform: 'vm6', expires_at: 'tomorrow' }, { expires_at: ['Datetime has wrong format. Use RFC 3339.'] }],
        [{}, { number: REQUIRED, platform: REQUIRED }],
        [{ platform: 'vm6' }, { number: REQUIRED }],
        [{ number: 5001 }, { platform: REQUIRED }],
    ];
    for (const [body, want] of cases) {
        const r = await call('POST', '/api/v1/tickets/', body);
        expectJson(r, 400, want, JSON.stringify(body));
    }
    for (const [body, key] of [
        [{ number: 2147483648, platform: 'vm6' }, 'number'],
        [{ number: 1.5, platform: 'vm6' }, 'number'],
        [{ number: 5001, platform: 'vm6', attempts: 'many' }, 'attempts'],
        [{ number: 5001, platform: 'vm6', note: 'x'.repeat(65537) }, 'note'],
        [{ number: 5001, platform: 'vm6', note: 5 }, 'note'],
    ]) {
        expectFields(await call('POST', '/api/v1/tickets/', body), [key], JSON.stringify(body).slice(0, 80));
    }
    expectJson(await call('GET', '/api/v1/tickets/5001/'), 404, NOT_FOUND, 'nothing stored');
});

test('get / put / patch / delete of unknown or non-numeric numbers: 404', async () => {
    for (const n of ['424242', 'abc', '0', '-1']) {
        expectJson(await call('GET', `/api/v1/tickets/${n}/`), 404, NOT_FOUND, `GET ${n}`);
        expectJson(await call('PATCH', `/api/v1/tickets/${n}/`, { note: 'x' }), 404, NOT_FOUND, `PATCH ${n}`);
        expectJson(await call('PUT', `/api/v1/tickets/${n}/`, { number: 424243, platform: 'vm6' }), 404, NOT_FOUND, `PUT ${n}`);
        expectJson(await call('DELETE', `/api/v1/tickets/${n}/`), 404, NOT_FOUND, `DELETE ${n}`);
    }
});

test('PATCH resolves and edits a subset; PUT requires number and platform', async () => {
    const t = await create({ number: 3001, platform: 'vm6' });
    let r = await call('PATCH', '/api/v1/tickets/3001/', { resolved: true });
    expectJson(r, 200);
    checkItem(r.json);
    assert.equal(r.json.resolved, true);
    assert.equal(r.json.token, t.token);
    assert.equal(r.json.time_create, t.time_create);
    assert.ok(r.json.time_update >= t.time_update, 'time_update moves forward');
    const c = await api(srv, 'GET', `/api/v1/check/token/${t.token}/`);
    expectJson(c, 200);
    assert.equal(c.json.resolved, true, 'check/token shows the ticket resolved');

    r = await call('PATCH', '/api/v1/tickets/3001/', { note: 'patched', attempts: 2 });
    expectJson(r, 200);
    assert.deepEqual([r.json.note, r.json.attempts, r.json.resolved, r.json.platform], ['patched', 2, true, 'vm6']);
    r = await call('PATCH', '/api/v1/tickets/3001/', { attempts: 101 });
    expectJson(r, 400, { attempts: ['Ensure this value is less than or equal to 100.'] });
    r = await call('PATCH', '/api/v1/tickets/3001/', { platform: 'nope' });
    expectJson(r, 400, { platform: ['Invalid pk "nope" - object does not exist.'] });
    r = await call('PATCH', '/api/v1/tickets/3001/', { number: 1001 });
    expectJson(r, 400, { number: ['ticket with this number already exists.'] });

    r = await call('PUT', '/api/v1/tickets/3001/', { note: 'no number' });
    expectJson(r, 400, { number: REQUIRED, platform: REQUIRED });
    r = await call('PUT', '/api/v1/tickets/3001/', { number: 3002, platform: 'dci6', note: 'put' });
    expectJson(r, 200);
    checkItem(r.json);
    assert.equal(r.json.id, t.id);
    assert.equal(r.json.number, 3002);
    assert.equal(r.json.platform, 'dci6');
    assert.equal(r.json.note, 'put');
    expectJson(await call('GET', '/api/v1/tickets/3001/'), 404, NOT_FOUND, 'old number gone');
    r = await call('GET', '/api/v1/tickets/3002/');
    expectJson(r, 200);
    assert.equal(r.json.id, t.id);
});

test('DELETE gives 204 then 404', async () => {
    const t = await create({ number: 3100, platform: 'vm6' });
    const r = await call('DELETE', '/api/v1/tickets/3100/');
    assert.equal(r.status, 204);
    assert.equal(r.text, '');
    expectJson(await call('GET', '/api/v1/tickets/3100/'), 404, NOT_FOUND);
    expectJson(await call('DELETE', '/api/v1/tickets/3100/'), 404, NOT_FOUND);
    expectJson(await api(srv, 'GET', `/api/v1/check/token/${t.token}/`), 404, NOT_FOUND, 'token gone');
});

test('POST /tickets/N/token/ issues a new token and resets attempts and lifetime', async () => {
    const t = await create({ number: 3200, platform: 'vm6', attempts: 1, expires_at: '2031-05-05T00:00:00Z' });
    await call('PATCH', '/api/v1/tickets/3200/', { attempts: 0 });
    const now = Date.now();
    let r = await api(srv, 'POST', '/api/v1/tickets/3200/token/', { token });
    expectJson(r, 200, undefined, 'no body');
    checkItem(r.json);
    assert.notEqual(r.json.token, t.token);
    assert.equal(r.json.attempts, 5);
    assert.equal(r.json.id, t.id);
    assert.ok(Math.abs(Date.parse(r.json.expires_at) - (now + 7 * DAY)) < 120000, 'expires_at reset');
    expectJson(await api(srv, 'GET', `/api/v1/check/token/${t.token}/`), 404, NOT_FOUND, 'old token dead');
    const c = await api(srv, 'GET', `/api/v1/check/token/${r.json.token}/`);
    expectJson(c, 200);
    assert.equal(c.json.attempts, 5);
    const g = await call('GET', '/api/v1/tickets/3200/');
    assert.equal(g.json.token, r.json.token);

    const second = r.json.token;
    r = await call('POST', '/api/v1/tickets/3200/token', { attempts: 7 });
    expectJson(r, 200, undefined, 'with attempts');
    assert.equal(r.json.attempts, 7);
    assert.notEqual(r.json.token, second);
    r = await call('POST', '/api/v1/tickets/3200/token/', { attempts: 101 });
    expectJson(r, 400, { attempts: ['Ensure this value is less than or equal to 100.'] });
    expectJson(await call('POST', '/api/v1/tickets/999998/token/'), 404, NOT_FOUND, 'unknown ticket');
    expectJson(await api(srv, 'POST', '/api/v1/tickets/3200/token/'), 401, undefined, 'anonymous');
});

test('ticket routes need staff authentication', async () => {
    const want = { detail: 'Authentication credentials were not provided.' };
    expectJson(await api(srv, 'GET', '/api/v1/tickets/'), 401, want);
    expectJson(await api(srv, 'POST', '/api/v1/tickets/', { json: { number: 6001, platform: 'vm6' } }), 401, want);
    expectJson(await api(srv, 'GET', '/api/v1/tickets/1001/'), 401, want);
    expectJson(await api(srv, 'DELETE', '/api/v1/tickets/1001/'), 401, want);
    expectJson(await call('GET', '/api/v1/tickets/1001/'), 200, undefined, 'still there');
});

test('list is newest first', async () => {
    const l = await all();
    for (const t of l) checkItem(t);
    for (let i = 1; i < l.length; i++) {
        const a = l[i - 1];
        const b = l[i];
        assert.ok(
            a.time_create > b.time_create || (a.time_create === b.time_create && a.id > b.id),
            `order: ${a.number}@${a.time_create} before ${b.number}@${b.time_create}`,
        );
    }
});

/* ---- filters ---- */

const nums = (list) => list.map((t) => t.number).sort((a, b) => a - b);

async function filtered(qs) {
    const r = await call('GET', `/api/v1/tickets/?${qs}`);
    expectJson(r, 200, undefined, qs);
    assert.ok(Array.isArray(r.json), `${qs}: plain array`);
    return r.json;
}

async function expectFilter(qs, pred, { nonEmpty = true } = {}) {
    const want = nums((await all()).filter(pred));
    const got = nums(await filtered(qs));
    assert.deepEqual(got, want, `filter ${qs}`);
    if (nonEmpty) assert.ok(want.length > 0, `filter ${qs}: test data gives a non-empty result`);
}

test('filters', async () => {
    for (const n of [1, 2, 3, 12, 21, 123, 1234, 5012]) await create({ number: n, platform: 'vm6' });
    await call('PATCH', '/api/v1/tickets/2/', { resolved: true });
    await call('PATCH', '/api/v1/tickets/123/', { resolved: true });
    const list = await all();
    const byNum = new Map(list.map((t) => [t.number, t]));
    const has = (t, ...ns) => ns.includes(t.number);

    assert.deepEqual(nums(await filtered('number=1,2')), [1, 2]);
    assert.deepEqual(nums(await filtered('number=12')), [12]);
    assert.deepEqual(nums(await filtered('number__in=1,3,999999')), [1, 3]);
    await expectFilter('number__contains=12', (t) => String(t.number).includes('12'));
    await expectFilter('number__lte=12', (t) => t.number <= 12);
    await expectFilter('number__gte=123', (t) => t.number >= 123);
    await expectFilter('number__gte=3&number__lte=21', (t) => t.number >= 3 && t.number <= 21);
    const id1 = byNum.get(1).id;
    const id12 = byNum.get(12).id;
    assert.deepEqual(nums(await filtered(`id=${id1}`)), [1]);
    assert.deepEqual(nums(await filtered(`id=${id1},${id12}`)), [1, 12]);
    assert.deepEqual(nums(await filtered(`id__in=${id1},${id12}`)), [1, 12]);
    await expectFilter(`id__lte=${id12}`, (t) => t.id <= id12);
    await expectFilter(`id__gte=${id12}`, (t) => t.id >= id12);
    for (const v of ['true', 'True', '1']) await expectFilter(`resolved=${v}`, (t) => t.resolved);
    for (const v of ['false', 'False', '0']) await expectFilter(`resolved=${v}`, (t) => !t.resolved);
    await expectFilter('resolved=true&number__lte=1000', (t) => t.resolved && t.number <= 1000);
    assert.deepEqual(nums(await filtered('resolved=true&number__lte=1000')), [2, 123]);
    await expectFilter('user=admin', (t) => t.user === 'admin');
    assert.equal((await filtered('user=admin')).length, list.length);
    assert.deepEqual(await filtered('user=nobody'), []);
    await expectFilter('search=12', (t) => String(t.number).includes('12'));
    await expectFilter('search=5012', (t) => has(t, 5012));

    // Time filters, in the server's TZ (UTC here: the harness does not set TZ), against
    // the tickets' own time_create: right across midnight and month ends too.
    const yearOf = (t) => Number(t.time_create.slice(0, 4));
    const monthOf = (t) => Number(t.time_create.slice(5, 7));
    const years = list.map(yearOf);
    const months = list.map(monthOf);
    const [y0, y1] = [Math.min(...years), Math.max(...years)];
    const [m0, m1] = [Math.min(...months), Math.max(...months)];
    await expectFilter(`year__gte=${y0}`, () => true);
    await expectFilter(`year__lte=${y1}`, () => true);
    await expectFilter(`year__gte=${y1}`, (t) => yearOf(t) >= y1);
    await expectFilter(`year__lte=${y0}`, (t) => yearOf(t) <= y0);
    assert.deepEqual(await filtered(`year__lte=${y0 - 1}`), []);
    assert.deepEqual(await filtered(`year__gte=${y1 + 1}`), []);
    await expectFilter(`month__gte=${m0}`, () => true);
    await expectFilter(`month__lte=${m1}`, () => true);
    await expectFilter(`month__gte=${m1}`, (t) => monthOf(t) >= m1);
    await expectFilter(`month__lte=${m0}`, (t) => monthOf(t) <= m0);
    await expectFilter(`month__gte=${m1}&month__lte=${m1}&year__gte=${y1}`,
        (t) => monthOf(t) === m1 && yearOf(t) >= y1);
    // A month no ticket has, on each side (there is one unless all twelve occur).
    const absentAbove = [12, 11, 10].find((m) => m > m1);
    if (absentAbove) assert.deepEqual(await filtered(`month__gte=${absentAbove}`), [], `month__gte=${absentAbove}`);
    const absentBelow = [1, 2, 3].find((m) => m < m0);
    if (absentBelow) assert.deepEqual(await filtered(`month__lte=${absentBelow}`), [], `month__lte=${absentBelow}`);

    // Unknown parameters are ignored.
    assert.equal((await filtered('colour=blue')).length, list.length);
    // Filters combine with AND.
    assert.deepEqual(nums(await filtered('number=1,2,3&resolved=false&search=3')), [3]);
});

test('malformed filter values: 400 naming the parameter', async () => {
    let r = await call('GET', '/api/v1/tickets/?number__lte=abc');
    expectJson(r, 400, { number__lte: ['Enter a number.'] });
    for (const qs of ['number=1,x', 'number__in=a', 'number__gte=1.5x', 'id=abc', 'id__in=1,b',
        'id__lte=x', 'id__gte=x', 'resolved=maybe', 'year__gte=abc', 'year__lte=x',
        'month__gte=x', 'month__lte=x']) {
        r = await call('GET', `/api/v1/tickets/?${qs}`);
        expectFields(r, [qs.split('=')[0]], qs);
    }
    const many = Array.from({ length: 101 }, (_, i) => i + 1).join(',');
    r = await call('GET', `/api/v1/tickets/?number__in=${many}`);
    expectFields(r, ['number__in'], '101 values in a comma list');
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1).join(',');
    r = await call('GET', `/api/v1/tickets/?number__in=${hundred}`);
    expectJson(r, 200, undefined, '100 values in a comma list');
});

test('pagination', async () => {
    const full = await all();
    assert.ok(full.length >= 6);
    let r = await call('GET', '/api/v1/tickets/?limit=2');
    expectJson(r, 200);
    assert.deepEqual(Object.keys(r.json).sort(), ['count', 'next', 'previous', 'results']);
    assert.equal(r.json.count, full.length);
    assert.deepEqual(r.json.results, full.slice(0, 2));
    assert.equal(r.json.previous, null);
    assert.equal(typeof r.json.next, 'string');
    const next = new URL(r.json.next, srv.url);
    assert.equal(next.searchParams.get('offset'), '2');
    assert.equal(next.searchParams.get('limit'), '2');
    assert.match(next.pathname, /^\/api\/v1\/tickets\/?$/);

    r = await call('GET', next.pathname + next.search);
    expectJson(r, 200, undefined, 'following next');
    assert.deepEqual(r.json.results, full.slice(2, 4));
    assert.equal(typeof r.json.previous, 'string', 'second page has previous');
    const prev = new URL(r.json.previous, srv.url);
    const p = await call('GET', prev.pathname + prev.search);
    assert.deepEqual(p.json.results, full.slice(0, 2), 'following previous');

    r = await call('GET', '/api/v1/tickets/?limit=2&offset=2');
    assert.deepEqual(r.json.results, full.slice(2, 4));

    r = await call('GET', `/api/v1/tickets/?limit=2&offset=${full.length - 2}`);
    expectJson(r, 200);
    assert.deepEqual(r.json.results, full.slice(-2));
    assert.equal(r.json.next, null, 'last page: next null');
    assert.equal(r.json.count, full.length);

    r = await call('GET', `/api/v1/tickets/?offset=${full.length + 10}`);
    expectJson(r, 200);
    assert.deepEqual(r.json.results, [], 'offset past the end');
    assert.equal(r.json.next, null);

    r = await call('GET', '/api/v1/tickets/?offset=0');
    expectJson(r, 200, undefined, 'offset only');
    assert.deepEqual(r.json.results, full.slice(0, 100), 'limit defaults to 100');

    // Filters survive into the next link.
    r = await call('GET', '/api/v1/tickets/?resolved=false&limit=1');
    const unresolved = full.filter((t) => !t.resolved);
    assert.equal(r.json.count, unresolved.length);
    const n2 = new URL(r.json.next, srv.url);
    assert.equal(n2.searchParams.get('resolved'), 'false');
    r = await call('GET', n2.pathname + n2.search);
    assert.deepEqual(r.json.results, unresolved.slice(1, 2));

    // Without limit/offset: the plain array.
    r = await call('GET', '/api/v1/tickets/');
    assert.ok(Array.isArray(r.json));

    for (const qs of ['limit=-1', 'limit=abc', 'offset=-1', 'offset=x', 'limit=1.5']) {
        r = await call('GET', `/api/v1/tickets/?${qs}`);
        expectFields(r, [qs.split('=')[0]], qs);
    }
});

test('300 tickets created concurrently are all listed in one request', async () => {
    const base = 100000;
    const N = 300;
    const made = [];
    for (let b = 0; b < N; b += 20) {
        const batch = [];
        for (let i = b; i < b + 20; i++)
            batch.push(call('POST', '/api/v1/tickets/', { number: base + i, platform: i % 2 ? 'vm6' : 'dci6', note: `bulk ${i}` }));
        for (const r of await Promise.all(batch)) {
            expectJson(r, 201, undefined, 'bulk create');
            made.push(r.json);
        }
    }
    const l = await all();
    const got = l.filter((t) => t.number >= base && t.number < base + N);
    assert.equal(got.length, N);
    assert.deepEqual(nums(got), Array.from({ length: N }, (_, i) => base + i));
    const tokens = new Set(l.map((t) => t.token));
    assert.equal(tokens.size, l.length, 'all tokens distinct');
    const ids = new Set(l.map((t) => t.id));
    assert.equal(ids.size, l.length, 'all ids distinct');
    const r = await call('GET', `/api/v1/tickets/?number__gte=${base}&limit=1000`);
    expectJson(r, 200);
    assert.equal(r.json.count, N);
    assert.equal(r.json.results.length, N);
    assert.equal(r.json.next, null);
    const page = await call('GET', `/api/v1/tickets/?number__gte=${base}&offset=0`);
    assert.equal(page.json.results.length, 100);
    assert.equal(new URL(page.json.next, srv.url).searchParams.get('offset'), '100');
});

test('UPLOAD_ATTEMPTS and UPLOAD_TOKEN_TTL set the defaults', async () => {
    const s2 = await startServer({ env: { UPLOAD_ATTEMPTS: '3', UPLOAD_TOKEN_TTL: '1h' } });
    try {
        const tk = (await login(s2)).access;
        expectJson(await api(s2, 'POST', '/api/v1/platforms/', { token: tk, json: { name: 'p', pretty_name: 'P' } }), 201);
        const now = Date.now();
        const r = await api(s2, 'POST', '/api/v1/tickets/', { token: tk, json: { number: 1, platform: 'p' } });
        expectJson(r, 201);
        assert.equal(r.json.attempts, 3);
        assert.ok(Math.abs(Date.parse(r.json.expires_at) - (now + 3600 * 1000)) < 60000, `expires_at ${r.json.expires_at}`);
        await api(s2, 'PATCH', '/api/v1/tickets/1/', { token: tk, json: { attempts: 0 } });
        const n = await api(s2, 'POST', '/api/v1/tickets/1/token/', { token: tk });
        expectJson(n, 200);
        assert.equal(n.json.attempts, 3, 'token renewal resets to UPLOAD_ATTEMPTS');
    } finally {
        await stopAndCheck(s2);
    }
    const s3 = await startServer({ env: { UPLOAD_TOKEN_TTL: '0' } });
    try {
        const tk = (await login(s3)).access;
        await api(s3, 'POST', '/api/v1/platforms/', { token: tk, json: { name: 'p', pretty_name: 'P' } });
        const r = await api(s3, 'POST', '/api/v1/tickets/', { token: tk, json: { number: 1, platform: 'p' } });
        expectJson(r, 201);
        assert.equal(r.json.expires_at, null, 'UPLOAD_TOKEN_TTL=0: never expires');
    } finally {
        await stopAndCheck(s3);
    }
});
