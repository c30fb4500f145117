// client-args.mjs - the command line of bench/tus-client.mjs and bench/tusjs-client.mjs:
// --url U --file F [--chunk N] [--header 'Name: value']... and, where the client has
// them, flags without a value (--put). --url and --file are required.
export function parseArgs(argv, flags = []) {
    const o = { chunk: 8 * 1024 * 1024, headers: {} };
    for (const f of flags) o[f] = false;
    for (let i = 2; i < argv.length; i++) {
        const k = argv[i].replace(/^--/, '');
        if (flags.includes(k)) {
            o[k] = true;
            continue;
        }
        const v = argv[++i];
        if (v === undefined) throw new Error(`missing value for ${argv[i - 1]}`);
        if (k === 'header') {
            const c = v.indexOf(':');
            o.headers[v.slice(0, c).trim()] = v.slice(c + 1).trim();
        } else {
            o[k] = k === 'chunk' ? Number(v) : v;
        }
    }
    for (const k of ['url', 'file']) if (o[k] === undefined) throw new Error(`--${k} is required`);
    return o;
}
