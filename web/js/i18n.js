// i18n.js - the upload page's languages: one catalogue per language (i18n-en.js,
// i18n-ru.js), the choice (remembered in localStorage, else the browser's languages,
// which are what it sends as Accept-Language, else English), plural forms by
// Intl.PluralRules, numbers, sizes, dates and durations by Intl.
import en from './i18n-en.js';
import ru from './i18n-ru.js';

const CATALOGUES = { en, ru };
const KEY = 'lc-lang';
export const LANGS = Object.keys(CATALOGUES);

let lang = 'en';

/* The remembered choice, else the first of the browser's languages we have. */
export function chooseLang() {
    try {
        const saved = localStorage.getItem(KEY);
        if (saved && CATALOGUES[saved]) return saved;
    } catch {
        /* storage off: no memory */
    }
    for (const l of navigator.languages ?? [navigator.language]) {
        const primary = String(l ?? '').toLowerCase().split('-')[0];
        if (CATALOGUES[primary]) return primary;
    }
    return 'en';
}

/* Switches the language (and <html lang>); remember: keep it for later visits. */
export function setLang(l, remember = false) {
    lang = CATALOGUES[l] ? l : 'en';
    document.documentElement.lang = lang;
    if (remember) {
        try {
            localStorage.setItem(KEY, lang);
        } catch {
            /* private mode: for this page only */
        }
    }
}

export const currentLang = () => lang;

/*
 * The text of key with {name} placeholders filled from vars. A plural entry
 * ({one, few, many, other}) is chosen by vars.n through Intl.PluralRules, and
 * {n} is written as a number of the language. A key missing from a catalogue
 * falls back to English, then to the key itself.
 */
export function t(key, vars = {}) {
    let s = CATALOGUES[lang][key] ?? en[key] ?? key;
    if (typeof s === 'object' && s !== null) {
        const form = new Intl.PluralRules(lang).select(Number(vars.n) || 0);
        s = s[form] ?? s.other;
    }
    return String(s).replace(/\{(\w+)\}/g, (m, name) => {
        if (!(name in vars)) return m;
        return name === 'n' ? fmtNumber(vars.n) : String(vars[name]);
    });
}

export const fmtNumber = (n, opts) => new Intl.NumberFormat(lang, opts).format(n);

/* 1536 -> "1.5 KiB" / "1,5 КиБ" (binary units, as the console shows them). */
export function fmtSize(bytes) {
    const units = CATALOGUES[lang].units ?? en.units;
    let v = Math.max(0, Number(bytes) || 0);
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i++;
    }
    return `${fmtNumber(v, { maximumFractionDigits: i && v < 10 ? 1 : 0 })} ${units[i]}`;
}

/* "3 December 2026 at 13:35" in the language's own form. */
export function fmtDate(s) {
    const d = new Date(s);
    if (Number.isNaN(d.getTime())) return String(s);
    return new Intl.DateTimeFormat(lang, { dateStyle: 'long', timeStyle: 'short' }).format(d);
}

/* "in 7 days", "через 7 дней". */
export function fmtRelative(s) {
    let v = (new Date(s).getTime() - Date.now()) / 1000;
    const steps = [[60, 'second'], [60, 'minute'], [24, 'hour'], [30, 'day'], [12, 'month'], [Infinity, 'year']];
    for (const [n, unit] of steps) {
        if (Math.abs(v) < n) return new Intl.RelativeTimeFormat(lang, { numeric: 'auto' }).format(Math.round(v), unit);
        v /= n;
    }
    return '';
}

/* A duration in whole units, largest first: "45 seconds", "3 minutes", "1 hour 5 minutes". */
export function fmtDuration(seconds) {
    const s = Math.max(0, Math.ceil(seconds));
    const unit = (n, u) => new Intl.NumberFormat(lang, { style: 'unit', unit: u, unitDisplay: 'long' }).format(n);
    if (s < 60) return unit(s, 'second');
    if (s < 3600) return unit(Math.ceil(s / 60), 'minute');
    const h = Math.floor(s / 3600);
    const m = Math.round((s % 3600) / 60);
    return m ? `${unit(h, 'hour')} ${unit(m, 'minute')}` : unit(h, 'hour');
}
