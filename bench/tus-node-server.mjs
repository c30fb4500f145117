// tus-node-server.mjs - the Node reference implementation of tus, @tus/server with
// @tus/file-store (from bench/package.json), as its README starts it: a standalone
// server on 127.0.0.1 storing uploads under a directory. It neither hashes nor fsyncs.
//
// Run by bench/tus.sh:  node bench/tus-node-server.mjs --port P --dir DIR
// Uploads go to http://127.0.0.1:P/files/. Prints "listening" once it accepts
// connections; stops on SIGTERM.
import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';

const args = process.argv.slice(2);
const opt = {};
for (let i = 0; i < args.length; i += 2) opt[args[i].replace(/^--/, '')] = args[i + 1];
if (!opt.port || !opt.dir) throw new Error('usage: tus-node-server.mjs --port P --dir DIR');

const server = new Server({ path: '/files', datastore: new FileStore({ directory: opt.dir }) });
const http = server.listen({ host: '127.0.0.1', port: Number(opt.port) }, () => console.log('listening'));
process.on('SIGTERM', () => http.close(() => process.exit(0)));
