// codes.js - the backup codes as they are shown, once (enrolment and new codes).
import { h, icon } from './dom.js';

/* The ten codes, shown once, with a way to keep them. */
export function backupCodesView(codes) {
    const text = codes.join('\n');
    const save = h('a', { class: 'btn btn-sm btn-outline-body', download: 'logs-collector-backup-codes.txt', href: `data:text/plain;charset=utf-8,${encodeURIComponent(`${text}\n`)}` }, icon('download'), ' Save as a file');
    return h('div', { class: 'alert alert-warning' },
        h('p', { class: 'fw-semibold' }, 'Your backup codes. Each works once; they are shown only now.'),
        h('ol', { class: 'backup-codes', id: 'backup-codes' }, codes.map((c) => h('li', null, c))),
        save);
}
