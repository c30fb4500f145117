// dom.js - builds the DOM from data. Server data only ever becomes text nodes or
// attribute values here: no innerHTML anywhere but the note (see ticket.js).
const SPRITE = new URL('./icons.svg', import.meta.url).pathname;
const SVG = 'http://www.w3.org/2000/svg';

/* Appends children (strings become text nodes; null/false are skipped). */
function add(el, children) {
    for (const c of children.flat(Infinity)) {
        if (c === null || c === undefined || c === false) continue;
        el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
}

/* h('a', {href, class, onclick}, 'text', child...): an element. Props: on* take
 * functions, `class` a string, true means an empty attribute, null/false/undefined
 * leave it out. There is no `style`: the CSP allows none. */
export function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props ?? {})) {
        if (v === null || v === undefined || v === false) continue;
        if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else if (k === 'class') el.className = v;
        else if (k === 'style') throw new Error('inline styles are not allowed');
        else el.setAttribute(k, v === true ? '' : String(v));
    }
    add(el, children);
    return el;
}

/* An icon of the sprite; decorative unless it has a label. */
export function icon(name, label) {
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('class', 'bi');
    if (label) {
        svg.setAttribute('role', 'img');
        svg.setAttribute('aria-label', label);
    } else {
        svg.setAttribute('aria-hidden', 'true');
    }
    const use = document.createElementNS(SVG, 'use');
    use.setAttribute('href', `${SPRITE}#${name}`);
    svg.append(use);
    return svg;
}

/* Replaces el's children. */
export function fill(el, ...children) {
    el.replaceChildren();
    add(el, children);
    return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
export function fmtSize(n) {
    let v = Number(n) || 0;
    let i = 0;
    while (v >= 1024 && i < UNITS.length - 1) {
        v /= 1024;
        i++;
    }
    return `${i ? v.toFixed(v < 10 ? 1 : 0) : v} ${UNITS[i]}`;
}

export function fmtTime(s) {
    if (!s) return '—';
    const d = new Date(s);
    return Number.isNaN(d.getTime()) ? s : d.toLocaleString();
}

/* "in 3 days", "2 hours ago" */
export function fmtRelative(s) {
    if (!s) return 'never';
    const diff = (new Date(s).getTime() - Date.now()) / 1000;
    const steps = [[60, 'second'], [60, 'minute'], [24, 'hour'], [30, 'day'], [12, 'month'], [Infinity, 'year']];
    let v = diff;
    for (const [n, unit] of steps) {
        if (Math.abs(v) < n) return new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }).format(Math.round(v), unit);
        v /= n;
    }
    return fmtTime(s);
}

/* A modal question with its own focus handling (<dialog>); resolves true on confirm. */
export function confirmDialog({ title, body, confirm = 'Delete', danger = true }) {
    return new Promise((resolve) => {
        const yes = h('button', { type: 'button', class: `btn ${danger ? 'btn-danger' : 'btn-primary'}` }, confirm);
        const no = h('button', { type: 'button', class: 'btn btn-outline-body' }, 'Cancel');
        const titleId = `dlg-${Math.random().toString(36).slice(2)}`;
        const dlg = h('dialog', { class: 'confirm', 'aria-labelledby': titleId },
            h('div', { class: 'p-3 border-bottom' }, h('h2', { class: 'h5 m-0', id: titleId }, title)),
            h('div', { class: 'p-3' }, body),
            h('div', { class: 'p-3 border-top d-flex justify-content-end gap-2' }, no, yes));
        const done = (v) => {
            dlg.close();
            dlg.remove();
            resolve(v);
        };
        yes.addEventListener('click', () => done(true));
        no.addEventListener('click', () => done(false));
        dlg.addEventListener('cancel', (e) => {
            e.preventDefault();
            done(false);
        });
        document.body.append(dlg);
        dlg.showModal();
        no.focus();
    });
}

/* A short message in the corner (announced to screen readers). */
export function toast(message, kind = 'success') {
    const area = $('#toasts');
    if (!area) return;
    const el = h('div', { class: `alert alert-${kind} shadow-sm mb-0 py-2` }, message);
    area.append(el);
    setTimeout(() => el.remove(), 5000);
}

/* Shows an API error on a form: each field's messages under its input
 * ([name=field]), anything else (detail, unknown fields) in the form's alert. */
export function showErrors(form, err) {
    for (const el of form.querySelectorAll('.is-invalid')) el.classList.remove('is-invalid');
    for (const el of form.querySelectorAll('.invalid-feedback.from-api')) el.remove();
    const alert = form.querySelector('.form-alert');
    const rest = [];
    const fields = err?.fields ?? {};
    for (const [name, msgs] of Object.entries(fields)) {
        const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
        const text = [].concat(msgs).join(' ');
        if (!input) {
            rest.push(text);
            continue;
        }
        input.classList.add('is-invalid');
        const id = `${input.id || name}-error`;
        input.setAttribute('aria-describedby', id);
        input.after(h('div', { class: 'invalid-feedback from-api', id }, text));
    }
    if (err && !err.fields) rest.push(err.message);
    if (alert) {
        fill(alert, rest.join(' '));
        alert.classList.toggle('d-none', rest.length === 0);
    }
    const first = form.querySelector('.is-invalid') ?? alert;
    first?.focus?.();
}

/* The form's fields as an object of strings. */
export function formData(form) {
    return Object.fromEntries(new FormData(form).entries());
}

/* Copies text to the clipboard and says so; msgs {done, failed} replace the
 * English sentences (the upload page's languages). */
export async function copy(text, what = 'Copied', msgs = {}) {
    try {
        await navigator.clipboard.writeText(text);
        toast(msgs.done ?? `${what} to the clipboard.`);
    } catch {
        toast(msgs.failed ?? 'Copying is not allowed here: select the text and copy it.', 'warning');
    }
}

/* A form that creates something: on submit fn(fields) runs; a success empties
 * the form and its errors, a failure shows them (showErrors). */
export function createForm(form, fn) {
    form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        try {
            await fn(formData(form));
            form.reset();
            showErrors(form, null);
        } catch (e) {
            showErrors(form, e);
        }
    });
}
